"""Sample submissions of the cifar10_vae notebook: common mistakes and alternative answers.

Each sample replaces some solution cells (by grade_id) of the release notebook; the others
get the reference code. ``fails`` lists the grade cells that must lose all their points.
"""

from autograder.proofs.sample import Sample, function_cell

PRE = "preprocess_cifar10"
BPD = "bits_per_dim"
ANS = "answer_likelihood"
LOSS, T_LOSS = "gaussian_vae_loss", "test_gaussian_vae_loss"
TRAIN, T_TRAIN = "train_cifar10", "test_train_cifar10"
WALK, T_WALK = "walk_between_classes", "test_walk_between_classes"


def preprocess(body: str) -> str:
    """A full preprocess_cifar10 cell whose body computes ``x`` and ``y``."""
    return function_cell("preprocess_cifar10(images, labels)", body + "\nreturn x, y")


def bits_per_dim(body: str) -> str:
    """A full bits_per_dim cell with ``body`` (one expression or statements)."""
    return function_cell("bits_per_dim(nll_nats, image_shape, levels=256)", body)


D = "d = np.prod(image_shape)\nnll = np.asarray(nll_nats, dtype=np.float64)\n"


def loss(body: str) -> str:
    """A full gaussian_vae_loss cell with ``body``."""
    return function_cell("gaussian_vae_loss(model, x, sigma=0.1)", body)


# the reference up to the per-image reconstruction term, for variants of the rest
_LOSS_HEAD = """mean, logvar = model.encode(x)
z = model.reparameterize(mean, logvar)
x = tf.cast(x, tf.float32)
x_mean = tf.sigmoid(model.decode(z))
num_dims = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32)
kl = -0.5 * tf.reduce_sum(1.0 + logvar - tf.square(mean) - tf.exp(logvar), axis=-1)
"""
_CONST = "num_dims * (math.log(sigma) + 0.5 * math.log(2.0 * math.pi))"


def train(body: str) -> str:
    """A full training cell (the given lines around ``body``)."""
    return ("optimizer = keras.optimizers.Adam(1e-3)  # train with this optimizer: the check below counts its steps\n"
            "config.seed_everything(0)\n" + body.strip("\n") + "\n"
            'print(f"CVAE: latent size {LATENT_DIM}, width {WIDTH}, {model.count_params():,} parameters")\n')


_DECODER = "decoder=models.build_decoder(LATENT_DIM, IMAGE_SHAPE, WIDTH), reparameterize=sampling.reparameterize"
_STEP = "step_fn=training.train_step"


def walk(body: str) -> str:
    """A full walk_between_classes cell with ``body``."""
    return function_cell("walk_between_classes(model, images, labels, src_class, dst_class, n_steps=10)", body)


