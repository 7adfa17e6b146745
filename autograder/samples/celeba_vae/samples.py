"""Sample submissions of the celeba_vae notebook: common mistakes and alternative answers.

Each sample replaces some solution cells (by grade_id) of the release notebook; the others
get the reference code. ``fails`` lists the grade cells that must lose all their points.
Several mistakes are the original assignment's own bugs (issue 5): the decoder's
``OrderedDict`` with a repeated key, ``nn.ReLU(0.2)``. The question samples include the
answers the original's options lead to (it printed no key: for Q1 the only option with A, B
and C is "A, B, C and D", which counts the mis-worded D true; for Q2 it asked TRUE or FALSE
for the whole sentence, "always intractable" included) and the earlier keys of the code review
(one described other code than the original's, issue 14; one had a statement C about the
body of ``reparameterize``, which is hidden from students while the assignment is open,
issue 22). The cheats of issue 22 (an answer that calls the original's ``reparameterize`` or
loss, the package's removed ``kl_divergence`` or the package's own fill-in) lose their points:
grading uses the package students had, where those bodies raise ``NotImplementedError``.
"""

from autograder.proofs.sample import Sample

# grade cells
DEC_SHAPE, DEC_LAYERS = "test_Decoder_shape", "test_Decoder_layers"
REP_SHAPE, REP_STATS, REP_GRAD = (
    "test_reparameterize_shape", "test_reparameterize_statistics", "test_reparameterize_gradients",
)  # fmt: skip
LOSS_REC, LOSS_KL = "test_loss_function_reconstruction", "test_loss_function_kl"
STEP = "test_train_step"
Q1, Q2, Q3, Q4 = "test_answer_q1", "test_answer_q2", "test_answer_q3", "test_answer_q4"
BUGS_MODEL, BUGS_TRAINING = "test_answer_bugs_model", "test_answer_bugs_training"
BUGS_KEY = {"A", "B", "C", "E", "F", "H", "K", "L", "M"}


def bugs(letters: set[str]) -> dict[str, str]:
    return {"answer_bugs": f"ANSWER_BUGS = {sorted(letters)!r}\n"}


def decoder(body: str, prelude: str = "") -> str:
    """A full Decoder cell whose ``__init__`` ends with ``body`` (8-space indented)."""
    lines = "\n".join("        " + line if line else "" for line in body.strip("\n").splitlines())
    return (
        prelude
        + "class Decoder(nn.Module):\n"
        + "    def __init__(self, latent_dim: int = 512, base_filters: int = 64) -> None:\n"
        + "        super().__init__()\n"
        + lines + "\n\n"
        + "    def forward(self, z: torch.Tensor) -> torch.Tensor:\n"
        + "        return self.layers(z)\n"
    )


def layers(act1: str = "nn.LeakyReLU(0.2)", act2: str = "nn.LeakyReLU(0.2)", out: str = "nn.Tanh()",
           norm: bool = True, conv: str = "4, stride=2, padding=1", bias: str = "") -> str:
    """The reference Sequential with its pieces swapped."""
    bn1 = "    nn.BatchNorm2d(2 * b),\n" if norm else ""
    bn2 = "    nn.BatchNorm2d(b),\n" if norm else ""
    return (
        "b = base_filters\n"
        "self.layers = nn.Sequential(\n"
        "    nn.Linear(latent_dim, 4 * b * 8 * 8),\n"
        "    nn.Unflatten(1, (4 * b, 8, 8)),\n"
        f"    nn.ConvTranspose2d(4 * b, 2 * b, {conv}{bias}),\n{bn1}"
        f"    {act1},\n"
        f"    nn.ConvTranspose2d(2 * b, b, {conv}{bias}),\n{bn2}"
        f"    {act2},\n"
        f"    nn.ConvTranspose2d(b, 3, {conv}),\n"
        f"    {out},\n"
        ")\n"
    )


