"""Sample submissions of the kl_theory notebook: common mistakes and alternative answers.

Each sample replaces some solution cells (by grade_id) of the release notebook; the others
get the reference code. ``fails`` lists the grade cells that must lose all their points.
"""

from autograder.sampling import Sample

KL = "kl_gaussians"
KL_VEC = "test_kl_gaussians_vectorized"
LOGVAR = "kl_gaussians_logvar"
STD = "kl_to_standard_normal"


def kl_gaussians(body: str) -> str:
    """A full kl_gaussians cell with ``body`` (one expression or statements) as its body."""
    return _function("kl_gaussians(mu1, sigma1, mu2, sigma2)", body)


def kl_gaussians_logvar(body: str) -> str:
    return _function("kl_gaussians_logvar(mu1, logvar1, mu2, logvar2)", body)


def kl_to_standard_normal(body: str) -> str:
    return _function("kl_to_standard_normal(mu, logvar)", body)


def _function(signature: str, body: str) -> str:
    lines = body.strip("\n").splitlines()
    if len(lines) == 1 and not lines[0].startswith(("return", "import")):
        lines = ["return " + lines[0]]
    return f"def {signature}:\n" + "\n".join("    " + line for line in lines) + "\n"


SAMPLES = [
    # --- kl_gaussians: common mistakes ------------------------------------------------
    Sample(
        name="kl_sigma_as_variance",
        kind="mistake",
        description="uses sigma where the variance sigma^2 belongs",
        answers={KL: kl_gaussians(
            "np.log(sigma2 / sigma1) + (sigma1 + (mu1 - mu2) ** 2) / (2 * sigma2) - 0.5")},
        fails={"test_kl_gaussians", KL_VEC},
    ),
    Sample(
        name="kl_missing_half",
        kind="mistake",
        description="divides by sigma2^2 instead of 2 sigma2^2",
        answers={KL: kl_gaussians(
            "np.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2) ** 2) / sigma2**2 - 0.5")},
        fails={"test_kl_gaussians", KL_VEC},
    ),
    Sample(
        name="kl_log_ratio_swapped",
        kind="mistake",
        description="log(sigma1 / sigma2) instead of log(sigma2 / sigma1)",
        answers={KL: kl_gaussians(
            "np.log(sigma1 / sigma2) + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5")},
        fails={"test_kl_gaussians", KL_VEC},
    ),
    Sample(
        name="kl_wrong_sign",
        kind="mistake",
        description="returns the negative of the divergence",
        answers={KL: kl_gaussians(
            "-(np.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5)")},
        fails={"test_kl_gaussians", KL_VEC},
    ),
    Sample(
        name="kl_reversed_direction",
        kind="mistake",
        description="computes KL(Q || P) instead of KL(P || Q)",
        answers={KL: kl_gaussians(
            "np.log(sigma1 / sigma2) + (sigma2**2 + (mu1 - mu2) ** 2) / (2 * sigma1**2) - 0.5")},
        fails={"test_kl_gaussians", KL_VEC},
    ),
    Sample(
        name="kl_not_vectorized",
        kind="mistake",
        description="math.log: right on numbers, fails on arrays",
        answers={KL: kl_gaussians(
            "math.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5")},
        fails={KL_VEC},
    ),
    # --- kl_gaussians: other correct answers --------------------------------------------
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
    # --- kl_gaussians_logvar: common mistakes -------------------------------------------
    Sample(
        name="logvar_as_log_sigma",
        kind="mistake",
        description="treats logvar as log(sigma): exp(logvar) used as the standard deviation",
        answers={LOGVAR: kl_gaussians_logvar(
            "(logvar2 - logvar1) + (np.exp(2 * logvar1) + (mu1 - mu2) ** 2) / (2 * np.exp(2 * logvar2)) - 0.5")},
        fails={"test_kl_gaussians_logvar"},
    ),
    Sample(
        name="logvar_missing_half_on_log_term",
        kind="mistake",
        description="log(sigma2/sigma1) written as logvar2 - logvar1, without the 1/2",
        answers={LOGVAR: kl_gaussians_logvar(
            "(logvar2 - logvar1) + (np.exp(logvar1) + (mu1 - mu2) ** 2) / (2 * np.exp(logvar2)) - 0.5")},
        fails={"test_kl_gaussians_logvar"},
    ),
    Sample(
        name="logvar_swapped",
        kind="mistake",
        description="logvar1 - logvar2 instead of logvar2 - logvar1",
        answers={LOGVAR: kl_gaussians_logvar(
            "0.5 * (logvar1 - logvar2 + (np.exp(logvar1) + (mu1 - mu2) ** 2) / np.exp(logvar2) - 1)")},
        fails={"test_kl_gaussians_logvar"},
    ),
    Sample(
        name="logvar_std_as_variance",
        kind="mistake",
        description="exp(0.5 * logvar) (the standard deviation) used as the variance",
        answers={LOGVAR: kl_gaussians_logvar(
            "0.5 * (logvar2 - logvar1 + (np.exp(0.5 * logvar1) + (mu1 - mu2) ** 2) / np.exp(0.5 * logvar2) - 1)")},
        fails={"test_kl_gaussians_logvar"},
    ),
    # --- kl_to_standard_normal: common mistakes -----------------------------------------
    Sample(
        name="std_normal_wrong_sign",
        kind="mistake",
        description="+0.5 instead of -0.5 in front of the sum",
        answers={STD: kl_to_standard_normal(
            "0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=-1)")},
        fails={"test_kl_to_standard_normal"},
    ),
    Sample(
        name="std_normal_missing_half",
        kind="mistake",
        description="drops the factor 1/2",
        answers={STD: kl_to_standard_normal(
            "-np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=-1)")},
        fails={"test_kl_to_standard_normal"},
    ),
    Sample(
        name="std_normal_mean_over_dims",
        kind="mistake",
        description="averages over the latent dimensions instead of summing",
        answers={STD: kl_to_standard_normal(
            "-0.5 * np.mean(1 + logvar - mu**2 - np.exp(logvar), axis=-1)")},
        fails={"test_kl_to_standard_normal"},
    ),
    Sample(
        name="std_normal_sum_over_all",
        kind="mistake",
        description="sums over the batch too: one number instead of one per example",
        answers={STD: kl_to_standard_normal(
            "-0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar))")},
        fails={"test_kl_to_standard_normal"},
    ),
    Sample(
        name="std_normal_sum_over_batch",
        kind="mistake",
        description="sums over axis 0 (the batch) instead of the latent axis",
        answers={STD: kl_to_standard_normal(
            "-0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=0)")},
        fails={"test_kl_to_standard_normal"},
    ),
    Sample(
        name="std_normal_std_as_variance",
        kind="mistake",
        description="exp(0.5 * logvar) where exp(logvar) belongs (passes the visible check)",
        answers={STD: kl_to_standard_normal(
            "-0.5 * np.sum(1 + logvar - mu**2 - np.exp(0.5 * logvar), axis=-1)")},
        fails={"test_kl_to_standard_normal"},
    ),
    # --- concept questions ----------------------------------------------------------------
    Sample(
        name="concepts_common_wrong_answers",
        kind="mistake",
        description="the tempting wrong choices: sigma^2 * eps, a hard-coded batch, Conv2D, "
        "the KL with a + sign, x-bar^2 unbiased, the VAE marginal tractable, per-example "
        "parameters win on test data, the posterior without entropy, a point mass for an "
        "unused dimension, REINFORCE needs a differentiable f, Bernoulli reparameterizable",
        answers={
            "answer_latent_op": 'ANSWER_LATENT_OP = "C"',
            "answer_epsilon_code": 'ANSWER_EPSILON_CODE = "C"',
            "answer_decoder_layer": 'ANSWER_DECODER_LAYER = "A"',
            "answer_kl_expression": 'ANSWER_KL_EXPRESSION = "B"',
            "answer_unbiased": 'ANSWER_UNBIASED = "ABD"',
            "answer_tractable": 'ANSWER_TRACTABLE = "ABC"',
            "answer_amortized": 'ANSWER_AMORTIZED = "A"',
            "answer_no_entropy": 'ANSWER_NO_ENTROPY = "B"',
            "answer_unused_dim": 'ANSWER_UNUSED_DIM = "A"',
            "answer_trick_requirements": 'ANSWER_TRICK_REQUIREMENTS = "ACD"',
            "answer_reparameterizable": 'ANSWER_REPARAMETERIZABLE = "ABC"',
        },
        fails={
            "test_answer_latent_op", "test_answer_epsilon_code", "test_answer_decoder_layer",
            "test_answer_kl_expression", "test_answer_unbiased", "test_answer_tractable",
            "test_answer_amortized", "test_answer_no_entropy", "test_answer_unused_dim",
            "test_answer_trick_requirements", "test_answer_reparameterizable",
        },
    ),
    Sample(
        name="concepts_incomplete_selection",
        kind="mistake",
        description="select-all questions answered with only some of the right letters, "
        "or written in words",
        answers={
            "answer_unbiased": 'ANSWER_UNBIASED = "A"',
            "answer_tractable": 'ANSWER_TRACTABLE = "A and C"',
            "answer_trick_requirements": 'ANSWER_TRICK_REQUIREMENTS = ["B", "D"]',
            "answer_reparameterizable": 'ANSWER_REPARAMETERIZABLE = "ABCD"',
        },
        fails={
            "test_answer_unbiased", "test_answer_tractable", "test_answer_trick_requirements",
            "test_answer_reparameterizable",
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
            "answer_unbiased": 'ANSWER_UNBIASED = ["d", "a"]',
            "answer_tractable": 'ANSWER_TRACTABLE = "C, A"',
            "answer_amortized": 'ANSWER_AMORTIZED = "B)"',
            "answer_no_entropy": 'ANSWER_NO_ENTROPY = {"c"}',
            "answer_unused_dim": 'ANSWER_UNUSED_DIM = "B."',
            "answer_trick_requirements": 'ANSWER_TRICK_REQUIREMENTS = {"D", "C", "B"}',
            "answer_reparameterizable": 'ANSWER_REPARAMETERIZABLE = ("B", "A")',
        },
    ),
]
