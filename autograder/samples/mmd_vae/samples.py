"""Sample submissions of the mmd_vae notebook: common mistakes and alternative answers.

Each sample replaces some solution cells (by grade_id) of the release notebook; the others
get the reference code. ``fails`` lists the grade cells that must lose all their points.
"""

from autograder.proofs.sample import Sample, function_cell

KERNEL, MMD, LOSS, ACTIVE = "gaussian_kernel", "mmd", "mmd_loss", "active_units"
T_KERNEL, T_MMD, T_PROPS = "test_gaussian_kernel", "test_mmd", "test_mmd_properties"
T_LOSS, T_ACTIVE = "test_mmd_loss", "test_active_units"
TRAIN, T_TRAIN = "train_mmd", "test_train_mmd"


def train(body: str) -> str:
    """A full cell training the MMD model (the given lines around ``body``)."""
    return ("mmd_optimizer = keras.optimizers.Adam(1e-3)  # train with this optimizer: the check below counts its steps\n"
            'print(f"MMD model (lambda = {LAMBDA:g}); the reported test ELBO is still the ELBO")\n'
            + body.strip("\n") + "\n")


def kernel(body: str) -> str:
    return function_cell("gaussian_kernel(x, y, bandwidth=None)", body)


def mmd(body: str) -> str:
    return function_cell('mmd(x, y, kernel="rbf", unbiased=True, **kernel_kwargs)', body)


def mmd_loss(body: str) -> str:
    return function_cell(
        'mmd_loss(model, x, lam=1000.0, likelihood="bernoulli", kernel="rbf", unbiased=True,\n'
        "             use_mean=False, **kernel_kwargs)", body)


def active(body: str) -> str:
    return function_cell("active_units(mean, threshold=0.01)", body)


# the reference kernel up to its last line, then a variant of the exponent
_KERNEL_HEAD = """x = ops.cast(ops.convert_to_tensor(x), "float32")
y = ops.cast(ops.convert_to_tensor(y), "float32")
dim = ops.cast(ops.shape(x)[-1], "float32")
bandwidth_sq = dim if bandwidth is None else ops.square(ops.cast(bandwidth, "float32"))
d2 = ops.sum(ops.square(ops.expand_dims(x, 1) - ops.expand_dims(y, 0)), axis=-1)
"""

_MMD_HEAD = """k = _kernel_fn(kernel)
kxx = k(x, x, **kernel_kwargs)
kyy = k(y, y, **kernel_kwargs)
kxy = k(x, y, **kernel_kwargs)
n = ops.cast(ops.shape(kxx)[0], "float32")
m = ops.cast(ops.shape(kyy)[0], "float32")
"""

_LOSS_HEAD = """mean, logvar = model.encode(x)
z = model.reparameterize(mean, logvar)
reconstruction = -ops.mean(reconstruction_log_likelihood(x, model.decode(z), likelihood))
prior = keras.random.normal(ops.shape(z))
"""

