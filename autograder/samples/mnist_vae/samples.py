"""Sample submissions of the mnist_vae notebook: common mistakes and alternative answers.

Each sample replaces some solution cells (by grade_id) of the release notebook; every other
solution cell gets the reference code. ``fails`` lists the grade cells that must lose all
their points; every other grade cell must keep all of them. The hidden tests swap in
reference versions of the *other* fill-ins a function may call (``fakes.stand_ins``), so a
mistake only costs the points of its own fill-in.
"""

from textwrap import dedent, indent

from autograder.proofs.sample import Sample

# The first lines of each solution cell (what the release shows above "YOUR CODE HERE").
HEADERS = {
    "preprocess_images": "def preprocess_images(images, binarize=True):",
    "one_per_class": "def one_per_class(labels, num_classes=10):",
    "build_decoder": (
        "def build_decoder(latent_dim, image_shape=(28, 28, 1), filters=32):\n"
        "    height, width, channels = image_shape"
    ),
    "log_normal_pdf": "def log_normal_pdf(sample, mean, logvar, raxis=1):",
    "reparameterize": "def reparameterize(mean, logvar, seed=None):",
    "sampling_call": (
        "class Sampling(keras.layers.Layer):\n"
        "    def __init__(self, seed=None, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.seed_generator = keras.random.SeedGenerator(seed)\n"
        "\n"
        "    def call(self, inputs):"
    ),
    "compute_loss": 'def compute_loss(model, x, likelihood="bernoulli"):',
    "kl_reconstruction_loss": 'def kl_reconstruction_loss(model, x, likelihood="bernoulli"):',
    "generate_and_display_images": "def generate_and_display_images(model, test_sample, title=None):",
    "train_step": "def train_step(model, x, optimizer, loss_fn=compute_loss):",
    "get_allClass_encodings": "def get_allClass_encodings(model, images, batch_size=256):",
    "plot_latent_space": (
        "def plot_latent_space(model, images, labels, class_names=None, batch_size=256, title=None):"
    ),
    "walk_src_to_dst": "def walk_src_to_dst(model, x_src, x_dst, n_steps=10):",
    "build_dense_encoder": "def build_dense_encoder(latent_dim=2, image_shape=(28, 28, 1), intermediate_dim=256):",
    "build_dense_decoder": "def build_dense_decoder(latent_dim=2, image_shape=(28, 28, 1), intermediate_dim=256):",
    "build_generator": "def build_generator(decoder):",
    "fix_variance": "def fix_variance(encoder):",
    "build_pooling_encoder": "def build_pooling_encoder(latent_dim=2, image_shape=(28, 28, 1), intermediate_dim=16):",
    "build_pooling_decoder": "def build_pooling_decoder(latent_dim=2, image_shape=(28, 28, 1), intermediate_dim=16):",
}


def cell(grade_id: str, body: str) -> str:
    """The full source of the solution cell ``grade_id`` with ``body`` as the function body."""
    depth = 8 if grade_id == "sampling_call" else 4
    return HEADERS[grade_id] + "\n" + indent(dedent(body).strip("\n"), " " * depth) + "\n"


def answer(grade_id: str, body: str) -> dict[str, str]:
    return {grade_id: cell(grade_id, body)}


# Bodies reused by several samples ------------------------------------------------------------
TUTORIAL_LOSS = """
mean, logvar = model.encode(x)
z = model.reparameterize(mean, logvar)
x_logit = model.decode(z)
cross_ent = tf.nn.sigmoid_cross_entropy_with_logits(logits=x_logit, labels=x)
logpx_z = -tf.reduce_sum(cross_ent, axis=[1, 2, 3])
logpz = log_normal_pdf(z, 0., 0.)
logqz_x = log_normal_pdf(z, mean, logvar)
return {ret}
"""

KL_LOSS = """
mean, logvar = model.encode(x)
z = model.reparameterize(mean, logvar)
x_logit = model.decode(z)
cross_ent = tf.nn.sigmoid_cross_entropy_with_logits(logits=x_logit, labels=x)
logpx_z = -tf.reduce_sum(cross_ent, axis=[1, 2, 3])
kl = {kl}
return tf.reduce_mean(-logpx_z + kl)
"""


def reparam(line: str, eps: str = "tf.random.normal(shape=tf.shape(mean))") -> dict[str, str]:
    return answer("reparameterize", f"eps = {eps}\nreturn {line}")


def decoder(last: str = 'layers.Conv2DTranspose(channels, 3, strides=1, padding="same")',
            first: str = "keras.Input(shape=(latent_dim,))",
            strides: tuple[int, int] = (2, 2)) -> dict[str, str]:
    return answer("build_decoder", f"""
h, w = height // 4, width // 4
return keras.Sequential([
    {first},
    layers.Dense(h * w * filters, activation="relu"),
    layers.Reshape((h, w, filters)),
    layers.Conv2DTranspose(2 * filters, 3, strides={strides[0]}, padding="same", activation="relu"),
    layers.Conv2DTranspose(filters, 3, strides={strides[1]}, padding="same", activation="relu"),
    {last},
])
""")


LNP = "log_normal_pdf"
REP_SHAPE, REP_DIST, REP_GRAD = (
    "test_reparameterize_shape", "test_reparameterize_distribution", "test_reparameterize_gradients")