ORIGINAL_DECODER = """
b = base_filters
self.layers = nn.Sequential(OrderedDict([
    ('d1', nn.Linear(latent_dim, 4 * b * 8 * 8)),
    ('unflatten', nn.Unflatten(1, (4 * b, 8, 8))),
    ('deconv1', nn.ConvTranspose2d(4 * b, 2 * b, 4, 2, 1)),
    ('bn1', nn.BatchNorm2d(2 * b)),
    ('leakyrelu1', nn.LeakyReLU(0.2)),
    ('deconv2', nn.ConvTranspose2d(2 * b, b, 4, 2, 1)),
    ('bn2', nn.BatchNorm2d(b)),
    ('leakyrelu1', nn.LeakyReLU(0.2)),
    ('deconv3', nn.ConvTranspose2d(b, 3, 4, 2, 1)),
    ('tanh', nn.Tanh()),
]))
"""

ORDERED_DECODER = ORIGINAL_DECODER.replace("('leakyrelu1', nn.LeakyReLU(0.2)),\n    ('deconv3'",
                                           "('leakyrelu2', nn.LeakyReLU(0.2)),\n    ('deconv3'")

VIEW_DECODER = """
b = base_filters
self.layers = nn.Sequential(
    nn.Linear(latent_dim, 4 * b * 8 * 8),
    View(-1, 4 * b, 8, 8),
    nn.ConvTranspose2d(4 * b, 2 * b, kernel_size=4, stride=2, padding=1, bias=False),
    nn.BatchNorm2d(2 * b),
    nn.LeakyReLU(negative_slope=0.2, inplace=True),
    nn.ConvTranspose2d(2 * b, b, kernel_size=4, stride=2, padding=1, bias=False),
    nn.BatchNorm2d(b),
    nn.LeakyReLU(negative_slope=0.2, inplace=True),
    nn.ConvTranspose2d(b, 3, kernel_size=4, stride=2, padding=1),
    nn.Tanh(),
)
"""

VIEW_CLASS = """class View(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.view(*self.shape)


"""


def reparameterize(body: str) -> str:
    lines = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return "def reparameterize(mu, logvar):\n" + lines + "\n"


def loss_function(body: str) -> str:
    lines = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return "def loss_function(recon_x, x, mu, logvar, kl_weight=1.0):\n" + lines + "\n"


def train_step(body: str) -> str:
    lines = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return "def train_step(model, x, optimizer, loss_fn):\n" + lines + "\n"


MSE_SUM = 'mse = F.mse_loss(recon_x, x, reduction="sum")\n'
KL_SUM = "kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n"