SAMPLES = [
    # --- gaussian_kernel ------------------------------------------------------------------
    Sample(
        name="kernel_wrong_sign",
        kind="mistake",
        description="exp(+d^2 / 2h^2): the sign of the exponent flipped",
        answers={KERNEL: kernel(_KERNEL_HEAD + "return ops.exp(d2 / (2.0 * bandwidth_sq))")},
        fails={T_KERNEL},
    ),
    Sample(
        name="kernel_missing_two",
        kind="mistake",
        description="exp(-d^2 / h^2): the factor 2 missing",
        answers={KERNEL: kernel(_KERNEL_HEAD + "return ops.exp(-d2 / bandwidth_sq)")},
        fails={T_KERNEL},
    ),
    Sample(
        name="kernel_bandwidth_not_squared",
        kind="mistake",
        description="divides by 2h instead of 2h^2 when a bandwidth is given",
        answers={KERNEL: kernel(
            _KERNEL_HEAD.replace("ops.square(ops.cast(bandwidth, \"float32\"))",
                                 "ops.cast(bandwidth, \"float32\")")
            + "return ops.exp(-d2 / (2.0 * bandwidth_sq))")},
        fails={T_KERNEL},
    ),
    Sample(
        name="kernel_distance_not_squared",
        kind="mistake",
        description="uses the distance ||x - y|| instead of its square",
        answers={KERNEL: kernel(_KERNEL_HEAD + "return ops.exp(-ops.sqrt(d2) / (2.0 * bandwidth_sq))")},
        fails={T_KERNEL},
    ),
    Sample(
        name="kernel_numpy",
        kind="mistake",
        description="right numbers computed in NumPy: no gradient reaches the codes",
        answers={KERNEL: kernel("""x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
h2 = x.shape[1] if bandwidth is None else bandwidth**2
return np.exp(-((x[:, None, :] - y[None, :, :]) ** 2).sum(-1) / (2.0 * h2))""")},
        fails={T_KERNEL},
    ),
    Sample(
        name="kernel_old_visible_rbf",
        kind="mistake",
        description="copies the RBF kernel the visible tests once held: it ignores the bandwidth",
        answers={KERNEL: kernel("""a, b = tf.cast(x, tf.float32), tf.cast(y, tf.float32)
d2 = tf.reduce_sum(tf.square(a[:, None, :] - b[None, :, :]), axis=-1)
return tf.exp(-d2 / (2.0 * tf.cast(tf.shape(a)[1], tf.float32)))""")},
        fails={T_KERNEL},
    ),
    Sample(
        name="kernel_imports_package",
        kind="mistake",
        description="returns the package's mmd.gaussian_kernel (graded against the students' build of "
                    "vaecourse, where it raises NotImplementedError; the scan flags it)",
        answers={KERNEL: kernel("""from vaecourse.tf.mmd import gaussian_kernel as package_kernel

return package_kernel(x, y, bandwidth)""")},
        fails={T_KERNEL},
    ),
    Sample(
        name="kernel_expanded_norms",
        kind="alternative",
        description="||x||^2 + ||y||^2 - 2 x.y with TensorFlow ops and a matrix product",
        answers={KERNEL: kernel("""x = tf.cast(x, tf.float32)
y = tf.cast(y, tf.float32)
h2 = tf.cast(tf.shape(x)[1], tf.float32) if bandwidth is None else float(bandwidth) ** 2
xx = tf.reduce_sum(x * x, axis=1, keepdims=True)
yy = tf.reduce_sum(y * y, axis=1, keepdims=True)
d2 = tf.maximum(xx + tf.transpose(yy) - 2.0 * tf.matmul(x, y, transpose_b=True), 0.0)
return tf.exp(-d2 / (2.0 * h2))""")},
    ),
    Sample(
        name="kernel_squared_difference",
        kind="alternative",
        description="tf.math.squared_difference with broadcasting, bandwidth as a Python float",
        answers={KERNEL: kernel("""h2 = float(x.shape[-1]) if bandwidth is None else float(bandwidth) ** 2
diff2 = tf.math.squared_difference(tf.cast(x, tf.float32)[:, None, :], tf.cast(y, tf.float32)[None, :, :])
return tf.exp(-tf.reduce_sum(diff2, axis=-1) / (2 * h2))""")},
    ),
    # --- mmd --------------------------------------------------------------------------------
    Sample(
        name="mmd_diagonal_included",
        kind="mistake",
        description="unbiased estimator that keeps the diagonal k(x_i, x_i) = 1",
        answers={MMD: mmd(_MMD_HEAD + """if unbiased:
    return ops.sum(kxx) / (n * (n - 1.0)) + ops.sum(kyy) / (m * (m - 1.0)) - 2.0 * ops.mean(kxy)
return ops.mean(kxx) + ops.mean(kyy) - 2.0 * ops.mean(kxy)""")},
        fails={T_MMD, T_PROPS},
    ),
    Sample(
        name="mmd_always_biased",
        kind="mistake",
        description="ignores `unbiased`: always averages over all pairs",
        answers={MMD: mmd(_MMD_HEAD + "return ops.mean(kxx) + ops.mean(kyy) - 2.0 * ops.mean(kxy)")},
        fails={T_MMD, T_PROPS},
    ),
    Sample(
        name="mmd_missing_cross_factor_two",
        kind="mistake",
        description="subtracts mean(Kxy) once instead of twice",
        answers={MMD: mmd(_MMD_HEAD + """if unbiased:
    xx = (ops.sum(kxx) - ops.trace(kxx)) / (n * (n - 1.0))
    yy = (ops.sum(kyy) - ops.trace(kyy)) / (m * (m - 1.0))
else:
    xx, yy = ops.mean(kxx), ops.mean(kyy)
return xx + yy - ops.mean(kxy)""")},
        fails={T_MMD, T_PROPS},
    ),
    Sample(
        name="mmd_means_only",
        kind="mistake",
        description="compares only the sample means: ||mean(x) - mean(y)||^2",
        answers={MMD: mmd("return ops.sum(ops.square(ops.mean(x, axis=0) - ops.mean(y, axis=0)))")},
        fails={T_MMD, T_PROPS},
    ),
    Sample(
        name="mmd_numpy",
        kind="mistake",
        description="right numbers computed in NumPy: no gradient reaches the codes",
        answers={MMD: mmd("""k = _kernel_fn(kernel)
kxx = np.asarray(k(x, x, **kernel_kwargs), dtype=np.float64)
kyy = np.asarray(k(y, y, **kernel_kwargs), dtype=np.float64)
kxy = np.asarray(k(x, y, **kernel_kwargs), dtype=np.float64)
n, m = len(kxx), len(kyy)
if unbiased:
    return ((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.mean())
return kxx.mean() + kyy.mean() - 2 * kxy.mean()""")},
        fails={T_PROPS},
    ),
    Sample(
        name="mmd_old_visible_numpy",
        kind="mistake",
        description="copies the NumPy estimator the visible tests once held: its own RBF kernel whatever "
                    "kernel it is given, and no gradient",
        answers={MMD: mmd("""def np_rbf(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2.0 * a.shape[1]))

kxx, kyy, kxy = np_rbf(x, x), np_rbf(y, y), np_rbf(x, y)
n, m = len(x), len(y)
if unbiased:
    return (kxx.sum() - n) / (n * (n - 1)) + (kyy.sum() - m) / (m * (m - 1)) - 2.0 * kxy.mean()
return kxx.mean() + kyy.mean() - 2.0 * kxy.mean()""")},
        fails={T_MMD, T_PROPS},
    ),
    Sample(
        name="mmd_always_imq",
        kind="mistake",
        description="always uses the IMQ kernel, whatever kernel it is given",
        answers={MMD: mmd(_MMD_HEAD.replace("k = _kernel_fn(kernel)", "k = imq_kernel") + """if unbiased:
    return (ops.sum(kxx) - ops.trace(kxx)) / (n * (n - 1.0)) + (ops.sum(kyy) - ops.trace(kyy)) / (m * (m - 1.0)) - 2.0 * ops.mean(kxy)
return ops.mean(kxx) + ops.mean(kyy) - 2.0 * ops.mean(kxy)""")},
        fails={T_MMD},
    ),
    Sample(
        name="mmd_imports_package",
        kind="mistake",
        description="returns the package's mmd.mmd (graded against the students' build, where it raises "
                    "NotImplementedError; the scan flags it)",
        answers={MMD: mmd("""from vaecourse.tf import mmd as package_mmd

return package_mmd.mmd(x, y, kernel=kernel, unbiased=unbiased, **kernel_kwargs)""")},
        fails={T_MMD, T_PROPS},
    ),
    Sample(
        name="mmd_tensorflow_mask",
        kind="alternative",
        description="TensorFlow ops; the diagonal removed with a mask",
        answers={MMD: mmd("""k = _kernel_fn(kernel)
kxx, kyy, kxy = k(x, x, **kernel_kwargs), k(y, y, **kernel_kwargs), k(x, y, **kernel_kwargs)
if not unbiased:
    return tf.reduce_mean(kxx) + tf.reduce_mean(kyy) - 2 * tf.reduce_mean(kxy)
n = tf.shape(kxx)[0]
m = tf.shape(kyy)[0]
off_x = 1.0 - tf.eye(n)
off_y = 1.0 - tf.eye(m)
xx = tf.reduce_sum(kxx * off_x) / tf.reduce_sum(off_x)
yy = tf.reduce_sum(kyy * off_y) / tf.reduce_sum(off_y)
return xx + yy - 2 * tf.reduce_mean(kxy)""")},
    ),
    Sample(
        name="mmd_subtracts_the_diagonal_of_ones",
        kind="alternative",
        description="calls gaussian_kernel directly for the default kernel; subtracts n (the diagonal of ones) by hand",
        answers={MMD: mmd("""k = gaussian_kernel if kernel in ("rbf", "gaussian") else _kernel_fn(kernel)
kxx = k(x, x, **kernel_kwargs)
kyy = k(y, y, **kernel_kwargs)
kxy = k(x, y, **kernel_kwargs)
n = tf.cast(tf.shape(x)[0], tf.float32)
m = tf.cast(tf.shape(y)[0], tf.float32)
if unbiased:
    return ((tf.reduce_sum(kxx) - n) / (n * (n - 1)) + (tf.reduce_sum(kyy) - m) / (m * (m - 1))
            - 2 * tf.reduce_mean(kxy))
return tf.reduce_mean(kxx) + tf.reduce_mean(kyy) - 2 * tf.reduce_mean(kxy)""")},
    ),
    # --- mmd_loss ---------------------------------------------------------------------------
    Sample(
        name="loss_without_lambda",
        kind="mistake",
        description="forgets the weight lambda of the MMD term",
        answers={LOSS: mmd_loss(_LOSS_HEAD + "return reconstruction + mmd(z, prior)")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_keeps_kl",
        kind="mistake",
        description="adds the MMD to the ELBO loss instead of replacing the KL term",
        answers={LOSS: mmd_loss(_LOSS_HEAD + """kl = ops.mean(-0.5 * ops.sum(1.0 + logvar - ops.square(mean) - ops.exp(logvar), axis=-1))
return reconstruction + kl + lam * mmd(z, prior)""")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_pixel_mean",
        kind="mistake",
        description="averages the reconstruction over pixels instead of summing",
        answers={LOSS: mmd_loss(_LOSS_HEAD.replace(
            "reconstruction = -ops.mean(reconstruction_log_likelihood(x, model.decode(z), likelihood))",
            "reconstruction = -ops.mean(reconstruction_log_likelihood(x, model.decode(z), likelihood))"
            " / float(np.prod(x.shape[1:]))") + "return reconstruction + lam * mmd(z, prior)")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_uniform_prior",
        kind="mistake",
        description="draws the 'prior' samples from U[0, 1) instead of N(0, I)",
        answers={LOSS: mmd_loss(_LOSS_HEAD.replace("keras.random.normal", "keras.random.uniform")
                                + "return reconstruction + lam * mmd(z, prior)")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_hardcoded_bernoulli",
        kind="mistake",
        description="ignores the likelihood argument: always the Bernoulli cross-entropy",
        answers={LOSS: mmd_loss(_LOSS_HEAD.replace(
            "reconstruction_log_likelihood(x, model.decode(z), likelihood)",
            "reconstruction_log_likelihood(x, model.decode(z), 'bernoulli')")
            + "return reconstruction + lam * mmd(z, prior)")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_default_lam_2000",
        kind="mistake",
        description="right for every lam it is given, but its default lam is 2000, not the documented 1000",
        answers={LOSS: function_cell(
            'mmd_loss(model, x, lam=2000.0, likelihood="bernoulli", kernel="rbf", unbiased=True,\n'
            "             use_mean=False, **kernel_kwargs)",
            _LOSS_HEAD + "return reconstruction + lam * mmd(z, prior, kernel=kernel, unbiased=unbiased, **kernel_kwargs)")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_imports_package",
        kind="mistake",
        description="returns the package's mmd.mmd_loss (graded against the students' build, where it raises "
                    "NotImplementedError; the scan flags it)",
        answers={LOSS: mmd_loss("""from vaecourse.tf.mmd import mmd_loss as package_loss

return package_loss(model, x, lam=lam, likelihood=likelihood, kernel=kernel, unbiased=unbiased,
                    use_mean=use_mean, **kernel_kwargs)""")},
        fails={T_LOSS},
    ),
    Sample(
        name="loss_tensorflow_ops",
        kind="alternative",
        description="tf.random.normal and tf.nn.sigmoid_cross_entropy_with_logits for Bernoulli",
        answers={LOSS: mmd_loss("""mean, logvar = model.encode(x)
z = mean if use_mean else model.reparameterize(mean, logvar)
logits = model.decode(z)
if likelihood == "bernoulli":
    ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(x, tf.float32), logits=logits)
    reconstruction = tf.reduce_mean(tf.reduce_sum(ce, axis=[1, 2, 3]))
else:
    reconstruction = -tf.reduce_mean(likelihood(x, logits))
prior = tf.random.normal(tf.shape(z))
return reconstruction + lam * mmd(z, prior, kernel=kernel, unbiased=unbiased, **kernel_kwargs)""")},
    ),
    Sample(
        name="loss_deterministic_codes_200_prior",
        kind="alternative",
        description="codes = posterior means (WAE style) against 200 prior samples (InfoVAE's code)",
        answers={LOSS: mmd_loss("""mean, _ = model.encode(x)
reconstruction = -ops.mean(reconstruction_log_likelihood(x, model.decode(mean), likelihood))
prior = keras.random.normal((200, ops.shape(mean)[1]))
return reconstruction + lam * mmd(mean, prior)""")},
    ),
    # --- active_units -----------------------------------------------------------------------
    Sample(
        name="active_std_not_variance",
        kind="mistake",
        description="compares the standard deviation with the threshold",
        answers={ACTIVE: active("return int((np.asarray(mean).std(axis=0) > threshold).sum())")},
        fails={T_ACTIVE},
    ),
    Sample(
        name="active_wrong_axis",
        kind="mistake",
        description="takes the variance over the latent axis instead of over the inputs",
        answers={ACTIVE: active("return int((np.asarray(mean).var(axis=1) > threshold).sum())")},
        fails={T_ACTIVE},
    ),
    Sample(
        name="active_mean_not_variance",
        kind="mistake",
        description="counts dimensions whose average code is far from 0",
        answers={ACTIVE: active("return int((np.abs(np.asarray(mean).mean(axis=0)) > threshold).sum())")},
        fails={T_ACTIVE},
    ),
    Sample(
        name="active_returns_mask",
        kind="mistake",
        description="returns the boolean mask of active dimensions, not their number",
        answers={ACTIVE: active("return np.asarray(mean).var(axis=0) > threshold")},
        fails={T_ACTIVE},
    ),
    Sample(
        name="active_default_threshold_0_02",
        kind="mistake",
        description="right for every threshold it is given, but its default is 0.02, not the documented 0.01",
        answers={ACTIVE: function_cell("active_units(mean, threshold=0.02)",
                                       "return int((np.asarray(mean, dtype=np.float64).var(axis=0) > threshold).sum())")},
        fails={T_ACTIVE},
    ),
    Sample(
        name="active_imports_package",
        kind="mistake",
        description="returns the package's metrics.active_units (graded against the students' build, where it "
                    "raises NotImplementedError; the scan flags it)",
        answers={ACTIVE: active("return metrics.active_units(mean, threshold)")},
        fails={T_ACTIVE},
    ),
    Sample(
        name="active_tensorflow",
        kind="alternative",
        description="tf.math.reduce_variance; returns a tensor",
        answers={ACTIVE: active("""variance = tf.math.reduce_variance(tf.cast(mean, tf.float64), axis=0)
return tf.reduce_sum(tf.cast(variance > threshold, tf.int32))""")},
    ),
    Sample(
        name="active_covariance_diagonal",
        kind="alternative",
        description="the diagonal of np.cov (n - 1 in the denominator)",
        answers={ACTIVE: active("return int(np.sum(np.diag(np.cov(np.asarray(mean, dtype=float), rowvar=False)) > threshold))")},
    ),
    Sample(
        name="loss_numpy",
        kind="mistake",
        description="mmd_loss with NumPy arrays: runs eagerly, not in the compiled training step "
                    "(the notebook then trains the MMD model with the KL loss, so only this test is lost)",
        answers={LOSS: mmd_loss("""mean, logvar = model.encode(x)
z = np.asarray(model.reparameterize(mean, logvar))
reconstruction = -np.mean(np.asarray(reconstruction_log_likelihood(x, model.decode(z), likelihood)))
prior = np.random.default_rng(0).standard_normal(z.shape).astype(np.float32)
return reconstruction + lam * float(mmd(z, prior, kernel=kernel, unbiased=unbiased, **kernel_kwargs))""")},
        fails={T_LOSS},
    ),
    # --- training the MMD model ------------------------------------------------------------
    Sample(
        name="train_without_the_optimizer",
        kind="mistake",
        description="lets training.fit make its own optimizer (the check cannot count the steps)",
        answers={TRAIN: train("""mmd_model = build_cvae()
mmd_history = training.fit(mmd_model, train_ds, test_ds, EPOCHS, loss_fn=mmd_loss_fn, eval_loss_fn=kl_loss,
                           step_fn=training.train_step)""")},
        fails={T_TRAIN},
    ),
    Sample(
        name="train_continues_the_kl_model",
        kind="mistake",
        description="trains the KL model further with the MMD loss instead of a new model",
        answers={TRAIN: train("""mmd_model = kl_model
mmd_history = training.fit(mmd_model, train_ds, test_ds, EPOCHS, optimizer=mmd_optimizer,
                           loss_fn=mmd_loss_fn, eval_loss_fn=kl_loss, step_fn=training.train_step)""")},
        fails={T_TRAIN},
    ),
    Sample(
        name="train_one_batch_dataset",
        kind="mistake",
        description="trains on the first batch only",
        answers={TRAIN: train("""mmd_model = build_cvae()
mmd_history = training.fit(mmd_model, train_ds.take(1), test_ds, EPOCHS, optimizer=mmd_optimizer,
                           loss_fn=mmd_loss_fn, eval_loss_fn=kl_loss, step_fn=training.train_step)""")},
        fails={T_TRAIN},
    ),
    Sample(
        name="train_own_cvae",
        kind="alternative",
        description="builds the CVAE itself and passes its own MMD loss closure, without progress bars",
        answers={TRAIN: train("""config.seed_everything(1)
mmd_model = models.CVAE(LATENT_DIM, image_shape=(32, 32, 3), width=WIDTH, seed=1,
                        decoder=models.build_decoder(LATENT_DIM, (32, 32, 3), WIDTH),
                        reparameterize=sampling.reparameterize)
mmd_history = training.fit(mmd_model, train_ds, test_ds, epochs=EPOCHS, optimizer=mmd_optimizer,
                           loss_fn=lambda m, x: mmd_loss(m, x, lam=LAMBDA, likelihood=likelihood),
                           eval_loss_fn=kl_loss, step_fn=training.train_step, progress=False)""")},
    ),
    Sample(
        name="train_without_step_fn",
        kind="mistake",
        description="calls training.fit as before the package's train_step had to be named: fit refuses "
                    "(its message says to pass step_fn=training.train_step)",
        answers={TRAIN: train("""mmd_model = build_cvae()
mmd_history = training.fit(mmd_model, train_ds, test_ds, EPOCHS, optimizer=mmd_optimizer,
                           loss_fn=mmd_loss_fn, eval_loss_fn=kl_loss)""")},
        fails={T_TRAIN},
    ),
]