_PAIR = """first = data.one_per_class(labels)
x_src = images[first[data.CIFAR10_CLASSES.index(src_class)]]
x_dst = images[first[data.CIFAR10_CLASSES.index(dst_class)]]
"""

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
        name="bpd_imports_package",
        kind="mistake",
        description="returns the package's metrics.bits_per_dim (graded against the students' build of "
                    "vaecourse, where it raises NotImplementedError; the scan flags it)",
        answers={BPD: bits_per_dim("return metrics.bits_per_dim(nll_nats, image_shape, levels)")},
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
        name="answer_e_no_bound",
        kind="mistake",
        description="the old key's claim: the Bernoulli ELBO on intensities bounds nothing (it is a loose bound)",
        answers={ANS: 'ANSWER_LIKELIHOOD = "E"\n'},
        fails={"test_answer_likelihood"},
    ),
    Sample(
        name="answer_d",
        kind="mistake",
        description="believes a Gaussian cannot have a sigmoid mean",
        answers={ANS: 'ANSWER_LIKELIHOOD = "D"\n'},
        fails={"test_answer_likelihood"},
    ),
    Sample(
        name="answer_lowercase",
        kind="alternative",
        description="the right letter in lower case",
        answers={ANS: 'ANSWER_LIKELIHOOD = "b"\n'},
    ),
    Sample(
        name="answer_punctuated",
        kind="alternative",
        description="the right letter in brackets",
        answers={ANS: 'ANSWER_LIKELIHOOD = "(B)"\n'},
    ),
    # --- gaussian_vae_loss ----------------------------------------------------------------
    Sample(
        name="loss_no_constants",
        kind="mistake",
        description="drops the constants D (log sigma + log(2 pi) / 2): fine for training, wrong in nats",
        answers={LOSS: loss(_LOSS_HEAD + """sq = tf.reduce_sum(tf.square(x - x_mean), axis=[1, 2, 3])
return tf.reduce_mean(sq / (2.0 * sigma**2) + kl)""")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_sigma_as_variance",
        kind="mistake",
        description="divides by 2 sigma instead of 2 sigma^2 (sigma taken for the variance)",
        answers={LOSS: loss(_LOSS_HEAD + f"""sq = tf.reduce_sum(tf.square(x - x_mean), axis=[1, 2, 3])
return tf.reduce_mean(sq / (2.0 * sigma) + {_CONST} + kl)""")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_mean_over_pixels",
        kind="mistake",
        description="averages the squared error over the pixels instead of summing it",
        answers={LOSS: loss(_LOSS_HEAD + f"""sq = tf.reduce_mean(tf.square(x - x_mean), axis=[1, 2, 3])
return tf.reduce_mean(sq / (2.0 * sigma**2) + {_CONST} + kl)""")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_no_sigmoid",
        kind="mistake",
        description="compares the images with the logits (no sigmoid)",
        answers={LOSS: loss(_LOSS_HEAD.replace("tf.sigmoid(model.decode(z))", "model.decode(z)") + f"""sq = tf.reduce_sum(tf.square(x - x_mean), axis=[1, 2, 3])
return tf.reduce_mean(sq / (2.0 * sigma**2) + {_CONST} + kl)""")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_kl_subtracted",
        kind="mistake",
        description="subtracts the KL term",
        answers={LOSS: loss(_LOSS_HEAD + f"""sq = tf.reduce_sum(tf.square(x - x_mean), axis=[1, 2, 3])
return tf.reduce_mean(sq / (2.0 * sigma**2) + {_CONST} - kl)""")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_summed_over_batch",
        kind="mistake",
        description="sums over the batch instead of averaging",
        answers={LOSS: loss(_LOSS_HEAD + f"""sq = tf.reduce_sum(tf.square(x - x_mean), axis=[1, 2, 3])
return tf.reduce_sum(sq / (2.0 * sigma**2) + {_CONST} + kl)""")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_bernoulli_reused",
        kind="mistake",
        description="reuses the MNIST loss as is (Bernoulli likelihood)",
        answers={LOSS: loss("return losses.compute_loss(model, x)")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_unit_variance",
        kind="mistake",
        description="a Gaussian of variance 1: ignores sigma",
        answers={LOSS: loss(_LOSS_HEAD + """sq = tf.reduce_sum(tf.square(x - x_mean), axis=[1, 2, 3])
return tf.reduce_mean(sq / 2.0 + num_dims * 0.5 * math.log(2.0 * math.pi) + kl)""")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_default_sigma_0_2",
        kind="mistake",
        description="right for every sigma it is given, but its default sigma is 0.2, not the documented 0.1",
        answers={LOSS: function_cell("gaussian_vae_loss(model, x, sigma=0.2)", _LOSS_HEAD + f"""sq = tf.reduce_sum(tf.square(x - x_mean), axis=[1, 2, 3])
return tf.reduce_mean(sq / (2.0 * sigma**2) + {_CONST} + kl)""")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_numpy",
        kind="mistake",
        description="computes in NumPy: right numbers, but no gradient and no graph mode (the notebook then "
                    "trains and evaluates with the MNIST Bernoulli loss, so only this test is lost)",
        answers={LOSS: loss("""mean, logvar = (np.asarray(t, np.float64) for t in model.encode(x))
z = np.asarray(model.reparameterize(mean, logvar), np.float64)
x_mean = 1.0 / (1.0 + np.exp(-np.asarray(model.decode(z), np.float64)))
x = np.asarray(x, np.float64).reshape(len(x_mean), -1)
d = x.shape[1]
nll = ((x - x_mean.reshape(len(x), -1)) ** 2).sum(1) / (2 * sigma**2) + d * (np.log(sigma) + 0.5 * np.log(2 * np.pi))
kl = -0.5 * (1 + logvar - mean**2 - np.exp(logvar)).sum(1)
return np.float32((nll + kl).mean())""")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_old_fallback_line",
        kind="mistake",
        description="the former fallback line of the training cell: the MNIST loss with the package's Gaussian "
                    "likelihood (hidden in the students' build while the notebook is open; the scan flags it)",
        answers={LOSS: loss("return losses.compute_loss(model, x, likelihood=metrics.gaussian_likelihood(sigma))")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_package_analytic_kl",
        kind="mistake",
        description="the MNIST analytic-KL loss with the package's Gaussian likelihood (hidden while the "
                    "notebook is open)",
        answers={LOSS: loss(
            "return losses.kl_reconstruction_loss(model, x, likelihood=metrics.gaussian_likelihood(sigma))")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_old_visible_reference",
        kind="mistake",
        description="copies the NumPy reference the visible test once held: the fake model's NumPy twin, "
                    "which the hidden tests do not hand over, and no gradient",
        answers={LOSS: loss("""mean, logvar = model.np_encode(np.asarray(x, np.float64))
z = model.np_reparameterize(mean, logvar)
x_hat = model.np_decode(z)
x = np.asarray(x, np.float64)
d = x[0].size
nll = ((x - x_hat) ** 2).reshape(len(x), -1).sum(1) / (2 * sigma**2) + d * (np.log(sigma) + 0.5 * np.log(2 * np.pi))
kl = -0.5 * (1 + logvar - mean**2 - np.exp(logvar)).sum(1)
return tf.constant(float((nll + kl).mean()))""")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_own_likelihood_through_compute_loss",
        kind="alternative",
        description="its own Gaussian log-likelihood, passed to the MNIST loss (the package's compute_loss: "
                    "single-sample KL)",
        answers={LOSS: loss("""def log_gaussian(x, logits):
    x = tf.cast(x, tf.float32)
    per_pixel = -0.5 * tf.square((x - tf.sigmoid(logits)) / sigma) - math.log(sigma) - 0.5 * math.log(2 * math.pi)
    return tf.reduce_sum(tf.reshape(per_pixel, (tf.shape(x)[0], -1)), axis=1)

return losses.compute_loss(model, x, likelihood=log_gaussian)""")},
    ),
    Sample(
        name="loss_keras_ops_single_sample_kl",
        kind="alternative",
        description="Keras ops, -log N written with log(2 pi sigma^2), single-sample KL by hand",
        answers={LOSS: loss("""mean, logvar = model.encode(x)
z = model.reparameterize(mean, logvar)
x_hat = ops.sigmoid(model.decode(z))
x = ops.cast(x, "float32")
per_pixel = 0.5 * ops.square(x - x_hat) / sigma**2 + 0.5 * math.log(2 * math.pi * sigma**2)
nll = ops.sum(ops.reshape(per_pixel, (ops.shape(x)[0], -1)), axis=1)
log_q = ops.sum(-0.5 * (ops.square(z - mean) * ops.exp(-logvar) + logvar), axis=1)
log_p = ops.sum(-0.5 * ops.square(z), axis=1)
return ops.mean(nll + log_q - log_p)""").replace("def gaussian_vae_loss", "from keras import ops\n\n\ndef gaussian_vae_loss")},
    ),
    Sample(
        name="loss_log_normal_pdf",
        kind="alternative",
        description="the MNIST log_normal_pdf on flattened images with logvar = 2 log sigma, analytic KL",
        answers={LOSS: loss("""mean, logvar = model.encode(x)
z = model.reparameterize(mean, logvar)
batch = tf.shape(z)[0]
x_flat = tf.reshape(tf.cast(x, tf.float32), (batch, -1))
mu_flat = tf.reshape(tf.sigmoid(model.decode(z)), (batch, -1))
log_px = losses.log_normal_pdf(x_flat, mu_flat, 2.0 * tf.math.log(tf.constant(sigma, tf.float32)))
kl = 0.5 * tf.reduce_sum(tf.exp(logvar) + tf.square(mean) - 1.0 - logvar, axis=1)
return tf.reduce_mean(-log_px + kl)""")},
    ),
    # --- the training cell ---------------------------------------------------------------
    Sample(
        name="train_without_the_optimizer",
        kind="mistake",
        description="lets training.fit make its own optimizer (the check cannot count the steps)",
        answers={TRAIN: train(f"""model = models.CVAE(LATENT_DIM, image_shape=IMAGE_SHAPE, width=WIDTH, seed=0, {_DECODER})
history = training.fit(model, train_ds, test_ds, EPOCHS, loss_fn=loss_fn, eval_loss_fn=loss_fn, {_STEP})""")},
        fails={T_TRAIN},
    ),
    Sample(
        name="train_mnist_latent_size",
        kind="mistake",
        description="keeps the MNIST latent size 2",
        answers={TRAIN: train(f"""model = models.CVAE(2, image_shape=IMAGE_SHAPE, width=WIDTH, seed=0,
                    decoder=models.build_decoder(2, IMAGE_SHAPE, WIDTH), reparameterize=sampling.reparameterize)
history = training.fit(model, train_ds, test_ds, EPOCHS, optimizer=optimizer, loss_fn=loss_fn, {_STEP})""")},
        fails={T_TRAIN},
    ),
    Sample(
        name="train_mnist_image_shape",
        kind="mistake",
        description="builds the MNIST-shaped model (28x28x1): training fails on colour images",
        answers={TRAIN: train(f"""model = models.CVAE(LATENT_DIM, width=WIDTH, seed=0, decoder=models.build_decoder(LATENT_DIM),
                    reparameterize=sampling.reparameterize)
history = training.fit(model, train_ds, test_ds, EPOCHS, optimizer=optimizer, loss_fn=loss_fn, {_STEP})""")},
        fails={T_TRAIN},
    ),
    Sample(
        name="train_on_the_test_set",
        kind="mistake",
        description="trains on the test images",
        answers={TRAIN: train(f"""model = models.CVAE(LATENT_DIM, image_shape=IMAGE_SHAPE, width=WIDTH, seed=0, {_DECODER})
history = training.fit(model, test_ds, test_ds, EPOCHS, optimizer=optimizer, loss_fn=loss_fn, {_STEP})""")},
        fails={T_TRAIN},
    ),
    Sample(
        name="train_without_step_fn",
        kind="mistake",
        description="calls training.fit as before the package's train_step had to be named: fit refuses "
                    "(its message says to pass step_fn=training.train_step)",
        answers={TRAIN: train(f"""model = models.CVAE(LATENT_DIM, image_shape=IMAGE_SHAPE, width=WIDTH, seed=0, {_DECODER})
history = training.fit(model, train_ds, test_ds, EPOCHS, optimizer=optimizer, loss_fn=loss_fn)""")},
        fails={T_TRAIN},
    ),
    Sample(
        name="train_own_decoder_and_reparameterize",
        kind="alternative",
        description="its own Keras decoder for 32x32x3 and its own reparameterize, its own loss closure, keyword style",
        answers={TRAIN: train("""decoder = keras.Sequential([
    keras.Input(shape=(LATENT_DIM,)),
    keras.layers.Dense(8 * 8 * WIDTH, activation="relu"),
    keras.layers.Reshape((8, 8, WIDTH)),
    keras.layers.Conv2DTranspose(2 * WIDTH, 3, strides=2, padding="same", activation="relu"),
    keras.layers.Conv2DTranspose(WIDTH, 3, strides=2, padding="same", activation="relu"),
    keras.layers.Conv2DTranspose(3, 3, padding="same"),
])


def reparameterize(mean, logvar, seed=None):
    return mean + keras.ops.exp(0.5 * logvar) * keras.random.normal(keras.ops.shape(mean), seed=seed)


model = models.CVAE(latent_dim=LATENT_DIM, image_shape=(32, 32, 3), width=WIDTH, seed=0, decoder=decoder,
                    reparameterize=reparameterize)
my_loss = lambda m, x: gaussian_vae_loss(m, x, sigma=SIGMA)  # noqa: E731
history = training.fit(model, train_ds, test_ds, epochs=EPOCHS, optimizer=optimizer, loss_fn=my_loss,
                       eval_loss_fn=my_loss, step_fn=training.train_step, recon_batch=x_test[:10], progress=False)""")},
    ),
    # --- walk_between_classes ------------------------------------------------------------
    Sample(
        name="walk_sampled_codes",
        kind="mistake",
        description="walks between sampled codes instead of the posterior means",
        answers={WALK: walk(_PAIR + """mean, logvar = model.encode(np.stack([x_src, x_dst]))
z = np.asarray(model.reparameterize(mean, logvar))
t = np.linspace(0.0, 1.0, n_steps)[:, None]
return np.asarray(model.decode((1 - t) * z[0] + t * z[1], apply_sigmoid=True))""")},
        fails={T_WALK},
    ),
    Sample(
        name="walk_logits",
        kind="mistake",
        description="returns the decoder's logits, not pixel probabilities",
        answers={WALK: walk(_PAIR + """mean, _ = model.encode(np.stack([x_src, x_dst]))
mean = np.asarray(mean)
t = np.linspace(0.0, 1.0, n_steps)[:, None]
return np.asarray(model.decode((1 - t) * mean[0] + t * mean[1]))""")},
        fails={T_WALK},
    ),
    Sample(
        name="walk_in_pixel_space",
        kind="mistake",
        description="cross-fades the two images instead of walking in the latent space",
        answers={WALK: walk(_PAIR + """t = np.linspace(0.0, 1.0, n_steps)[:, None, None, None]
return ((1 - t) * x_src + t * x_dst).astype(np.float32)""")},
        fails={T_WALK},
    ),
    Sample(
        name="walk_without_the_ends",
        kind="mistake",
        description="leaves out both ends of the line (n_steps inner points)",
        answers={WALK: walk(_PAIR + """mean, _ = model.encode(np.stack([x_src, x_dst]))
mean = np.asarray(mean)
t = np.linspace(0.0, 1.0, n_steps + 2)[1:-1, None]
return np.asarray(model.decode((1 - t) * mean[0] + t * mean[1], apply_sigmoid=True))""")},
        fails={T_WALK},
    ),
    Sample(
        name="walk_class_number_as_index",
        kind="mistake",
        description="takes the image whose index is the class number, not the first image of the class",
        answers={WALK: walk("""x_src = images[data.CIFAR10_CLASSES.index(src_class)]
x_dst = images[data.CIFAR10_CLASSES.index(dst_class)]
return latent.walk_src_to_dst(model, x_src, x_dst, n_steps=n_steps)""")},
        fails={T_WALK},
    ),
    Sample(
        name="walk_old_visible_helper",
        kind="mistake",
        description="copies the NumPy walk the visible test once held: it needs the fake model's NumPy twin, "
                    "which the hidden tests do not hand over",
        answers={WALK: walk("""labels = np.asarray(labels).reshape(-1)
i = int(np.flatnonzero(labels == data.CIFAR10_CLASSES.index(src_class))[0])
j = int(np.flatnonzero(labels == data.CIFAR10_CLASSES.index(dst_class))[0])
mean, _ = model.np_encode(images[[i, j]])
t = np.linspace(0.0, 1.0, n_steps)[:, None]
return model.np_decode((1 - t) * mean[0] + t * mean[1])""")},
        fails={T_WALK},
    ),
    Sample(
        name="walk_default_five_steps",
        kind="mistake",
        description="right for every n_steps it is given, but its default is 5, not the documented 10",
        answers={WALK: function_cell("walk_between_classes(model, images, labels, src_class, dst_class, n_steps=5)",
                                     _PAIR + "return latent.walk_src_to_dst(model, x_src, x_dst, n_steps=n_steps)")},
        fails={T_WALK},
    ),
    Sample(
        name="walk_numpy",
        kind="alternative",
        description="finds the images with argmax and interpolates by hand",
        answers={WALK: walk("""labels = np.asarray(labels).ravel()
i = int(np.argmax(labels == data.CIFAR10_CLASSES.index(src_class)))
j = int(np.argmax(labels == data.CIFAR10_CLASSES.index(dst_class)))
mean, _ = model.encode(images[[i, j]])
mean = np.asarray(mean)
path = np.stack([mean[0] + (mean[1] - mean[0]) * k / (n_steps - 1) for k in range(n_steps)])
return np.asarray(model.decode(path, apply_sigmoid=True), dtype=np.float32)""")},
    ),
    Sample(
        name="walk_tensorflow",
        kind="alternative",
        description="TensorFlow ops: tf.linspace and a sigmoid of the logits",
        answers={WALK: walk("""names = list(data.CIFAR10_CLASSES)
labels = np.reshape(labels, -1)
src = images[list(labels).index(names.index(src_class))]
dst = images[list(labels).index(names.index(dst_class))]
mean, _ = model.encode(tf.stack([src, dst]))
t = tf.linspace(0.0, 1.0, n_steps)[:, None]
return tf.sigmoid(model.decode((1.0 - t) * mean[0] + t * mean[1])).numpy()""")},
    ),
]
