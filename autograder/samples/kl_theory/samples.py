"""Sample submissions of the kl_theory notebook: common mistakes and alternative answers.

Each sample replaces some solution cells (by grade_id) of the release notebook; the others
get the reference code. ``fails`` lists the grade cells that must lose all their points.
"""

from autograder.proofs.sample import Sample, function_cell

KL = "kl_gaussians"
KL_VEC = "test_kl_gaussians_vectorized"
LOGVAR = "kl_gaussians_logvar"
STD = "kl_to_standard_normal"


def kl_gaussians(body: str) -> str:
    """A full kl_gaussians cell with ``body`` (one expression or statements) as its body."""
    return function_cell("kl_gaussians(mu1, sigma1, mu2, sigma2)", body)


def kl_gaussians_logvar(body: str) -> str:
    return function_cell("kl_gaussians_logvar(mu1, logvar1, mu2, logvar2)", body)


def kl_to_standard_normal(body: str) -> str:
    return function_cell("kl_to_standard_normal(mu, logvar)", body)


TESTS = {
    KL: {"test_kl_gaussians", KL_VEC},
    LOGVAR: {"test_kl_gaussians_logvar"},
    STD: {"test_kl_to_standard_normal"},
}


def mistake(name: str, description: str, **answers: str) -> Sample:
    """A sample of related mistakes, one per function (each test targets one function).

    ``answers`` maps a grade_id to its wrong cell; a ``kl_gaussians`` answer whose name
    ends in ``_scalar_only`` fails only the vectorized test.
    """
    fails: set[str] = set()
    cells = {}
    for grade_id, source in answers.items():
        if grade_id == "kl_gaussians_scalar_only":
            cells[KL] = source
            fails.add(KL_VEC)
        else:
            cells[grade_id] = source
            fails |= TESTS[grade_id]
    return Sample(name=name, kind="mistake", description=description, answers=cells, fails=fails)


