"""The code review of ``celeba_vae``: every statement's truth, checked on the original's code.

Part 7 of the notebook asks which of the statements A to N about ``vaecourse.torch.original``
are true (``ANSWER_BUGS``). Students decide from the printed source alone; the evidence (what
the code does when it runs) reaches them in the feedback, after grading. This module runs that
evidence against the real module and compares the truths it finds with the key in the source
notebook (the reference answer and the letters its hidden tests assert), so that a change to
``original.py`` or to the key cannot leave them apart. It also checks that the package students
install prints the original's answer bodies as stubs.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from torch import nn
from vaecourse.torch import original

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "solutions" / "celeba_vae" / "celeba_vae.ipynb"
RELEASE = ROOT / "notebooks" / "celeba_vae" / "celeba_vae.ipynb"
MODEL, TRAINING = "ABCDEFG", "HIJKLMN"


def _probe(seed: int = 0) -> original.OriginalVAE:
    torch.manual_seed(seed)
    return original.OriginalVAE(filters=4, latent=8)


def _faces(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, 64, 64, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def statement_a() -> bool:
    """The decoder's OrderedDict repeats "leakyrelu1": one activation fewer than listed."""
    listed = inspect.getsource(original.OriginalVAE.__init__).count('("leakyrelu1", nn.LeakyReLU(0.2))')
    layers = list(_probe().decode_layer.named_children())
    kept = sum(isinstance(m, nn.LeakyReLU) for _, m in layers)
    names = [name for name, _ in layers]
    no_activation_after_second_norm = names[names.index("deconv2_bn") + 1] == "deconv3"
    return listed == 2 and kept == 1 and no_activation_after_second_norm


def statement_b() -> bool:
    """nn.ReLU(0.2) is ReLU(inplace=0.2): plain ReLUs in the encoder."""
    activations = [m for m in _probe().encode_layer if not isinstance(m, nn.Conv2d | nn.BatchNorm2d)]
    plain = all(type(m) is nn.ReLU and m.inplace for m in activations) and len(activations) == 3
    values = nn.ReLU(0.2)(torch.tensor([-1.0, 2.0])).tolist()
    return plain and values == [0.0, 2.0]


def statement_c() -> bool:
    """forward samples z in eval mode too: reconstruct decodes a random code, not the mean."""
    probe = _probe().eval()
    x = _faces(2)
    with torch.no_grad():
        first, mu, _ = probe(x)
        second, _, _ = probe(x)
        from_mean = probe.decode(mu.view(-1, probe.z_size, 1, 1))
    return not torch.equal(first, second) and not torch.allclose(first, from_mean)


def statement_d() -> bool:
    """decode fails for a batch of one after mu.squeeze() (it does not)."""
    probe = _probe().eval()
    try:
        with torch.no_grad():
            recon, _, _ = probe(_faces(1))
    except (RuntimeError, IndexError):
        return True
    return tuple(recon.shape) != (1, 3, 64, 64)


def statement_e() -> bool:
    """For a batch of one, forward returns 1-D mu and log_var: code that uses dim 1 fails."""
    probe = _probe().eval()
    x = _faces(1)
    with torch.no_grad():
        recon, mu, log_var = probe(x)
    vectors = tuple(mu.shape) == tuple(log_var.shape) == (probe.z_size,)
    with pytest.raises(IndexError, match="Dimension out of range"):
        mu.sum(dim=1)
    with pytest.raises(IndexError, match="Dimension out of range"):  # the original's own loss, too
        original.loss_function(recon, x, mu, log_var)
    return vectors


def statement_f() -> bool:
    """The docstrings call the second output sigma, a standard deviation; it is a log-variance."""
    docs = [" ".join(f.__doc__.split()) for f in (original.OriginalVAE.encode,
                                                   original.OriginalVAE.reparameterize, original.loss_function)]
    called_sigma = all("sigma" in d and "standard deviation" in d for d in docs)
    named_log_var = all("log_var" in inspect.signature(f).parameters or "logvar" in inspect.signature(f).parameters
                        for f in (original.OriginalVAE.reparameterize, original.loss_function))
    # what the code does with it: samples with standard deviation exp(log_var / 2) ...
    torch.manual_seed(0)
    z = _probe().reparameterize(torch.zeros(40_000, 1), torch.full((40_000, 1), math.log(4.0)))
    log_variance_in_sampling = abs(z.std().item() - 2.0) < 0.03
    # ... and a KL term that is the closed form for a log-variance
    mu, lv = torch.tensor([[0.3, -1.0]], dtype=torch.float64), torch.tensor([[0.5, -0.2]], dtype=torch.float64)
    x = torch.zeros(2, 1, 2, 2, dtype=torch.float64)
    mu2, lv2 = mu.repeat(2, 1), lv.repeat(2, 1)
    kl = original.loss_function(x, x, mu2, lv2).item()
    expected = 2 * -0.5 * (1 + lv - mu**2 - lv.exp()).sum().item()
    return called_sigma and named_log_var and log_variance_in_sampling and kl == pytest.approx(expected)