SAMPLES = [
    # --- 1. preprocess_images -----------------------------------------------------------------
    Sample(
        name="preprocess_no_channel_axis", kind="mistake",
        description="scales and binarizes but returns (N, 28, 28) without the channel axis",
        answers=answer("preprocess_images", """
            x = images.astype("float32") / 255.0
            return np.where(x > 0.5, 1.0, 0.0).astype("float32") if binarize else x
        """),
        fails={"test_preprocess_images"},
    ),
    Sample(
        name="preprocess_threshold_before_scaling", kind="mistake",
        description="thresholds the uint8 values at 0.5 (every non-zero pixel becomes 1)",
        answers=answer("preprocess_images", """
            x = images[..., None].astype("float32")
            if binarize:
                return np.where(x > 0.5, 1.0, 0.0).astype("float32")
            return x / 255.0
        """),
        fails={"test_preprocess_images"},
    ),
    Sample(
        name="preprocess_round", kind="alternative",
        description="adds the axis with reshape and binarizes with np.round",
        answers=answer("preprocess_images", """
            x = images.reshape(images.shape + (1,)).astype(np.float32) / 255.0
            return np.round(x).astype(np.float32) if binarize else x
        """),
    ),
    # --- 1. one_per_class ---------------------------------------------------------------------
    Sample(
        name="one_per_class_returns_classes", kind="mistake",
        description="returns the class values instead of indices of examples",
        answers=answer("one_per_class", "return np.unique(labels)[:num_classes]"),
        fails={"test_one_per_class"},
    ),
    Sample(
        name="one_per_class_unique_index", kind="alternative",
        description="np.unique(..., return_index=True): first index of each class",
        answers=answer("one_per_class", "return np.unique(labels, return_index=True)[1]"),
    ),
    Sample(
        name="one_per_class_last", kind="alternative",
        description="the last example of each class instead of the first",
        answers=answer("one_per_class", """
            labels = np.asarray(labels).ravel()
            return np.array([np.flatnonzero(labels == c)[-1] for c in range(num_classes)])
        """),
    ),
    # --- 2. build_decoder ---------------------------------------------------------------------
    Sample(
        name="decoder_sigmoid_output", kind="mistake",
        description="puts a sigmoid on the last layer (outputs probabilities, not logits)",
        answers=decoder(last='layers.Conv2DTranspose(channels, 3, strides=1, padding="same", '
                             'activation="sigmoid")'),
        fails={"test_build_decoder_logits"},
    ),
    Sample(
        name="decoder_three_upsamplings", kind="mistake",
        description="the last transposed convolution has stride 2 too (56x56 output)",
        answers=decoder(last='layers.Conv2DTranspose(channels, 3, strides=2, padding="same")'),
        fails={"test_build_decoder_shapes"},
    ),
    Sample(
        name="decoder_hardcoded_latent_size", kind="mistake",
        description="keras.Input(shape=(2,)) instead of (latent_dim,)",
        answers=decoder(first="keras.Input(shape=(2,))"),
        fails={"test_build_decoder_shapes"},
    ),
    Sample(
        name="decoder_hardcoded_mnist", kind="mistake",
        description="writes MNIST's numbers (7, 7, 32 filters, 1 channel) instead of using the arguments",
        answers=answer("build_decoder", """
            return keras.Sequential([
                keras.Input(shape=(latent_dim,)),
                layers.Dense(7 * 7 * 32, activation="relu"),
                layers.Reshape((7, 7, 32)),
                layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
                layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
                layers.Conv2DTranspose(1, 3, strides=1, padding="same"),
            ])
        """),
        fails={"test_build_decoder_shapes"},
    ),
    Sample(
        name="decoder_imports_package", kind="mistake",
        description="returns the package's build_decoder (raises NotImplementedError in the students' build)",
        answers=answer("build_decoder", """
            from vaecourse.tf.models import build_decoder as package_decoder
            return package_decoder(latent_dim, image_shape, filters)
        """),
        fails={"test_build_decoder_shapes", "test_build_decoder_logits"},
    ),
    Sample(
        name="decoder_default_filters", kind="mistake",
        description="changes the documented default to filters=16 (the CVAE would then not be the tutorial's)",
        answers={"build_decoder": decoder()["build_decoder"].replace("filters=32):", "filters=16):")},
        fails={"test_build_decoder_shapes"},
    ),
    Sample(
        name="decoder_functional", kind="alternative",
        description="the same decoder written with the functional API",
        answers=answer("build_decoder", """
            z = keras.Input(shape=(latent_dim,))
            h = layers.Dense((height // 4) * (width // 4) * filters, activation="relu")(z)
            h = layers.Reshape(target_shape=(height // 4, width // 4, filters))(h)
            h = layers.Conv2DTranspose(filters=2 * filters, kernel_size=(3, 3), strides=(2, 2), padding="same", activation="relu")(h)
            h = layers.Conv2DTranspose(filters=filters, kernel_size=(3, 3), strides=(2, 2), padding="same", activation="relu")(h)
            logits = layers.Conv2DTranspose(filters=channels, kernel_size=(3, 3), strides=(1, 1), padding="same", activation=None)(h)
            return keras.Model(z, logits, name="decoder")
        """),
    ),
    # --- 3. log_normal_pdf --------------------------------------------------------------------
    Sample(
        name="lnp_sigma_as_variance", kind="mistake",
        description="uses sigma = exp(logvar / 2) where the variance belongs",
        answers=answer(LNP, """
            log2pi = tf.math.log(2. * np.pi)
            return tf.reduce_sum(-.5 * ((sample - mean) ** 2. * tf.exp(-logvar / 2) + logvar / 2 + log2pi), axis=raxis)
        """),
        fails={"test_log_normal_pdf"},
    ),
    Sample(
        name="lnp_missing_half", kind="mistake",
        description="forgets the factor -1/2",
        answers=answer(LNP, """
            log2pi = tf.math.log(2. * np.pi)
            return tf.reduce_sum(-((sample - mean) ** 2. * tf.exp(-logvar) + logvar + log2pi), axis=raxis)
        """),
        fails={"test_log_normal_pdf"},
    ),
    Sample(
        name="lnp_missing_log2pi", kind="mistake",
        description="drops the constant log(2 pi) (cancels in the loss, but is not the log-density)",
        answers=answer(LNP, """
            return tf.reduce_sum(-.5 * ((sample - mean) ** 2. * tf.exp(-logvar) + logvar), axis=raxis)
        """),
        fails={"test_log_normal_pdf"},
    ),
    Sample(
        name="lnp_mean_over_axis", kind="mistake",
        description="averages over the latent axis instead of summing",
        answers=answer(LNP, """
            log2pi = tf.math.log(2. * np.pi)
            return tf.reduce_mean(-.5 * ((sample - mean) ** 2. * tf.exp(-logvar) + logvar + log2pi), axis=raxis)
        """),
        fails={"test_log_normal_pdf"},
    ),
    Sample(
        name="lnp_package_gaussian_likelihood", kind="mistake",
        description="calls the package's gaussian_log_likelihood (hidden in the students' build while the "
                    "assignment is open: it would answer this cell)",
        answers=answer(LNP, """
from vaecourse.tf.losses import gaussian_log_likelihood
return gaussian_log_likelihood(sample, mean, logvar)
"""),
        fails={"test_log_normal_pdf"},
    ),
    Sample(
        name="lnp_tutorial", kind="alternative",
        description="TensorFlow's tutorial code (tf.math.log(2 pi), tf.reduce_sum)",
        answers=answer(LNP, """
            log2pi = tf.math.log(2. * np.pi)
            return tf.reduce_sum(-.5 * ((sample - mean) ** 2. * tf.exp(-logvar) + logvar + log2pi), axis=raxis)
        """),
    ),
    Sample(
        name="lnp_divide_by_variance", kind="alternative",
        description="divides by the variance and takes log(2 pi variance)",
        answers=answer(LNP, """
            var = tf.exp(tf.cast(logvar, tf.float32))
            sq = tf.square(tf.cast(sample, tf.float32) - mean)
            return -0.5 * tf.reduce_sum(sq / var + tf.math.log(2 * np.pi * var), axis=raxis)
        """),
    ),
    # --- 3. reparameterize --------------------------------------------------------------------
    Sample(
        name="reparam_missing_half", kind="mistake",
        description="mean + exp(logvar) * eps (the variance used as the standard deviation)",
        answers=reparam("mean + tf.exp(logvar) * eps"),
        fails={REP_DIST, REP_GRAD},
    ),
    Sample(
        name="reparam_sigma_as_variance", kind="mistake",
        description="takes sqrt of exp(logvar / 2), treating sigma as the variance",
        answers=reparam("mean + tf.sqrt(tf.exp(0.5 * logvar)) * eps"),
        fails={REP_DIST, REP_GRAD},
    ),
    Sample(
        name="reparam_mu_times_sigma_eps", kind="mistake",
        description="mean * sigma * eps",
        answers=reparam("mean * tf.exp(0.5 * logvar) * eps"),
        fails={REP_DIST, REP_GRAD},
    ),
    Sample(
        name="reparam_mu_plus_sigma_plus_eps", kind="mistake",
        description="mean + sigma + eps",
        answers=reparam("mean + tf.exp(0.5 * logvar) + eps"),
        fails={REP_DIST, REP_GRAD},
    ),
    Sample(
        name="reparam_hardcoded_batch", kind="mistake",
        description="epsilon of shape (32, dim): a hard-coded batch size",
        answers=reparam("mean + tf.exp(0.5 * logvar) * eps", "tf.random.normal(shape=(32, mean.shape[1]))"),
        fails={REP_SHAPE, REP_DIST, REP_GRAD},
    ),
    Sample(
        name="reparam_static_shape", kind="mistake",
        description="epsilon of shape mean.shape: breaks when the batch size is unknown (None)",
        answers=reparam("mean + tf.exp(0.5 * logvar) * eps", "tf.random.normal(shape=mean.shape)"),
        fails={REP_SHAPE},
    ),
    Sample(
        name="reparam_eps_one_row", kind="mistake",
        description="epsilon of shape (dim,): the same noise for every example",
        answers=reparam("mean + tf.exp(0.5 * logvar) * eps", "tf.random.normal(shape=tf.shape(mean)[1:])"),
        fails={REP_SHAPE, REP_DIST},
    ),
    Sample(
        name="reparam_eps_one_column", kind="mistake",
        description="epsilon of shape (batch, 1): the same noise in every latent dimension",
        answers=reparam("mean + tf.exp(0.5 * logvar) * eps", "tf.random.normal(shape=(tf.shape(mean)[0], 1))"),
        fails={REP_SHAPE, REP_DIST},
    ),
    Sample(
        name="reparam_no_noise", kind="mistake",
        description="returns the mean: no noise at all (keeps the shape, so only the noise checks catch it)",
        answers=answer("reparameterize", "return tf.identity(mean)"),
        fails={REP_SHAPE, REP_DIST, REP_GRAD},
    ),
    Sample(
        name="reparam_imports_package", kind="mistake",
        description="calls the package's reparameterize (raises NotImplementedError in the students' build)",
        answers=answer("reparameterize", """
from vaecourse.tf.sampling import reparameterize as package_reparameterize
return package_reparameterize(mean, logvar, seed=seed)
"""),
        fails={REP_SHAPE, REP_DIST, REP_GRAD},
    ),
    Sample(
        name="reparam_tf_random_half_logvar", kind="alternative",
        description="tf.random.normal and tf.exp(logvar / 2)",
        answers=reparam("eps * tf.exp(logvar / 2) + mean"),
    ),
    Sample(
        name="reparam_keras_sqrt_exp", kind="alternative",
        description="keras.random.normal with the seed, and tf.sqrt(tf.exp(logvar))",
        answers=reparam("mean + tf.sqrt(tf.exp(logvar)) * eps", "keras.random.normal(ops.shape(mean), seed=seed)"),
    ),
    Sample(
        name="reparam_backend_random_normal", kind="alternative",
        description="tf.keras.backend.random_normal",
        answers=reparam("mean + tf.exp(0.5 * logvar) * eps", "tf.keras.backend.random_normal(shape=tf.shape(mean))"),
    ),
    # --- 3. Sampling.call ---------------------------------------------------------------------
    Sample(
        name="sampling_missing_half", kind="mistake",
        description="z_mean + exp(z_log_var) * epsilon",
        answers=answer("sampling_call", """
            z_mean, z_log_var = inputs
            epsilon = keras.random.normal(shape=ops.shape(z_mean), seed=self.seed_generator)
            return z_mean + ops.exp(z_log_var) * epsilon
        """),
        fails={"test_sampling_call"},
    ),
    Sample(
        name="sampling_static_shape", kind="mistake",
        description="epsilon of shape z_mean.shape (fails with an unknown batch size)",
        answers=answer("sampling_call", """
            z_mean, z_log_var = inputs
            epsilon = tf.random.normal(shape=z_mean.shape)
            return z_mean + tf.exp(0.5 * z_log_var) * epsilon
        """),
        fails={"test_sampling_call"},
    ),
    Sample(
        name="sampling_keras_example", kind="alternative",
        description="the Keras VAE example's code (batch and dim from ops.shape)",
        answers=answer("sampling_call", """
            z_mean, z_log_var = inputs
            batch = ops.shape(z_mean)[0]
            dim = ops.shape(z_mean)[1]
            epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon
        """),
    ),
    Sample(
        name="sampling_calls_reparameterize", kind="alternative",
        description="calls the reparameterize function of exercise 3.3",
        answers=answer("sampling_call", """
            z_mean, z_log_var = inputs
            return reparameterize(z_mean, z_log_var, seed=self.seed_generator)
        """),
    ),
    # --- 3. compute_loss ----------------------------------------------------------------------
    Sample(
        name="loss_kl_wrong_sign", kind="mistake",
        description="log p(x|z) - log p(z) + log q(z|x): the KL estimate with the wrong sign",
        answers=answer("compute_loss", TUTORIAL_LOSS.format(ret="-tf.reduce_mean(logpx_z - logpz + logqz_x)")),
        fails={"test_compute_loss"},
    ),
    Sample(
        name="loss_pixel_mean", kind="mistake",
        description="averages the cross-entropy over the pixels instead of summing",
        answers=answer("compute_loss", TUTORIAL_LOSS.format(ret="-tf.reduce_mean(logpx_z + logpz - logqz_x)")
                       .replace("-tf.reduce_sum(cross_ent", "-tf.reduce_mean(cross_ent")),
        fails={"test_compute_loss"},
    ),
    Sample(
        name="loss_returns_elbo", kind="mistake",
        description="returns the ELBO instead of its negative",
        answers=answer("compute_loss", TUTORIAL_LOSS.format(ret="tf.reduce_mean(logpx_z + logpz - logqz_x)")),
        fails={"test_compute_loss"},
    ),
    Sample(
        name="loss_tutorial", kind="alternative",
        description="TensorFlow's tutorial code",
        answers=answer("compute_loss", TUTORIAL_LOSS.format(ret="-tf.reduce_mean(logpx_z + logpz - logqz_x)")),
    ),
    Sample(
        name="loss_closed_form_kl", kind="mistake",
        description="the closed-form KL where exercise 3.6 asks for the Monte Carlo estimate (that is exercise 3.8; "
                    "question 3.7 asks about the estimate)",
        answers=answer("compute_loss", KL_LOSS.format(
            kl="-0.5 * tf.reduce_sum(1 + logvar - tf.square(mean) - tf.exp(logvar), axis=1)")),
        fails={"test_compute_loss"},
    ),
    Sample(
        name="loss_calls_kl_reconstruction_loss", kind="mistake",
        description="returns kl_reconstruction_loss(model, x): the closed-form estimator again",
        answers=answer("compute_loss", "return kl_reconstruction_loss(model, x, likelihood)"),
        fails={"test_compute_loss"},
    ),
    Sample(
        name="loss_global_reparameterize", kind="alternative",
        description="draws z with the notebook's reparameterize instead of model.reparameterize, keras.ops",
        answers=answer("compute_loss", """
            mean, logvar = model.encode(x)
            z = reparameterize(mean, logvar)
            logpx_z = reconstruction_log_likelihood(x, model.decode(z), likelihood)
            kl_estimate = log_normal_pdf(z, mean, logvar) - log_normal_pdf(z, 0.0, 0.0)
            return ops.mean(kl_estimate - logpx_z)
        """),
    ),
    Sample(
        name="loss_probabilities", kind="alternative",
        description="decodes probabilities and writes the Bernoulli log-likelihood by hand",
        answers=answer("compute_loss", """
            mean, logvar = model.encode(x)
            z = model.reparameterize(mean, logvar)
            p = model.decode(z, apply_sigmoid=True)
            logpx_z = tf.reduce_sum(x * tf.math.log(p) + (1 - x) * tf.math.log(1 - p), axis=[1, 2, 3])
            kl_mc = log_normal_pdf(z, mean, logvar) - log_normal_pdf(z, 0.0, 0.0)
            return tf.reduce_mean(kl_mc - logpx_z)
        """),
    ),
    # --- 3. kl_reconstruction_loss ------------------------------------------------------------
    Sample(
        name="kl_wrong_sign", kind="mistake",
        description="+0.5 * sum(1 + logvar - mean^2 - exp(logvar)): the KL with the wrong sign",
        answers=answer("kl_reconstruction_loss", KL_LOSS.format(
            kl="0.5 * tf.reduce_sum(1 + logvar - tf.square(mean) - tf.exp(logvar), axis=1)")),
        fails={"test_kl_reconstruction_loss"},
    ),
    Sample(
        name="kl_missing_half", kind="mistake",
        description="forgets the factor 1/2 of the KL",
        answers=answer("kl_reconstruction_loss", KL_LOSS.format(
            kl="-tf.reduce_sum(1 + logvar - tf.square(mean) - tf.exp(logvar), axis=1)")),
        fails={"test_kl_reconstruction_loss"},
    ),
    Sample(
        name="kl_sigma_as_variance", kind="mistake",
        description="uses sigma = exp(logvar / 2) where the variance exp(logvar) belongs",
        answers=answer("kl_reconstruction_loss", KL_LOSS.format(
            kl="-0.5 * tf.reduce_sum(1 + logvar - tf.square(mean) - tf.exp(0.5 * logvar), axis=1)")),
        fails={"test_kl_reconstruction_loss"},
    ),
    Sample(
        name="kl_mean_over_latent", kind="mistake",
        description="averages the KL over the latent dimensions instead of summing",
        answers=answer("kl_reconstruction_loss", KL_LOSS.format(
            kl="-0.5 * tf.reduce_mean(1 + logvar - tf.square(mean) - tf.exp(logvar), axis=1)")),
        fails={"test_kl_reconstruction_loss"},
    ),
    Sample(
        name="kl_monte_carlo", kind="mistake",
        description="a Monte Carlo KL where the exercise asks for the closed form",
        answers=answer("kl_reconstruction_loss", KL_LOSS.format(
            kl="log_normal_pdf(z, mean, logvar) - log_normal_pdf(z, 0.0, 0.0)")),
        fails={"test_kl_reconstruction_loss"},
    ),
    Sample(
        name="kl_imports_package_kl", kind="mistake",
        description="imports the package's kl_to_standard_normal (hidden in the students' build while this "
                    "assignment and kl_theory are open)",
        answers=answer("kl_reconstruction_loss", """
from vaecourse.tf.losses import kl_to_standard_normal
mean, logvar = model.encode(x)
x_logit = model.decode(model.reparameterize(mean, logvar))
return ops.mean(kl_to_standard_normal(mean, logvar) - reconstruction_log_likelihood(x, x_logit, likelihood))
"""),
        fails={"test_kl_reconstruction_loss"},
    ),
    Sample(
        name="kl_keras_ops", kind="alternative",
        description="keras.ops, the package's likelihood helper and a per-example sum",
        answers=answer("kl_reconstruction_loss", """
            mean, logvar = model.encode(x)
            x_logit = model.decode(model.reparameterize(mean, logvar))
            kl = 0.5 * ops.sum(ops.exp(logvar) + mean ** 2 - 1.0 - logvar, axis=-1)
            return ops.mean(kl - reconstruction_log_likelihood(x, x_logit))
        """),
    ),
    # --- 4. generate_and_display_images -------------------------------------------------------
    Sample(
        name="generate_logits", kind="mistake",
        description="shows model.decode(z): logits instead of probabilities",
        answers=answer("generate_and_display_images", """
            mean, logvar = model.encode(test_sample)
            predictions = model.decode(model.reparameterize(mean, logvar)).numpy()
            plots.display(plots.show_images(predictions, nrow=8, title=title))
            return predictions
        """),
        fails={"test_generate_and_display_images"},
    ),
    Sample(
        name="generate_from_prior", kind="mistake",
        description="ignores test_sample and decodes 100 prior samples",
        answers=answer("generate_and_display_images", """
            predictions = model.sample().numpy()
            plots.display(plots.show_images(predictions, nrow=8, title=title))
            return predictions
        """),
        fails={"test_generate_and_display_images"},
    ),
    Sample(
        name="generate_tutorial_subplots", kind="alternative",
        description="the tutorial's subplot loop (plt.subplot per image)",
        answers=answer("generate_and_display_images", """
            mean, logvar = model.encode(test_sample)
            z = model.reparameterize(mean, logvar)
            predictions = model.sample(z)
            fig = plt.figure(figsize=(4, 4))
            for i in range(predictions.shape[0]):
                plt.subplot(4, 4, i + 1)
                plt.imshow(predictions[i, :, :, 0], cmap="gray")
                plt.axis("off")
            plt.show()
            return predictions
        """),
    ),
    Sample(
        name="generate_decode_mean", kind="mistake",
        description="decodes the posterior mean where the exercise asks for one sampled z per image",
        answers=answer("generate_and_display_images", """
            mean, _ = model.encode(test_sample)
            predictions = np.array(model.decode(mean, apply_sigmoid=True))
            plots.display(plots.show_images(predictions, nrow=8, title=title))
            return predictions
        """),
        fails={"test_generate_and_display_images"},
    ),
    Sample(
        name="generate_training_reconstruct", kind="mistake",
        description="the package's training.reconstruct (it decodes the posterior means: a public helper "
                    "that is not this exercise's answer)",
        answers=answer("generate_and_display_images", """
            from vaecourse.tf import training as package_training
            predictions = package_training.reconstruct(model, test_sample)
            plots.display(plots.show_images(predictions, nrow=8, title=title))
            return predictions
        """),
        fails={"test_generate_and_display_images"},
    ),
    Sample(
        name="generate_global_reparameterize", kind="alternative",
        description="samples with the notebook's reparameterize and decodes with apply_sigmoid=True",
        answers=answer("generate_and_display_images", """
            mean, logvar = model.encode(test_sample)
            images = np.asarray(model.decode(reparameterize(mean, logvar), apply_sigmoid=True))
            plots.display(plots.show_images(images, nrow=8, title=title))
            return images
        """),
    ),
    # --- 6. train_step ------------------------------------------------------------------------
    Sample(
        name="train_loss_outside_tape", kind="mistake",
        description="computes the loss before opening the GradientTape (no gradients)",
        answers=answer("train_step", """
            loss = loss_fn(model, x)
            with tf.GradientTape() as tape:
                pass
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return loss
        """),
        fails={"test_train_step"},
    ),
    Sample(
        name="train_gradient_ascent", kind="mistake",
        description="applies the negated gradients (maximizes the loss)",
        answers=answer("train_step", """
            with tf.GradientTape() as tape:
                loss = loss_fn(model, x)
            gradients = tape.gradient(-loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return loss
        """),
        fails={"test_train_step"},
    ),
    Sample(
        name="train_default_closed_form", kind="mistake",
        description="changes the documented default loss_fn=compute_loss to kl_reconstruction_loss",
        answers={"train_step": cell("train_step", """
            with tf.GradientTape() as tape:
                loss = loss_fn(model, x)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return loss
        """).replace("loss_fn=compute_loss):", "loss_fn=kl_reconstruction_loss):")},
        fails={"test_train_step"},
    ),
    Sample(
        name="train_optimizer_apply", kind="alternative",
        description="optimizer.apply(grads, model.trainable_weights) (Keras 3)",
        answers=answer("train_step", """
            with tf.GradientTape() as tape:
                loss = loss_fn(model, x)
            grads = tape.gradient(loss, model.trainable_weights)
            optimizer.apply(grads, model.trainable_weights)
            return loss
        """),
    ),
    # --- 7. get_allClass_encodings ------------------------------------------------------------
    Sample(
        name="encodings_drop_last_batch", kind="mistake",
        description="loops over len(images) // batch_size batches and loses the remainder",
        answers=answer("get_allClass_encodings", """
            out = []
            for i in range(len(images) // batch_size):
                mean, _ = model.encode(images[i * batch_size:(i + 1) * batch_size])
                out.append(mean.numpy())
            return np.concatenate(out)
        """),
        fails={"test_get_allClass_encodings"},
    ),
    Sample(
        name="encodings_sampled", kind="mistake",
        description="returns sampled codes z instead of the posterior means",
        answers=answer("get_allClass_encodings", """
            out = []
            for start in range(0, len(images), batch_size):
                mean, logvar = model.encode(images[start:start + batch_size])
                out.append(model.reparameterize(mean, logvar).numpy())
            return np.concatenate(out)
        """),
        fails={"test_get_allClass_encodings"},
    ),
    Sample(
        name="encodings_evaluate_vae", kind="mistake",
        description="metrics.evaluate_vae(...)['mean'] (hidden in the students' build while the assignment is open)",
        answers=answer("get_allClass_encodings", """
            from vaecourse.tf import metrics
            return metrics.evaluate_vae(model, images, batch_size=batch_size)["mean"]
        """),
        fails={"test_get_allClass_encodings"},
    ),
    Sample(
        name="encodings_tf_data", kind="alternative",
        description="batches with tf.data and concatenates with tf.concat",
        answers=answer("get_allClass_encodings", """
            batches = tf.data.Dataset.from_tensor_slices(images).batch(batch_size)
            return tf.concat([model.encode(b)[0] for b in batches], axis=0).numpy()
        """),
    ),
    # --- 7. plot_latent_space -----------------------------------------------------------------
    Sample(
        name="latent_plot_sampled_z", kind="mistake",
        description="scatters sampled codes z instead of the means",
        answers=answer("plot_latent_space", """
            mean, logvar = model.encode(images)
            z = model.reparameterize(mean, logvar).numpy()
            return plots.plot_latent_scatter(z, labels, class_names=class_names, title=title)
        """),
        fails={"test_plot_latent_space"},
    ),
    Sample(
        name="latent_plot_plt_scatter", kind="alternative",
        description="plt.scatter with c=labels and no return value",
        answers=answer("plot_latent_space", """
            z = get_allClass_encodings(model, images, batch_size)
            plt.figure(figsize=(6, 6))
            plt.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", s=3)
            plt.colorbar()
            plt.xlabel("z[0]")
            plt.ylabel("z[1]")
        """),
    ),
    # --- 8. walk_src_to_dst -------------------------------------------------------------------
    Sample(
        name="walk_pixel_space", kind="mistake",
        description="blends the two images pixel by pixel instead of walking in the latent space",
        answers=answer("walk_src_to_dst", """
            t = np.linspace(0.0, 1.0, n_steps).reshape(-1, 1, 1, 1)
            return (1 - t) * x_src[None] + t * x_dst[None]
        """),
        fails={"test_walk_src_to_dst"},
    ),
    Sample(
        name="walk_endpoint_excluded", kind="mistake",
        description="np.linspace(..., endpoint=False): never reaches the destination",
        answers=answer("walk_src_to_dst", """
            mean, _ = model.encode(np.stack([x_src, x_dst]))
            z_src, z_dst = mean.numpy()
            t = np.linspace(0.0, 1.0, n_steps, endpoint=False)[:, None]
            return model.decode((1 - t) * z_src + t * z_dst, apply_sigmoid=True).numpy()
        """),
        fails={"test_walk_src_to_dst"},
    ),
    Sample(
        name="walk_imports_package", kind="mistake",
        description="calls the package's walk_src_to_dst instead of writing it (graded against the "
                    "students' build of vaecourse, where it raises NotImplementedError; the scan flags it)",
        answers=answer("walk_src_to_dst", """
from vaecourse.tf.latent import walk_src_to_dst as package_walk
return package_walk(model, x_src, x_dst, n_steps=n_steps)
"""),
        fails={"test_walk_src_to_dst"},
    ),
    Sample(
        name="walk_default_five_steps", kind="mistake",
        description="changes the documented default n_steps=10 to 5",
        answers={"walk_src_to_dst": cell("walk_src_to_dst", """
            mean, _ = model.encode(np.stack([x_src, x_dst]))
            z_src, z_dst = np.asarray(mean)
            t = np.linspace(0.0, 1.0, n_steps)[:, None]
            return np.asarray(model.decode((1 - t) * z_src + t * z_dst, apply_sigmoid=True))
        """).replace("n_steps=10):", "n_steps=5):")},
        fails={"test_walk_src_to_dst"},
    ),
    Sample(
        name="walk_loop", kind="alternative",
        description="encodes each image separately and decodes one point at a time",
        answers=answer("walk_src_to_dst", """
            z_src = model.encode(x_src[None])[0]
            z_dst = model.encode(x_dst[None])[0]
            images = []
            for i in range(n_steps):
                t = i / (n_steps - 1)
                images.append(model.decode(z_src + t * (z_dst - z_src), apply_sigmoid=True)[0])
            return tf.stack(images).numpy()
        """),
    ),
]