SAMPLES = [
    mistake("std_imports_package",
            "calls the package's gaussian.kl_to_standard_normal (graded against the students' build of "
            "vaecourse, where it raises NotImplementedError; the scan flags it)",
            kl_to_standard_normal=kl_to_standard_normal(
                "from vaecourse import gaussian\nreturn gaussian.kl_to_standard_normal(mu, logvar)")),
    mistake("kl_imports_tf_package",
            "answers the three KL functions with the TensorFlow module's vaecourse.tf.losses.kl_gaussians "
            "and kl_to_standard_normal (unstripped, in float32, they pass test_kl_gaussians and, depending "
            "on the hidden tests' random inputs, often the others; as ANSWER blocks of kl_theory they raise "
            "NotImplementedError in the students' build; the scan flags them)",
            kl_gaussians=kl_gaussians(
                "from vaecourse.tf import losses\n"
                "return np.asarray(losses.kl_gaussians(mu1, 2 * np.log(sigma1), mu2, 2 * np.log(sigma2)), dtype=float)"),
            kl_gaussians_logvar=kl_gaussians_logvar(
                "from vaecourse.tf import losses\n"
                "return np.asarray(losses.kl_gaussians(mu1, logvar1, mu2, logvar2), dtype=float)"),
            kl_to_standard_normal=kl_to_standard_normal(
                "from vaecourse.tf import losses\n"
                "return np.asarray(losses.kl_to_standard_normal(mu, logvar), dtype=float)")),
    # --- the three KL functions: common mistakes, grouped by kind (each function's tests
    # --- only call that function, so each mistake is still judged on its own) ----------
    mistake(
        "sigma_as_variance",
        "sigma where the variance belongs: (sigma1 + d^2) / (2 sigma2) in kl_gaussians; "
        "exp(0.5 logvar) as the variance in kl_gaussians_logvar and kl_to_standard_normal "
        "(the last one passes its visible check)",
        kl_gaussians=kl_gaussians(
            "np.log(sigma2 / sigma1) + (sigma1 + (mu1 - mu2) ** 2) / (2 * sigma2) - 0.5"),
        kl_gaussians_logvar=kl_gaussians_logvar(
            "0.5 * (logvar2 - logvar1 + (np.exp(0.5 * logvar1) + (mu1 - mu2) ** 2) / np.exp(0.5 * logvar2) - 1)"),
        kl_to_standard_normal=kl_to_standard_normal(
            "-0.5 * np.sum(1 + logvar - mu**2 - np.exp(0.5 * logvar), axis=-1)"),
    ),
    mistake(
        "missing_half",
        "a factor 1/2 lost: / sigma2^2 instead of / (2 sigma2^2); logvar2 - logvar1 for "
        "log(sigma2 / sigma1); -sum(...) instead of -0.5 * sum(...)",
        kl_gaussians=kl_gaussians(
            "np.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2) ** 2) / sigma2**2 - 0.5"),
        kl_gaussians_logvar=kl_gaussians_logvar(
            "(logvar2 - logvar1) + (np.exp(logvar1) + (mu1 - mu2) ** 2) / (2 * np.exp(logvar2)) - 0.5"),
        kl_to_standard_normal=kl_to_standard_normal(
            "-np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=-1)"),
    ),
    mistake(
        "swapped_log_ratio_and_sign",
        "log(sigma1 / sigma2) instead of log(sigma2 / sigma1); logvar1 - logvar2; "
        "+0.5 instead of -0.5 in front of the latent loss",
        kl_gaussians=kl_gaussians(
            "np.log(sigma1 / sigma2) + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5"),
        kl_gaussians_logvar=kl_gaussians_logvar(
            "0.5 * (logvar1 - logvar2 + (np.exp(logvar1) + (mu1 - mu2) ** 2) / np.exp(logvar2) - 1)"),
        kl_to_standard_normal=kl_to_standard_normal(
            "0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=-1)"),
    ),
    mistake(
        "negated_and_mean_over_dims",
        "kl_gaussians returns minus the divergence; the latent loss averages over the "
        "latent dimensions instead of summing",
        kl_gaussians=kl_gaussians(
            "-(np.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5)"),
        kl_to_standard_normal=kl_to_standard_normal(
            "-0.5 * np.mean(1 + logvar - mu**2 - np.exp(logvar), axis=-1)"),
    ),
    mistake(
        "reversed_and_log_sigma",
        "kl_gaussians computes KL(Q || P); kl_gaussians_logvar treats logvar as log(sigma); "
        "the latent loss sums over the batch too (one number)",
        kl_gaussians=kl_gaussians(
            "np.log(sigma1 / sigma2) + (sigma2**2 + (mu1 - mu2) ** 2) / (2 * sigma1**2) - 0.5"),
        kl_gaussians_logvar=kl_gaussians_logvar(
            "(logvar2 - logvar1) + (np.exp(2 * logvar1) + (mu1 - mu2) ** 2) / (2 * np.exp(2 * logvar2)) - 0.5"),
        kl_to_standard_normal=kl_to_standard_normal(
            "-0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar))"),
    ),
    mistake(
        "not_vectorized_and_batch_axis",
        "math.log: kl_gaussians right on numbers but fails on arrays (loses only the "
        "vectorized test); the latent loss sums over axis 0 (the batch)",
        kl_gaussians_scalar_only=kl_gaussians(
            "math.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5"),
        kl_to_standard_normal=kl_to_standard_normal(
            "-0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=0)"),
    ),
    # --- the three KL functions: other correct answers --------------------------------
    Sample(
        name="kl_alternatives",
        kind="alternative",
        description="kl_gaussians as the plain formula on the arguments (no asarray); "
        "kl_gaussians_logvar through kl_gaussians; kl_to_standard_normal with axis=1",
        answers={
            KL: kl_gaussians(
                "np.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5"),
            LOGVAR: kl_gaussians_logvar(
                "kl_gaussians(mu1, np.exp(0.5 * logvar1), mu2, np.exp(0.5 * logvar2))"),
            STD: kl_to_standard_normal(
                "-0.5 * np.sum(1 + logvar - np.square(mu) - np.exp(logvar), axis=1)"),
        },
    ),
    Sample(
        name="kl_alternatives_variance_forms",
        kind="alternative",
        description="written with variances and log differences; the log-variance form "
        "with exp(logvar1 - logvar2); the latent loss as a sum of per-dimension KLs",
        answers={
            KL: kl_gaussians(
                "var1, var2 = np.square(sigma1), np.square(sigma2)\n"
                "return 0.5 * (np.log(var2) - np.log(var1) + (var1 + np.square(np.subtract(mu1, mu2))) / var2 - 1)"),
            LOGVAR: kl_gaussians_logvar(
                "0.5 * (np.exp(logvar1 - logvar2) + (mu1 - mu2) ** 2 / np.exp(logvar2) - 1 + logvar2 - logvar1)"),
            STD: kl_to_standard_normal(
                "kl_gaussians_logvar(mu, logvar, 0.0, 0.0).sum(axis=-1)"),
        },
    ),
    Sample(
        name="kl_alternatives_loops",
        kind="alternative",
        description="np.vectorize over a math.log formula; the latent loss with Python loops",
        answers={
            KL: "kl_gaussians = np.vectorize(\n"
                "    lambda mu1, sigma1, mu2, sigma2: math.log(sigma2 / sigma1)\n"
                "    + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5\n"
                ")\n",
            STD: kl_to_standard_normal(
                "rows = []\n"
                "for m_row, l_row in zip(np.asarray(mu), np.asarray(logvar)):\n"
                "    total = 0.0\n"
                "    for m, l in zip(m_row, l_row):\n"
                "        total += -0.5 * (1 + l - m * m - math.exp(l))\n"
                "    rows.append(total)\n"
                "return np.array(rows)"),
        },
    ),
    # --- concept questions ----------------------------------------------------------------
    Sample(
        name="concepts_common_wrong_answers",
        kind="mistake",
        description="the tempting wrong choices: sigma^2 * eps, a hard-coded batch, Conv2D, "
        "the KL with a + sign, a mean of the KL changes nothing, f(x-bar) unbiased for any f, "
        "a smooth map (a neural network) has a tractable density, per-example parameters lose on test "
        "data (the course's old key), the posterior without entropy, a point mass for an unused "
        "dimension, REINFORCE needs a differentiable f, reparameterization needs q "
        "differentiable in z, Bernoulli reparameterizable",
        answers={
            "answer_latent_op": 'ANSWER_LATENT_OP = "C"',
            "answer_epsilon_code": 'ANSWER_EPSILON_CODE = "C"',
            "answer_decoder_layer": 'ANSWER_DECODER_LAYER = "A"',
            "answer_kl_expression": 'ANSWER_KL_EXPRESSION = "B"',
            "answer_kl_mean": 'ANSWER_KL_MEAN = "A"',
            "answer_unbiased": 'ANSWER_UNBIASED = "ABC"',
            "answer_tractable": 'ANSWER_TRACTABLE = "BC"',
            "answer_amortized": 'ANSWER_AMORTIZED = "C"',
            "answer_no_entropy": 'ANSWER_NO_ENTROPY = "B"',
            "answer_unused_dim": 'ANSWER_UNUSED_DIM = "A"',
            "answer_log_derivative": 'ANSWER_LOG_DERIVATIVE = "CD"',
            "answer_reparameterization": 'ANSWER_REPARAMETERIZATION = "ABCD"',
            "answer_reparameterizable": 'ANSWER_REPARAMETERIZABLE = "ABC"',
        },
        fails={
            "test_answer_latent_op", "test_answer_epsilon_code", "test_answer_decoder_layer",
            "test_answer_kl_expression", "test_answer_kl_mean", "test_answer_unbiased",
            "test_answer_tractable", "test_answer_amortized", "test_answer_no_entropy",
            "test_answer_unused_dim", "test_answer_log_derivative",
            "test_answer_reparameterization", "test_answer_reparameterizable",
        },
    ),
    Sample(
        name="concepts_other_distractors",
        kind="mistake",
        description="the other distractors of the sheets' items: only the printed loss changes, "
        "the linear case missed, the latent variable model tractable, the encoder better on both "
        "sets, q differentiable in z for REINFORCE, g's differentiability forgotten, the full "
        "covariance not reparameterizable",
        answers={
            "answer_kl_mean": 'ANSWER_KL_MEAN = "D"',
            "answer_unbiased": 'ANSWER_UNBIASED = "A"',
            "answer_tractable": 'ANSWER_TRACTABLE = "AC"',
            "answer_amortized": 'ANSWER_AMORTIZED = "D"',
            "answer_log_derivative": 'ANSWER_LOG_DERIVATIVE = "BC"',
            "answer_reparameterization": 'ANSWER_REPARAMETERIZATION = "AD"',
            "answer_reparameterizable": 'ANSWER_REPARAMETERIZABLE = "A"',
        },
        fails={
            "test_answer_kl_mean", "test_answer_unbiased", "test_answer_tractable",
            "test_answer_amortized", "test_answer_log_derivative",
            "test_answer_reparameterization", "test_answer_reparameterizable",
        },
    ),
    Sample(
        name="concepts_incomplete_selection",
        kind="mistake",
        description="select-all questions answered with only some of the right letters, a letter "
        "that is not an option, or written in words",
        answers={
            "answer_unbiased": 'ANSWER_UNBIASED = "B"',
            "answer_tractable": 'ANSWER_TRACTABLE = "D"',
            "answer_log_derivative": 'ANSWER_LOG_DERIVATIVE = "the third one"',
            "answer_reparameterization": 'ANSWER_REPARAMETERIZATION = ["A", "C"]',
        },
        fails={
            "test_answer_unbiased", "test_answer_tractable", "test_answer_log_derivative",
            "test_answer_reparameterization",
        },
    ),
    Sample(
        name="concepts_other_spellings",
        kind="alternative",
        description="lower case, brackets, spaces, and lists/sets/tuples in any order",
        answers={
            "answer_latent_op": 'ANSWER_LATENT_OP = "b"',
            "answer_epsilon_code": 'ANSWER_EPSILON_CODE = " (A) "',
            "answer_decoder_layer": 'ANSWER_DECODER_LAYER = ["B"]',
            "answer_kl_expression": "ANSWER_KL_EXPRESSION = 'a'",
            "answer_kl_mean": 'ANSWER_KL_MEAN = "b."',
            "answer_unbiased": 'ANSWER_UNBIASED = ["b", "a"]',
            "answer_tractable": 'ANSWER_TRACTABLE = "(c)"',
            "answer_amortized": 'ANSWER_AMORTIZED = "A)"',
            "answer_no_entropy": 'ANSWER_NO_ENTROPY = {"c"}',
            "answer_unused_dim": 'ANSWER_UNUSED_DIM = "B."',
            "answer_log_derivative": 'ANSWER_LOG_DERIVATIVE = {"C"}',
            "answer_reparameterization": 'ANSWER_REPARAMETERIZATION = "D, C, A"',
            "answer_reparameterizable": 'ANSWER_REPARAMETERIZABLE = ("B", "A")',
        },
    ),
]