def statement_g() -> bool:
    """The ReLU that ends the encoder's last block keeps mu non-negative (false: fc1 is affine)."""
    probe = _probe().eval()
    last_name, last = list(probe.encode_layer.named_children())[-1]
    ends_in_relu = last_name == "relu3" and type(last) is nn.ReLU
    with torch.no_grad():
        features = probe.encode_layer(_faces(4)).flatten(1)
        mu, log_var = probe.encode(_faces(4))
    return ends_in_relu and bool((features >= 0).all()) and not bool((mu < 0).any())


def statement_h() -> bool:
    """set_up picks a device but calls .cuda(): it fails without a GPU."""
    source = inspect.getsource(original.set_up)
    picks_a_device = 'torch.device("cpu")' in source and ".cuda()" in source
    if torch.cuda.is_available():  # a GPU here: the claim is about machines without one
        return picks_a_device
    with pytest.raises((AssertionError, RuntimeError)):
        original.set_up(4, 8)
    return picks_a_device


def statement_i() -> bool:
    """Summing the squared error (not averaging) is a bug that makes the KL negligible (false:
    both terms are summed, and the summed error is the Gaussian NLL for sigma^2 = 1/2)."""
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.uniform(-1, 1, size=(3, 3, 4, 4)))
    mu, lv = torch.tensor(rng.normal(size=(3, 5))), torch.tensor(rng.normal(size=(3, 5)))
    kl = original.loss_function(x, x, mu, lv)
    differences = []
    for seed in (1, 2):
        recon = torch.tensor(np.random.default_rng(seed).uniform(-1, 1, size=x.shape))
        loss = original.loss_function(recon, x, mu, lv)
        nll = (-torch.distributions.Normal(recon, math.sqrt(0.5)).log_prob(x)).sum()
        differences.append((loss - (nll + kl)).item())
    summed_error = (original.loss_function(x + 0.5, x, mu, lv) - kl).item() == pytest.approx(0.25 * x.numel())
    minus_elbo_for_half = differences[0] == pytest.approx(differences[1])  # equal up to a constant
    return not (summed_error and minus_elbo_for_half)


class _TinyVAE(nn.Module):
    """A small fully connected VAE with the original's interface: (recon, mu, log_var) = model(x)."""

    def __init__(self, pixels: int = 16, latent: int = 2) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(pixels, 32), nn.LeakyReLU(0.2))
        self.fc1, self.fc2 = nn.Linear(32, latent), nn.Linear(32, latent)
        self.decoder = nn.Sequential(nn.Linear(latent, 32), nn.LeakyReLU(0.2), nn.Linear(32, pixels), nn.Tanh())

    def forward(self, x):
        h = self.encoder(x)
        mu, log_var = self.fc1(h), self.fc2(h)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return self.decoder(z), mu, log_var