# --- 9.-11. the exercise sheet's models (functional API) -----------------------------------------
DENSE_ENC = """
x = keras.Input(shape=image_shape)
h = layers.Flatten()(x)
h = layers.Dense(intermediate_dim{hidden_act})(h)
z_mean = layers.Dense(latent_dim{head_act})(h)
z_log_var = layers.Dense(latent_dim{head_act})(h)
return keras.Model(x, [z_mean, z_log_var])
"""

POOL_DEC = """
height, width, channels = image_shape
rows, cols = {rows}, {cols}
z = keras.Input(shape=(latent_dim,))
h = layers.Dense(intermediate_dim, activation="relu")(z)
h = layers.Dense(rows * cols * 8, activation="relu")(h)
h = layers.Reshape((rows, cols, 8))(h)
h = layers.Conv2D(8, 3, activation="relu", padding="same")(h)
h = layers.UpSampling2D(2)(h)
h = layers.Conv2D(16, 3, activation="relu"{padding})(h)
h = layers.UpSampling2D(2)(h)
return keras.Model(z, layers.Conv2D(channels, 3, padding="same"{last_act})(h))
"""

POOL_ENC = """
x = keras.Input(shape=image_shape)
h = layers.Conv2D(16, 3, activation="relu"{padding})(x)
{pool1}h = layers.Conv2D(8, 3, activation="relu"{padding})(h)
{pool2}h = layers.Flatten()(h)
h = layers.Dense(intermediate_dim, activation="relu")(h)
return keras.Model(x, [layers.Dense(latent_dim)(h), layers.Dense(latent_dim)(h)])
"""
POOL = "h = layers.MaxPooling2D(2, padding=\"same\")(h)\n"