SAMPLES = [
    # --- Decoder ----------------------------------------------------------------------
    Sample("decoder_original_duplicate_key", "mistake",
           "the original's OrderedDict repeats the key 'leakyrelu1': one activation disappears",
           {"Decoder": decoder(ORIGINAL_DECODER, "from collections import OrderedDict\n\n")},
           {DEC_LAYERS}),
    Sample("decoder_relu_with_slope", "mistake",
           "nn.ReLU(0.2) (0.2 is `inplace`, not a slope) instead of nn.LeakyReLU(0.2)",
           {"Decoder": decoder(layers(act1="nn.ReLU(0.2)", act2="nn.ReLU(0.2)"))}, {DEC_LAYERS}),
    Sample("decoder_default_slope", "mistake", "nn.LeakyReLU() with the default slope 0.01",
           {"Decoder": decoder(layers(act1="nn.LeakyReLU()", act2="nn.LeakyReLU()"))}, {DEC_LAYERS}),
    Sample("decoder_no_tanh", "mistake", "no output activation: values leave [-1, 1]",
           {"Decoder": decoder(layers(out="nn.Identity()"))}, {DEC_SHAPE, DEC_LAYERS}),
    Sample("decoder_sigmoid", "mistake", "sigmoid output (in [0, 1]) for images normalized to [-1, 1]",
           {"Decoder": decoder(layers(out="nn.Sigmoid()"))}, {DEC_LAYERS}),
    Sample("decoder_no_batchnorm", "mistake", "leaves out the BatchNorm layers",
           {"Decoder": decoder(layers(norm=False))}, {DEC_LAYERS}),
    Sample("decoder_kernel_3", "mistake",
           "3x3 transposed convolutions (output_padding=1 keeps the shapes right)",
           {"Decoder": decoder(layers(conv="3, stride=2, padding=1, output_padding=1"))}, {DEC_LAYERS}),
    Sample("decoder_default_latent_128", "mistake", "a default latent_dim of 128 instead of 512",
           {"Decoder": decoder(layers()).replace("latent_dim: int = 512", "latent_dim: int = 128")}, {DEC_SHAPE}),
    Sample("decoder_ordered_dict", "alternative", "an OrderedDict with distinct keys",
           {"Decoder": decoder(ORDERED_DECODER, "from collections import OrderedDict\n\n")}),
    Sample("decoder_view_no_bias_inplace", "alternative",
           "a View module, bias=False before BatchNorm, in-place LeakyReLU, keyword arguments",
           {"Decoder": decoder(VIEW_DECODER, VIEW_CLASS)}),
    # --- reparameterize ---------------------------------------------------------------
    Sample("sigma_as_variance", "mistake", "uses exp(logvar) as the standard deviation",
           {"reparameterize": reparameterize("return mu + torch.randn_like(mu) * torch.exp(logvar)")},
           {REP_STATS, REP_GRAD}),
    Sample("logvar_as_std", "mistake", "uses logvar itself as the standard deviation (no noise at logvar = 0)",
           {"reparameterize": reparameterize("return mu + torch.randn_like(mu) * logvar")},
           {REP_SHAPE, REP_STATS, REP_GRAD}),
    Sample("no_noise", "mistake", "returns the mean (no sampling)",
           {"reparameterize": reparameterize("return mu")}, {REP_SHAPE, REP_STATS, REP_GRAD}),
    Sample("uniform_noise", "mistake", "uniform noise torch.rand_like instead of a standard normal",
           {"reparameterize": reparameterize("return mu + torch.rand_like(mu) * torch.exp(0.5 * logvar)")},
           {REP_STATS}),
    Sample("noise_shared_across_batch", "mistake", "one noise vector for the whole batch",
           {"reparameterize": reparameterize(
               "eps = torch.randn(mu.shape[1], dtype=mu.dtype)\nreturn mu + eps * torch.exp(0.5 * logvar)")},
           {REP_STATS}),
    Sample("torch_normal", "mistake", "torch.normal(mu, std): a sample without gradients",
           {"reparameterize": reparameterize("return torch.normal(mu, torch.exp(0.5 * logvar))")},
           {REP_GRAD}),
    Sample("detached_std", "mistake", "detaches the standard deviation: no gradient to logvar",
           {"reparameterize": reparameterize(
               "std = torch.exp(0.5 * logvar).detach()\nreturn mu + torch.randn_like(std) * std")},
           {REP_GRAD}),
    Sample("reparameterize_calls_original", "mistake",
           "calls the original's OriginalVAE.reparameterize (hidden from students: NotImplementedError)",
           {"reparameterize": reparameterize("return original.OriginalVAE.reparameterize(None, mu, logvar)")},
           {REP_SHAPE, REP_STATS, REP_GRAD}),
    Sample("reparameterize_imports_package", "mistake",
           "imports the package's reparameterize (stripped from the students' build)",
           {"reparameterize": reparameterize(
               "from vaecourse.torch.models import reparameterize as package_version\n"
               "return package_version(mu, logvar)")},
           {REP_SHAPE, REP_STATS, REP_GRAD}),
    Sample("distributions_rsample", "alternative", "torch.distributions.Normal(...).rsample()",
           {"reparameterize": reparameterize(
               "return torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).rsample()")}),
    Sample("old_style_in_place", "alternative", "the original's in-place style with std.data.new()",
           {"reparameterize": reparameterize(
               "std = logvar.mul(0.5).exp_()\neps = std.data.new(std.size()).normal_()\n"
               "return eps.mul(std).add_(mu)")}),
    Sample("sqrt_of_variance", "alternative", "sigma = sqrt(exp(logvar)), noise from torch.randn(shape)",
           {"reparameterize": reparameterize(
               "sigma = torch.sqrt(torch.exp(logvar))\nreturn mu + sigma * torch.randn(mu.shape, dtype=mu.dtype)")}),
    # --- loss_function ----------------------------------------------------------------
    Sample("mse_mean", "mistake", "F.mse_loss with its default mean reduction",
           {"loss_function": loss_function("mse = F.mse_loss(recon_x, x)\n" + KL_SUM
                                           + "return mse + kl_weight * kl")}, {LOSS_REC}),
    Sample("kl_sign", "mistake", "+0.5 instead of -0.5 in the KL term",
           {"loss_function": loss_function(
               MSE_SUM + "kl = 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n"
               "return mse + kl_weight * kl")}, {LOSS_KL}),
    Sample("kl_weight_ignored", "mistake", "ignores kl_weight",
           {"loss_function": loss_function(MSE_SUM + KL_SUM + "return mse + kl")}, {LOSS_KL}),
    Sample("kl_weight_on_mse", "mistake", "weights the reconstruction term instead of the KL",
           {"loss_function": loss_function(MSE_SUM + KL_SUM + "return kl_weight * mse + kl")},
           {LOSS_REC, LOSS_KL}),
    Sample("kl_mean", "mistake", "averages the KL over entries instead of summing",
           {"loss_function": loss_function(
               MSE_SUM + "kl = -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())\n"
               "return mse + kl_weight * kl")}, {LOSS_KL}),
    Sample("kl_sigma_squared", "mistake", "exp(logvar)**2 as the variance in the KL",
           {"loss_function": loss_function(
               MSE_SUM + "kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp() ** 2)\n"
               "return mse + kl_weight * kl")}, {LOSS_KL}),
    Sample("divided_by_batch", "mistake", "divides the loss by the batch size",
           {"loss_function": loss_function(MSE_SUM + KL_SUM + "return (mse + kl_weight * kl) / x.shape[0]")},
           {LOSS_REC, LOSS_KL}),
    Sample("kl_weight_default_half", "mistake", "a default kl_weight of 0.5 instead of 1",
           {"loss_function": loss_function(MSE_SUM + KL_SUM + "return mse + kl_weight * kl").replace(
               "kl_weight=1.0", "kl_weight=0.5")}, {LOSS_KL}),
    Sample("loss_calls_original", "mistake",
           "builds the loss from the original's loss_function (hidden from students: NotImplementedError)",
           {"loss_function": loss_function(
               "zeros = torch.zeros_like(mu)\n"
               "reconstruction = original.loss_function(recon_x, x, zeros, zeros)\n"
               "kl = original.loss_function(x, x, mu, logvar)\n"
               "return reconstruction + kl_weight * kl")}, {LOSS_REC, LOSS_KL}),
    Sample("loss_uses_package_kl", "mistake",
           "imports vaecourse.torch.losses.kl_divergence (removed from the package)",
           {"loss_function": loss_function(
               "from vaecourse.torch.losses import kl_divergence\n"
               "return F.mse_loss(recon_x, x, reduction='sum') + kl_weight * kl_divergence(mu, logvar).sum()")},
           {LOSS_REC, LOSS_KL}),
    Sample("loss_imports_package", "mistake",
           "imports the package's loss_function (stripped from the students' build)",
           {"loss_function": loss_function(
               "from vaecourse.torch.losses import loss_function as package_version\n"
               "return package_version(recon_x, x, mu, logvar, kl_weight)")}, {LOSS_REC, LOSS_KL}),
    Sample("manual_sums", "alternative", "both terms written out with .sum()",
           {"loss_function": loss_function(
               "return ((recon_x - x) ** 2).sum() + kl_weight * (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum())")}),
    Sample("distributions_kl", "alternative", "nn.MSELoss(reduction='sum') and torch.distributions.kl_divergence",
           {"loss_function": loss_function(
               "q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))\n"
               "p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))\n"
               "kl = torch.distributions.kl_divergence(q, p).sum()\n"
               "return nn.MSELoss(reduction='sum')(recon_x, x) + kl_weight * kl")}),
    Sample("original_in_place_kl", "alternative", "the original's in-place KL chain",
           {"loss_function": loss_function(
               MSE_SUM + "KLD_element = mu.pow(2).add_(logvar.exp()).mul_(-1).add_(1).add_(logvar)\n"
               "return mse + kl_weight * torch.sum(KLD_element).mul_(-0.5)")}),
    # --- train_step -------------------------------------------------------------------
    Sample("no_zero_grad", "mistake", "never clears the gradients: they accumulate over steps",
           {"train_step": train_step(
               "recon, mu, logvar = model(x)\nloss = loss_fn(recon, x, mu, logvar)\nloss.backward()\n"
               "optimizer.step()\nreturn loss")}, {STEP}),
    Sample("zero_grad_before_step", "mistake", "clears the gradients between backward() and step()",
           {"train_step": train_step(
               "recon, mu, logvar = model(x)\nloss = loss_fn(recon, x, mu, logvar)\nloss.backward()\n"
               "optimizer.zero_grad()\noptimizer.step()\nreturn loss")}, {STEP}),
    Sample("step_before_backward", "mistake", "calls optimizer.step() before loss.backward()",
           {"train_step": train_step(
               "optimizer.zero_grad()\nrecon, mu, logvar = model(x)\nloss = loss_fn(recon, x, mu, logvar)\n"
               "optimizer.step()\nloss.backward()\nreturn loss")}, {STEP}),
    Sample("no_optimizer_step", "mistake", "forgets optimizer.step()",
           {"train_step": train_step(
               "optimizer.zero_grad()\nrecon, mu, logvar = model(x)\nloss = loss_fn(recon, x, mu, logvar)\n"
               "loss.backward()\nreturn loss")}, {STEP}),
    Sample("loss_after_update", "mistake", "returns the loss recomputed after the update",
           {"train_step": train_step(
               "optimizer.zero_grad()\nrecon, mu, logvar = model(x)\nloss_fn(recon, x, mu, logvar).backward()\n"
               "optimizer.step()\nrecon, mu, logvar = model(x)\nreturn loss_fn(recon, x, mu, logvar)")}, {STEP}),
    Sample("train_step_imports_package", "mistake",
           "imports the package's train_step (stripped from the students' build)",
           {"train_step": train_step(
               "from vaecourse.torch.training import train_step as package_version\n"
               "return package_version(model, x, optimizer, loss_fn)")}, {STEP}),
    Sample("zero_grad_at_the_end", "alternative", "clears the gradients after the step; returns a float",
           {"train_step": train_step(
               "recon, mu, logvar = model(x)\nloss = loss_fn(recon, x, mu, logvar)\nloss.backward()\n"
               "optimizer.step()\noptimizer.zero_grad()\nreturn loss.item()")}),
    Sample("model_zero_grad", "alternative", "model.zero_grad(set_to_none=False), returns the loss tensor",
           {"train_step": train_step(
               "model.zero_grad(set_to_none=False)\noutputs = model(x)\nloss = loss_fn(outputs[0], x, *outputs[1:])\n"
               "loss.backward()\noptimizer.step()\nreturn loss")}),
    # --- questions ---------------------------------------------------------------------
    Sample("q1_original_option", "mistake",
           "the original's only option with A, B and C ('A, B, C and D'): D (code against output) counted true",
           {"answer_q1": 'ANSWER_Q1 = {"A", "B", "C", "D"}\n'}, {Q1}),
    Sample("q1_misses_the_bottleneck", "mistake", "misses statement C",
           {"answer_q1": 'ANSWER_Q1 = {"A", "B"}\n'}, {Q1}),
    Sample("q1_misses_the_decoder", "mistake", "misses statement B", {"answer_q1": 'ANSWER_Q1 = {"A", "C"}\n'}, {Q1}),
    Sample("q1_string_list", "alternative", "a lower-case string", {"answer_q1": 'ANSWER_Q1 = "c, b, a"\n'}),
    Sample("q1_list", "alternative", "a list", {"answer_q1": 'ANSWER_Q1 = ["C", "A", "B"]\n'}),
    Sample("q2_original_true", "mistake", "the original's sentence answered TRUE: 'always intractable' too",
           {"answer_q2": 'ANSWER_Q2 = {"A", "B"}\n'}, {Q2}),
    Sample("q2_only_b", "mistake", "picks the wrong claim", {"answer_q2": 'ANSWER_Q2 = "B"\n'}, {Q2}),
    Sample("q2_string", "alternative", "a lower-case string", {"answer_q2": 'ANSWER_Q2 = "a"\n'}),
    Sample("q3_lossless", "mistake", "believes a powerful decoder undoes any reduction",
           {"answer_q3": 'ANSWER_Q3 = {"A", "B", "C"}\n'}, {Q3}),
    Sample("q3_selection", "mistake", "calls the convolutional encoder feature selection",
           {"answer_q3": 'ANSWER_Q3 = {"A", "B", "D"}\n'}, {Q3}),
    Sample("q3_string", "alternative", "a string with spaces", {"answer_q3": 'ANSWER_Q3 = "b a"\n'}),
    Sample("q4_linear_beats_pca", "mistake", "believes a linear autoencoder beats PCA",
           {"answer_q4": 'ANSWER_Q4 = {"A", "B", "C", "D"}\n'}, {Q4}),
    Sample("q4_labels", "mistake", "misses that autoencoders need no labels",
           {"answer_q4": 'ANSWER_Q4 = {"A", "B"}\n'}, {Q4}),
    Sample("q4_tuple", "alternative", "a tuple", {"answer_q4": 'ANSWER_Q4 = ("D", "B", "A")\n'}),
    Sample("bugs_decode_fails", "mistake", "believes decode fails for a batch of one (the previous key's E)",
           bugs(BUGS_KEY | {"D"}), {BUGS_MODEL}),
    Sample("bugs_misses_batch_of_one", "mistake", "misses that squeeze() drops the batch axis of a batch of one",
           bugs(BUGS_KEY - {"E"}), {BUGS_MODEL}),
    Sample("bugs_misses_eval_sampling", "mistake",
           "misses that forward samples z in eval mode too (also the key of the version whose C was about "
           "reparameterize's hidden body)", bugs(BUGS_KEY - {"C"}), {BUGS_MODEL}),
    Sample("bugs_mu_nonnegative", "mistake", "believes the ReLU before fc1 makes mu non-negative",
           bugs(BUGS_KEY | {"G"}), {BUGS_MODEL}),
    Sample("bugs_summed_error", "mistake", "believes summing the squared error is a bug",
           bugs(BUGS_KEY | {"I"}), {BUGS_TRAINING}),
    Sample("bugs_misses_cuda", "mistake", "misses the hard-coded .cuda()", bugs(BUGS_KEY - {"H"}), {BUGS_TRAINING}),
    Sample("bugs_misses_training_images", "mistake", "misses that the original evaluates on training images",
           bugs(BUGS_KEY - {"M"}), {BUGS_TRAINING}),
    Sample("bugs_never_eval", "mistake", "believes reconstruct runs in training mode",
           bugs(BUGS_KEY | {"N"}), {BUGS_TRAINING}),
    Sample("bugs_previous_key", "mistake", "the previous version's key (it reviewed other code)",
           bugs({"A", "B", "D", "E", "G", "H"}), {BUGS_MODEL, BUGS_TRAINING}),
    Sample("bugs_everything", "mistake", "marks every statement",
           {"answer_bugs": 'ANSWER_BUGS = set("ABCDEFGHIJKLMN")\n'}, {BUGS_MODEL, BUGS_TRAINING}),
    Sample("bugs_string", "alternative", "a string with spaces",
           {"answer_bugs": 'ANSWER_BUGS = "m l k h f e c b a"\n'}),
]