def statement_j() -> bool:
    """Adam with betas (0.5, 0.999) cannot train a VAE (false: with the original's optimizer
    settings and its loss, a small VAE's loss falls by half in a few hundred steps)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: one thread is 30-100x faster on a loaded machine
    try:
        return _trains_with_the_originals_adam() is False
    finally:
        torch.set_num_threads(threads)


def _trains_with_the_originals_adam(steps: int = 300) -> bool:
    torch.manual_seed(0)
    codes = torch.randn(64, 2)
    x = torch.tanh(codes @ torch.randn(2, 16))  # data on a 2-dimensional set
    model = _TinyVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.5, 0.999), weight_decay=1e-5)
    values = []
    for _ in range(steps):
        optimizer.zero_grad()
        recon, mu, log_var = model(x)
        loss = original.loss_function(recon, x, mu, log_var)
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    return bool(np.mean(values[-20:]) < 0.5 * np.mean(values[:20]))


def statement_k() -> bool:
    """Variable is obsolete: Variable(t) is just a tensor."""
    t = torch.zeros(2)
    v = torch.autograd.Variable(t)
    return type(v) is torch.Tensor and not v.requires_grad and "Variable(data[0])" in inspect.getsource(original.train)


def statement_l() -> bool:
    """to_image clamps to [0, 1]: every negative value becomes 0 (black)."""
    ramp = torch.linspace(-1, 1, 9)
    shown = original.to_image(ramp)
    return bool((shown[ramp < 0] == 0).all()) and shown[ramp > 0].min().item() > 0


def statement_m() -> bool:
    """reconstruct shows images the model was trained on: the original has one loader."""
    tagged = torch.utils.data.TensorDataset(
        torch.arange(20.0).div(100).view(20, 1, 1, 1).expand(20, 3, 64, 64), torch.zeros(20))
    loader = original.make_loader(tagged, batch_size=8)
    shown, _ = original.reconstruct(_probe(), loader, torch.device("cpu"))
    indices = (shown[:, 0, 0, 0] * 100).round().long().numpy()
    shown_are_trained_on = len(indices) == 8 and bool(np.isin(indices, np.arange(20)).all())
    # the original's only loader: train and reconstruct both take it
    same_loader = [list(inspect.signature(f).parameters)[1] for f in (original.train, original.reconstruct)]
    return shown_are_trained_on and same_loader == ["train_loader", "train_loader"]


def statement_n() -> bool:
    """reconstruct runs the model in training mode (false: it calls eval())."""
    probe = _probe().train()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(_faces(4), torch.zeros(4)), batch_size=4)
    original.reconstruct(probe, loader, torch.device("cpu"))
    return probe.training


STATEMENTS = {name[-1].upper(): f for name, f in globals().copy().items() if name.startswith("statement_")}


def _cells() -> dict[str, str]:
    nb = nbformat.read(SOURCE, as_version=4)
    return {c.metadata.get("nbgrader", {}).get("grade_id", ""): c.source for c in nb.cells}


def reference_key() -> set[str]:
    """ANSWER_BUGS in the source notebook's reference answer."""
    source = _cells()["answer_bugs"]
    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.startswith("###")))
    (assign,) = [n for n in tree.body if isinstance(n, ast.Assign)]
    return set(ast.literal_eval(assign.value))


def asserted_parts() -> str:
    """The letters the two hidden tests assert, joined."""
    cells = _cells()
    found = [re.search(r'checks\.assert_equal\(\w+, "([A-N]*)"', cells[g]) for g in
             ("test_answer_bugs_model", "test_answer_bugs_training")]
    assert all(found), "the hidden tests should assert the key with checks.assert_equal"
    return "".join(m.group(1) for m in found)


def test_there_are_fourteen_statements() -> None:
    assert sorted(STATEMENTS) == list(MODEL + TRAINING)


@pytest.mark.parametrize("letter", list(MODEL + TRAINING))
def test_the_key_agrees_with_the_code(letter: str) -> None:
    truth = STATEMENTS[letter]()
    assert truth == (letter in reference_key()), f"statement {letter} is {truth}, the key says otherwise"
    assert truth == (letter in asserted_parts()), f"statement {letter} is {truth}, a hidden test says otherwise"


def test_the_hidden_tests_split_the_key_by_part() -> None:
    key = reference_key()
    assert asserted_parts() == "".join(sorted(key & set(MODEL))) + "".join(sorted(key & set(TRAINING)))


def test_the_students_build_prints_stubs_for_the_answers() -> None:
    """What ``print(inspect.getsource(original))`` shows while celeba_vae is open."""
    from autograder.pipeline.student_build import strip_fill_ins

    text = (ROOT / "helpers" / "src" / "vaecourse" / "torch" / "original.py").read_text()
    stripped, names = strip_fill_ins(text)
    assert sorted(names) == ["celeba_vae/loss_function", "celeba_vae/reparameterize", "celeba_vae/train_step"]
    for answer in ("torch.exp(0.5 * log_var)", "randn_like", "F.mse_loss", "logvar.exp()", "loss.backward()",
                   "optimizer.step()", "optimizer.zero_grad()"):
        assert answer in text and answer not in stripped, answer
    for kept in ('("leakyrelu1", nn.LeakyReLU(0.2))', "nn.ReLU(0.2)", "mu.squeeze()", "z.view(-1, self.z_size, 1, 1)",
                 ".cuda()", "Variable(data[0])", "x.clamp(0, 1)", "vae.eval()", "sigma, the learned standard"):
        assert kept in stripped, f"the statements need {kept!r} in the printed source"


def test_the_release_shows_no_evidence() -> None:
    """Part 7 of the release: the printed source, the question, the answer cell and its tests only."""
    nb = nbformat.read(RELEASE, as_version=4)
    start = next(i for i, c in enumerate(nb.cells) if "What is wrong in the original code?" in c.source)
    code = [c.source for c in nb.cells[start:] if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("grade_id") != "submission_check"]  # the hand-in check
    assert code[0] == "print(inspect.getsource(original))"
    assert len(code) == 4, "only the printed source, ANSWER_BUGS and its two test cells follow the question"
    rest = "\n".join(c.source for c in nb.cells[start:-1])
    for evidence in ("probe", "original.loss_function(", "original.reconstruct(", "original.set_up(", "evidence"):
        assert evidence not in rest, evidence