SAMPLES += [
    # --- 9.1 build_dense_encoder -----------------------------------------------------------------
    Sample(
        name="dense_encoder_one_output", kind="mistake",
        description="a Sequential encoder with one Dense(2 * latent_dim) output instead of two heads",
        answers=answer("build_dense_encoder", """
            return keras.Sequential([keras.Input(shape=image_shape), layers.Flatten(),
                                     layers.Dense(intermediate_dim, activation="relu"),
                                     layers.Dense(2 * latent_dim)])
        """),
        fails={"test_build_dense_encoder"},
    ),
    Sample(
        name="dense_encoder_relu_heads", kind="mistake",
        description="relu on the heads too (z_mean and z_log_var can never be negative)",
        answers=answer("build_dense_encoder", DENSE_ENC.format(hidden_act=', activation="relu"',
                                                               head_act=', activation="relu"')),
        fails={"test_build_dense_encoder"},
    ),
    Sample(
        name="dense_encoder_linear_hidden", kind="mistake",
        description="no activation on the hidden layer (the encoder is then linear)",
        answers=answer("build_dense_encoder", DENSE_ENC.format(hidden_act="", head_act="")),
        fails={"test_build_dense_encoder"},
    ),
    Sample(
        name="dense_encoder_relu_layer", kind="alternative",
        description="Reshape to a vector, Dense then a separate ReLU layer, unnamed heads",
        answers=answer("build_dense_encoder", """
            inputs = keras.Input(shape=image_shape)
            flat = layers.Reshape((int(np.prod(image_shape)),))(inputs)
            hidden = layers.ReLU()(layers.Dense(intermediate_dim)(flat))
            return keras.Model(inputs=inputs, outputs=[layers.Dense(latent_dim)(hidden),
                                                       layers.Dense(latent_dim)(hidden)])
        """),
    ),
    # --- 9.2 build_dense_decoder -----------------------------------------------------------------
    Sample(
        name="dense_decoder_sigmoid", kind="mistake",
        description="the sheet's sigmoid on the output layer (probabilities, not logits)",
        answers=answer("build_dense_decoder", """
            z = keras.Input(shape=(latent_dim,))
            h = layers.Dense(intermediate_dim, activation="relu")(z)
            h = layers.Dense(int(np.prod(image_shape)), activation="sigmoid")(h)
            return keras.Model(z, layers.Reshape(image_shape)(h))
        """),
        fails={"test_build_dense_decoder"},
    ),
    Sample(
        name="dense_decoder_no_reshape", kind="mistake",
        description="returns flat vectors (batch, 784) instead of images",
        answers=answer("build_dense_decoder", """
            z = keras.Input(shape=(latent_dim,))
            h = layers.Dense(intermediate_dim, activation="relu")(z)
            return keras.Model(z, layers.Dense(int(np.prod(image_shape)))(h))
        """),
        fails={"test_build_dense_decoder"},
    ),
    Sample(
        name="dense_decoder_sequential", kind="alternative",
        description="the same decoder as a keras.Sequential",
        answers=answer("build_dense_decoder", """
            return keras.Sequential([keras.Input(shape=(latent_dim,)),
                                     layers.Dense(intermediate_dim, activation="relu"),
                                     layers.Dense(int(np.prod(image_shape))),
                                     layers.Reshape(image_shape)], name="decoder")
        """),
    ),
    # --- 9.3 build_generator ---------------------------------------------------------------------
    Sample(
        name="generator_logits", kind="mistake",
        description="forgets the sigmoid: the generator outputs logits",
        answers=answer("build_generator", """
            z = keras.Input(shape=decoder.input_shape[1:])
            return keras.Model(z, decoder(z))
        """),
        fails={"test_build_generator"},
    ),
    Sample(
        name="generator_cloned_decoder", kind="mistake",
        description="clones the decoder (new, untrained weights) instead of reusing it",
        answers=answer("build_generator", """
            copy = keras.models.clone_model(decoder)
            z = keras.Input(shape=decoder.input_shape[1:])
            return keras.Model(z, layers.Activation("sigmoid")(copy(z)))
        """),
        fails={"test_build_generator"},
    ),
    Sample(
        name="generator_sequential", kind="alternative",
        description="keras.Sequential([decoder, Activation('sigmoid')])",
        answers=answer("build_generator", """
            return keras.Sequential([decoder, layers.Activation("sigmoid")], name="generator")
        """),
    ),
    Sample(
        name="generator_ops_sigmoid", kind="alternative",
        description="keras.ops.sigmoid on the symbolic output instead of an Activation layer",
        answers=answer("build_generator", """
            z = keras.Input(shape=(decoder.input_shape[-1],))
            return keras.Model(z, ops.sigmoid(decoder(z)))
        """),
    ),
    # --- 10.1 fix_variance -----------------------------------------------------------------------
    Sample(
        name="fixed_variance_ones", kind="mistake",
        description="fixes the log-variance to 1 (variance e) instead of 0",
        answers=answer("fix_variance", """
            z_mean = encoder.outputs[0]
            return keras.Model(encoder.input, [z_mean, ops.ones_like(z_mean)])
        """),
        fails={"test_fix_variance"},
    ),
    Sample(
        name="fixed_variance_new_layers", kind="mistake",
        description="builds new layers on the encoder's input instead of reusing its z_mean",
        answers=answer("fix_variance", """
            z_mean = encoder.outputs[0]
            h = layers.Flatten()(encoder.input)
            new_mean = layers.Dense(z_mean.shape[-1])(h)
            return keras.Model(encoder.input, [new_mean, ops.zeros_like(new_mean)])
        """),
        fails={"test_fix_variance"},
    ),
    Sample(
        name="fixed_variance_times_zero", kind="alternative",
        description="multiplies the z_log_var head by zero (its weights then get zero gradients)",
        answers=answer("fix_variance", """
            z_mean, z_log_var = encoder.outputs
            return keras.Model(encoder.inputs, [z_mean, 0.0 * z_log_var])
        """),
    ),
    Sample(
        name="fixed_variance_lambda", kind="alternative",
        description="a Lambda layer that returns zeros like z_mean",
        answers=answer("fix_variance", """
            z_mean = encoder.outputs[0]
            zeros = layers.Lambda(lambda t: ops.zeros_like(t))(z_mean)
            return keras.Model(encoder.input, [z_mean, zeros])
        """),
    ),
    # --- 11.1 build_pooling_encoder --------------------------------------------------------------
    Sample(
        name="pool_encoder_unpadded", kind="mistake",
        description="convolutions without padding='same' (28 -> 26 -> 13 -> 11 -> 5)",
        answers=answer("build_pooling_encoder", POOL_ENC.format(padding="", pool1=POOL, pool2=POOL)),
        fails={"test_build_pooling_encoder"},
    ),
    Sample(
        name="pool_encoder_no_pooling", kind="mistake",
        description="leaves out the MaxPooling2D layers",
        answers=answer("build_pooling_encoder", POOL_ENC.format(padding=', padding="same"', pool1="",
                                                                pool2="")),
        fails={"test_build_pooling_encoder"},
    ),
    Sample(
        name="pool_encoder_one_head", kind="mistake",
        description="one Dense(2 * latent_dim) output instead of the two heads",
        answers=answer("build_pooling_encoder", """
            x = keras.Input(shape=image_shape)
            h = layers.MaxPooling2D(2)(layers.Conv2D(16, 3, activation="relu", padding="same")(x))
            h = layers.MaxPooling2D(2)(layers.Conv2D(8, 3, activation="relu", padding="same")(h))
            h = layers.Dense(intermediate_dim, activation="relu")(layers.Flatten()(h))
            return keras.Model(x, layers.Dense(2 * latent_dim)(h))
        """),
        fails={"test_build_pooling_encoder"},
    ),
    Sample(
        name="pool_encoder_keras_style", kind="alternative",
        description="the sheet's Keras style: tuple kernel sizes, MaxPooling2D((2, 2)), named heads",
        answers=answer("build_pooling_encoder", """
            inputs = keras.Input(shape=image_shape)
            x = layers.Conv2D(16, (3, 3), activation="relu", padding="same")(inputs)
            x = layers.MaxPooling2D((2, 2))(x)
            x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
            x = layers.MaxPooling2D((2, 2))(x)
            x = layers.Flatten()(x)
            x = layers.Dense(intermediate_dim, activation="relu")(x)
            return keras.Model(inputs, [layers.Dense(latent_dim, name="z_mean")(x),
                                        layers.Dense(latent_dim, name="z_log_var")(x)], name="encoder")
        """),
    ),
    # --- 11.2 build_pooling_decoder --------------------------------------------------------------
    Sample(
        name="pool_decoder_7x7_unpadded", kind="mistake",
        description="starts from 7x7 as the encoder ends, with the unpadded convolution (24x24 output)",
        answers=answer("build_pooling_decoder", POOL_DEC.format(rows="height // 4", cols="width // 4",
                                                                padding="", last_act="")),
        fails={"test_build_pooling_decoder"},
    ),
    Sample(
        name="pool_decoder_sigmoid", kind="mistake",
        description="the sheet's sigmoid on the last convolution (probabilities, not logits)",
        answers=answer("build_pooling_decoder", POOL_DEC.format(
            rows="height // 4 + 1", cols="width // 4 + 1", padding="", last_act=', activation="sigmoid"')),
        fails={"test_build_pooling_decoder"},
    ),
    Sample(
        name="pool_decoder_same_padding", kind="mistake",
        description="pads the second convolution and starts from 7x7, where the exercise keeps the sheet's "
                    "unpadded convolution",
        answers=answer("build_pooling_decoder", POOL_DEC.format(
            rows="height // 4", cols="width // 4", padding=', padding="same"', last_act="")),
        fails={"test_build_pooling_decoder"},
    ),
    Sample(
        name="pool_decoder_sequential", kind="alternative",
        description="the sheet's decoder as a keras.Sequential, rows from the arithmetic (h + 4) // 4",
        answers=answer("build_pooling_decoder", """
            height, width, channels = image_shape
            rows, cols = (height + 4) // 4, (width + 4) // 4
            return keras.Sequential([
                keras.Input(shape=(latent_dim,)),
                layers.Dense(intermediate_dim, activation="relu"),
                layers.Dense(rows * cols * 8, activation="relu"),
                layers.Reshape((rows, cols, 8)),
                layers.Conv2D(8, (3, 3), activation="relu", padding="same"),
                layers.UpSampling2D((2, 2)),
                layers.Conv2D(16, (3, 3), activation="relu"),
                layers.UpSampling2D((2, 2)),
                layers.Conv2D(channels, (3, 3), padding="same"),
            ])
        """),
    ),
]
