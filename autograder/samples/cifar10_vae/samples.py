"""Sample submissions of the cifar10_vae notebook: common mistakes and alternative answers.

Each sample replaces some solution cells (by grade_id) of the release notebook; the others
get the reference code. ``fails`` lists the grade cells that must lose all their points.
"""

from autograder.proofs.sample import Sample, function_cell

PRE = "preprocess_cifar10"
BPD = "bits_per_dim"
ANS = "answer_likelihood"


def preprocess(body: str) -> str:
    """A full preprocess_cifar10 cell whose body computes ``x`` and ``y``."""
    return function_cell("preprocess_cifar10(images, labels)", body + "\nreturn x, y")


def bits_per_dim(body: str) -> str:
    """A full bits_per_dim cell with ``body`` (one expression or statements)."""
    return function_cell("bits_per_dim(nll_nats, image_shape, levels=256)", body)


D = "d = np.prod(image_shape)\nnll = np.asarray(nll_nats, dtype=np.float64)\n"

SAMPLES = [
    # --- preprocess_cifar10 ---------------------------------------------------------------
    Sample(
        name="preprocess_binarized",
        kind="mistake",
        description="reuses the MNIST preprocessing as is: binarizes the photographs",
        answers={PRE: preprocess("x = data.preprocess_images(images)\ny = labels.reshape(-1)")},
        fails={"test_preprocess_cifar10"},
    ),
    Sample(
        name="preprocess_not_scaled",
        kind="mistake",
        description="converts to float32 but keeps the 0..255 range",
        answers={PRE: preprocess("x = images.astype(np.float32)\ny = labels.reshape(-1)")},
        fails={"test_preprocess_cifar10"},
    ),
    Sample(
        name="preprocess_minus_one_to_one",
        kind="mistake",
        description="scales to [-1, 1] instead of [0, 1]",
        answers={PRE: preprocess("x = images.astype(np.float32) / 127.5 - 1.0\ny = labels.reshape(-1)")},
        fails={"test_preprocess_cifar10"},
    ),
    Sample(
        name="preprocess_labels_not_flat",
        kind="mistake",
        description="leaves the labels of shape (N, 1)",
        answers={PRE: preprocess("x = data.preprocess_images(images, binarize=False)\ny = labels")},
        fails={"test_preprocess_cifar10"},
    ),
    Sample(
        name="preprocess_divide_by_255",
        kind="alternative",
        description="divides by 255 by hand and flattens the labels with ravel",
        answers={PRE: preprocess("x = images.astype('float32') / 255.0\ny = labels.ravel().astype(int)")},
    ),
    Sample(
        name="preprocess_tensorflow",
        kind="alternative",
        description="scales with TensorFlow ops, squeezes the label axis",
        answers={PRE: preprocess(
            "x = (tf.cast(images, tf.float32) / 255.0).numpy()\ny = np.squeeze(labels, axis=1)")},
    ),
    # --- bits_per_dim --------------------------------------------------------------------
    Sample(
        name="bpd_nats_per_dim",
        kind="mistake",
        description="forgets to divide by log 2 (nats, not bits)",
        answers={BPD: bits_per_dim(D + "return (nll + d * np.log(levels)) / d")},
        fails={"test_bits_per_dim"},
    ),
    Sample(
        name="bpd_no_rescaling",
        kind="mistake",
        description="forgets the D log(levels) of the change of scale from [0, 1] to 0..255",
        answers={BPD: bits_per_dim(D + "return nll / (d * np.log(2.0))")},
        fails={"test_bits_per_dim"},
    ),
    Sample(
        name="bpd_wrong_sign",
        kind="mistake",
        description="subtracts D log(levels) instead of adding it",
        answers={BPD: bits_per_dim(D + "return (nll - d * np.log(levels)) / (d * np.log(2.0))")},
        fails={"test_bits_per_dim"},
    ),
    Sample(
        name="bpd_pixels_not_dimensions",
        kind="mistake",
        description="counts pixels (H * W) instead of dimensions (H * W * C)",
        answers={BPD: bits_per_dim(
            "d = image_shape[0] * image_shape[1]\n"
            "return (np.asarray(nll_nats) + d * np.log(levels)) / (d * np.log(2.0))")},
        fails={"test_bits_per_dim"},
    ),
    Sample(
        name="bpd_hardcoded_eight_bits",
        kind="mistake",
        description="adds 8 bits whatever the number of levels",
        answers={BPD: bits_per_dim(D + "return nll / (d * np.log(2.0)) + 8.0")},
        fails={"test_bits_per_dim"},
    ),
    Sample(
        name="bpd_log2_form",
        kind="alternative",
        description="nats to bits first, then adds log2(levels); math.prod for D",
        answers={BPD: bits_per_dim(
            "d = math.prod(image_shape)\n"
            "return np.asarray(nll_nats) / (d * math.log(2)) + math.log2(levels)")},
    ),
    Sample(
        name="bpd_loop_and_log2",
        kind="alternative",
        description="counts the dimensions with a loop, converts with np.log2 of a ratio",
        answers={BPD: bits_per_dim(
            "d = 1\nfor size in image_shape:\n    d *= size\n"
            "nll_per_dim = np.asarray(nll_nats, dtype=float) / d\n"
            "return np.log2(levels * np.exp(nll_per_dim / 2)) + nll_per_dim / (2 * np.log(2))")},
    ),
    # --- the concept question ------------------------------------------------------------
    Sample(
        name="answer_a",
        kind="mistake",
        description="believes the Bernoulli likelihood fits intensities in [0, 1]",
        answers={ANS: 'ANSWER_LIKELIHOOD = "A"\n'},
        fails={"test_answer_likelihood"},
    ),
    Sample(
        name="answer_c",
        kind="mistake",
        description="believes sigma only changes the reported numbers",
        answers={ANS: 'ANSWER_LIKELIHOOD = "C"\n'},
        fails={"test_answer_likelihood"},
    ),
    Sample(
        name="answer_lowercase",
        kind="alternative",
        description="the right letter in lower case",
        answers={ANS: 'ANSWER_LIKELIHOOD = "b"\n'},
    ),
]
