"""vaecourse.tf.metrics: the numbers of the CIFAR-10 and MMD notebooks' tables, by their maths."""

from __future__ import annotations

import ast
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from vaecourse import gaussian
from vaecourse.testkit import fakes
from vaecourse.tf import losses, metrics
from vaecourse.tf import mmd as mmd_module

PACKAGE = Path(gaussian.__file__).resolve().parent


# -- bits per dimension ----------------------------------------------------------------------
def test_bits_per_dim_of_the_uniform_density_is_eight_bits() -> None:
    # The uniform density on [0, 1] has log p = 0: on the 256-level scale that is the
    # uniform distribution over 256 values, log2(256) = 8 bits per dimension.
    assert metrics.bits_per_dim(0.0, (32, 32, 3)) == pytest.approx(8.0, abs=1e-12)
    assert metrics.bits_per_dim(0.0, (28, 28, 1), levels=2) == pytest.approx(1.0, abs=1e-12)


def test_bits_per_dim_matches_the_formula_for_arrays_and_tensors() -> None:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    nll = rng.normal(-3000, 500, size=7)
    shape = (32, 32, 3)
    d = 32 * 32 * 3
    expected = nll / (d * math.log(2)) + 8.0
    np.testing.assert_allclose(metrics.bits_per_dim(nll, shape), expected, rtol=1e-12)
    got = metrics.bits_per_dim(tf.constant(nll, tf.float32), shape)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # the channels count: a grey image of the same size has 3x fewer dimensions
    assert metrics.bits_per_dim(-3000.0, (32, 32, 1)) < metrics.bits_per_dim(-3000.0, shape)


def test_bits_per_dim_is_the_discrete_entropy_for_a_piecewise_constant_density() -> None:
    # A density constant on each of 256 bins of width 1/256 with bin probabilities p_k
    # has nats = -sum log(256 p_k) per dimension; its bits/dim must equal -log2 p_k.
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(256))
    pixels = rng.integers(0, 256, size=(5, 4, 4, 1))
    nll_nats = -np.log(256 * probs[pixels]).reshape(5, -1).sum(axis=1)
    expected_bits = -np.log2(probs[pixels]).reshape(5, -1).mean(axis=1)
    np.testing.assert_allclose(metrics.bits_per_dim(nll_nats, (4, 4, 1)), expected_bits, rtol=1e-10)


# -- dequantization and the Gaussian likelihood ----------------------------------------------
def test_dequantize_stays_in_each_pixels_bin_and_is_seeded() -> None:
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(50, 8, 8, 3), dtype=np.uint8)
    x = metrics.dequantize(images, seed=3)
    assert x.dtype == np.float32 and x.shape == images.shape
    assert x.min() >= 0.0 and x.max() < 1.0
    np.testing.assert_array_equal(np.floor(x.astype(np.float64) * 256), images)
    offset = x.astype(np.float64) * 256 - images
    assert abs(offset.mean() - 0.5) < 0.02  # uniform noise inside the bin
    np.testing.assert_array_equal(x, metrics.dequantize(images, seed=3))
    assert not np.array_equal(x, metrics.dequantize(images, seed=4))
    with pytest.raises(TypeError, match="integer"):
        metrics.dequantize(images / 255.0)


def test_gaussian_likelihood_is_the_normal_density_of_the_sigmoid_mean() -> None:
    rng = np.random.default_rng(4)
    x = rng.random((3, 4, 4, 3)).astype(np.float32)
    logits = rng.normal(size=x.shape).astype(np.float32)
    sigma = 0.1
    f = metrics.gaussian_likelihood(sigma)
    mean = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = stats.norm.logpdf(x, loc=mean, scale=sigma).reshape(3, -1).sum(axis=1)
    np.testing.assert_allclose(np.asarray(f(x, logits)), expected, rtol=1e-5)
    # usable as the likelihood of the ELBO losses
    np.testing.assert_allclose(
        np.asarray(losses.reconstruction_log_likelihood(x, logits, f)), expected, rtol=1e-5
    )
    with pytest.raises(ValueError, match="positive"):
        metrics.gaussian_likelihood(0.0)


def _gaussian_loss(model, x, sigma=0.1, single_sample_kl=False):
    """A test's own Gaussian negative ELBO (either KL estimate), as a notebook's student writes it."""
    import tensorflow as tf

    mean, logvar = model.encode(x)
    z = model.reparameterize(mean, logvar)
    x = tf.cast(x, tf.float32)
    x_hat = tf.sigmoid(model.decode(z))
    d = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32)
    nll = tf.reduce_sum(tf.square(x - x_hat), axis=[1, 2, 3]) / (2 * sigma**2) + d * (
        math.log(sigma) + 0.5 * math.log(2 * math.pi))
    if single_sample_kl:
        kl = tf.reduce_sum(-0.5 * tf.square(z - mean) * tf.exp(-logvar) - 0.5 * logvar + 0.5 * tf.square(z), axis=1)
    else:
        kl = -0.5 * tf.reduce_sum(1 + logvar - tf.square(mean) - tf.exp(logvar), axis=1)
    return tf.reduce_mean(nll + kl)


@pytest.mark.parametrize("eager", [False, True])
@pytest.mark.parametrize("single_sample_kl", [False, True])
def test_likelihood_from_loss_is_the_reconstruction_term_of_the_loss(monkeypatch, eager, single_sample_kl) -> None:
    if eager:
        monkeypatch.setenv("VAECOURSE_EAGER", "1")
    rng = np.random.default_rng(14)
    x = rng.random((7, 4, 4, 3)).astype(np.float32)
    logits = rng.normal(size=x.shape).astype(np.float32)
    f = metrics.likelihood_from_loss(_gaussian_loss, sigma=0.2, single_sample_kl=single_sample_kl)
    mean = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = stats.norm.logpdf(x, loc=mean, scale=0.2).reshape(7, -1).sum(axis=1)
    got = np.asarray(f(x, logits))
    assert got.shape == (7,)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(f(x[:3], logits[:3])), expected[:3], rtol=1e-5)  # another batch size
    with pytest.raises(TypeError, match="loss function"):
        metrics.likelihood_from_loss(0.1)


def test_evaluate_vae_with_the_likelihood_of_a_loss_equals_the_gaussian_one() -> None:
    model = fakes.LinearVAE(latent_dim=3, image_shape=(4, 4, 3), seed=3)
    x = np.random.default_rng(15).random((20, 4, 4, 3)).astype(np.float32)
    by_loss = metrics.evaluate_vae(model, x, metrics.likelihood_from_loss(_gaussian_loss, sigma=0.1), batch_size=8)
    direct = metrics.evaluate_vae(model, x, metrics.gaussian_likelihood(0.1), batch_size=8)
    for column in ("ELBO", "-log p(x|z)", "KL", "MSE"):
        assert by_loss[column] == pytest.approx(direct[column], rel=1e-5), column


# -- latent usage ----------------------------------------------------------------------------
def test_kl_per_dimension_with_the_tensorflow_kl_is_zero_at_the_prior_and_sums_to_the_kl_term() -> None:
    zeros = np.zeros((10, 6), np.float32)
    np.testing.assert_allclose(gaussian.kl_per_dimension(zeros, zeros, losses.kl_gaussians), np.zeros(6), atol=1e-7)
    rng = np.random.default_rng(5)
    mean = rng.normal(size=(40, 6)).astype(np.float32)
    logvar = rng.normal(size=(40, 6)).astype(np.float32)
    per_dim = gaussian.kl_per_dimension(mean, logvar, losses.kl_gaussians)
    m, lv = mean.astype(np.float64), logvar.astype(np.float64)
    closed_form = (-0.5 * (1 + lv - m**2 - np.exp(lv))).mean(axis=0)
    np.testing.assert_allclose(per_dim, closed_form, rtol=1e-5)
    assert (per_dim > 0).all()
    total = np.asarray(losses.kl_to_standard_normal(mean, logvar)).mean()
    assert per_dim.sum() == pytest.approx(total, rel=1e-5)


def test_active_units_counts_dimensions_whose_mean_varies_with_x() -> None:
    rng = np.random.default_rng(6)
    n = 20000
    # variances 1, 0.05, 0.02 (active), 0.005, 0 (inactive); a constant offset changes nothing
    scales = np.sqrt([1.0, 0.05, 0.02, 0.005, 0.0])
    mean = rng.standard_normal((n, 5)) * scales + np.array([0.0, 3.0, -2.0, 5.0, 7.0])
    assert metrics.active_units(mean) == 3
    assert metrics.active_units(mean, threshold=0.001) == 4
    assert metrics.active_units(mean, threshold=2.0) == 0
    assert isinstance(metrics.active_units(mean), int)


# -- the MMD to the prior, in blocks -----------------------------------------------------------
def test_mmd_to_prior_is_near_zero_for_prior_codes_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(7)
    z = rng.standard_normal((300, 4)).astype(np.float32)
    near = metrics.mmd_to_prior(z, mmd_module.mmd, seed=1)
    assert abs(near) < 0.02
    shifted = [metrics.mmd_to_prior(z + s, mmd_module.mmd, seed=1) for s in (0.5, 1.0, 2.0)]
    assert near < shifted[0] < shifted[1] < shifted[2]
    with pytest.raises(ValueError, match="shape"):
        metrics.mmd_to_prior(z[0], mmd_module.mmd)
    with pytest.raises(TypeError, match="mmd"):
        metrics.mmd_to_prior(z, "rbf")
    with pytest.raises(ValueError, match="block_size"):
        metrics.mmd_to_prior(z, mmd_module.mmd, block_size=1)


def test_mmd_to_prior_averages_equal_blocks_with_fresh_prior_samples() -> None:
    z = np.random.default_rng(8).normal(0.5, 1.0, (1030, 3)).astype(np.float32)
    calls = []

    def recording(x, y):
        calls.append((np.asarray(x), np.asarray(y)))
        return float(len(calls))  # 1, 2, 3: the result must be their mean

    assert metrics.mmd_to_prior(z, recording, block_size=400, seed=3) == pytest.approx(2.0)
    assert [len(x) for x, _ in calls] == [344, 343, 343]  # ceil(1030 / 400) = 3 blocks
    assert all(y.shape == x.shape for x, y in calls)
    codes = np.concatenate([x for x, _ in calls])  # every code once, shuffled
    np.testing.assert_array_equal(np.sort(codes, axis=0), np.sort(z, axis=0))
    assert not np.array_equal(codes, z)
    prior = np.concatenate([y for _, y in calls])
    assert abs(prior.mean()) < 0.1 and abs(prior.std() - 1.0) < 0.05
    assert not np.array_equal(calls[0][1], calls[1][1][:343])


def test_mmd_to_prior_in_blocks_agrees_with_one_estimate_on_all_codes() -> None:
    # Both are unbiased: over a few seeds the block average stays within the noise of the
    # estimate on all 1,200 codes, for a clearly non-zero MMD.
    z = np.random.default_rng(9).normal(0.6, 0.7, (1200, 4)).astype(np.float32)
    blocks = [metrics.mmd_to_prior(z, mmd_module.mmd, block_size=300, seed=s) for s in range(4)]
    whole = [metrics.mmd_to_prior(z, mmd_module.mmd, block_size=1200, seed=s) for s in range(4)]
    assert np.mean(whole) > 0.1
    assert abs(np.mean(blocks) - np.mean(whole)) < 0.1 * np.mean(whole)


_MEMORY_PROBE = """
import os, resource
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"; os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
import numpy as np
from vaecourse.tf import metrics, mmd
rng = np.random.default_rng(0)
for dim in (32, 128):
    metrics.mmd_to_prior(rng.normal(size=(600, dim)).astype(np.float32), mmd.mmd)  # warm up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    z = rng.normal(0.3, 1.0, (10_000, dim)).astype(np.float32)
    value = metrics.mmd_to_prior(z, mmd.mmd)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(dim, value, (after - before) / 1024.0)
"""


def test_mmd_to_prior_of_10000_codes_needs_bounded_memory() -> None:
    # One call of mmd on 10,000 codes of size 32 would build a (10,000, 10,000, 32) float32
    # tensor (12.8 GB; 51 GB at size 128). In blocks of 512 the peak memory of the process
    # (measured in a fresh subprocess, after a warm-up call) grows by well under 1 GB.
    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE], capture_output=True,
                         text=True, timeout=600, check=True)
    for line in out.stdout.splitlines():
        dim, value, grown_mb = (float(v) for v in line.split())
        assert 0.0 < value < 1.0  # the codes are shifted: a positive MMD^2
        assert grown_mb < 700, f"latent size {dim:.0f}: the peak memory grew by {grown_mb:.0f} MB"
    assert len(out.stdout.splitlines()) == 2


# -- a whole evaluation, checked against NumPy on a model with known weights ------------------
def _np_bernoulli_loglik(x: np.ndarray, logits: np.ndarray) -> np.ndarray:
    ll = x * -np.logaddexp(0, -logits) + (1 - x) * -np.logaddexp(0, logits)
    return ll.reshape(len(x), -1).sum(axis=1)


class _CountingVAE(fakes.LinearVAE):
    """A LinearVAE that counts its encode and reparameterize calls and the images they saw."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.encoded = 0
        self.sampled = 0

    def encode(self, x):
        self.encoded += len(x)
        return super().encode(x)

    def reparameterize(self, mean, logvar):
        self.sampled += int(mean.shape[0])
        return super().reparameterize(mean, logvar)


def test_evaluate_vae_matches_numpy_on_a_linear_vae() -> None:
    rng = np.random.default_rng(8)
    shape = (4, 4, 3)
    model = _CountingVAE(latent_dim=3, image_shape=shape, seed=2)
    x = rng.random((12, *shape)).astype(np.float32)
    result = metrics.evaluate_vae(model, x, likelihood="bernoulli", batch_size=64,
                                  bits_per_dim=metrics.bits_per_dim,
                                  active_units=metrics.active_units, mmd=mmd_module.mmd)
    assert model.encoded == 12 and model.sampled == 12  # one pass: each image encoded and sampled once

    mean, logvar = model.np_encode(x)
    z = model.np_reparameterize(mean, logvar)
    log_px_z = _np_bernoulli_loglik(x.astype(np.float64), model.np_logits(z))
    kl = -0.5 * (1 + logvar - mean**2 - np.exp(logvar)).sum(axis=1)
    elbo = (log_px_z - kl).mean()
    assert result["ELBO"] == pytest.approx(elbo, rel=1e-4)
    assert result["-log p(x|z)"] == pytest.approx(-log_px_z.mean(), rel=1e-4)
    assert result["KL"] == pytest.approx(kl.mean(), rel=1e-4)
    assert result["bits/dim"] == pytest.approx(-elbo / (48 * math.log(2)) + 8, rel=1e-4)
    mse = ((model.np_decode(mean) - x) ** 2).mean()
    assert result["MSE"] == pytest.approx(mse, rel=1e-4)
    assert result["active"] == int((mean.var(axis=0) > 0.01).sum())
    assert result["MMD"] == pytest.approx(metrics.mmd_to_prior(z, mmd_module.mmd), rel=1e-4)
    np.testing.assert_allclose(result["kl_per_dim"].sum(), kl.mean(), rtol=1e-4)
    np.testing.assert_allclose(result["mean"], mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result["logvar"], logvar, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result["z"], z, rtol=1e-5, atol=1e-6)
    assert set(metrics.COLUMNS) <= set(result)
    # batching does not change the deterministic columns
    batched = metrics.evaluate_vae(model, x[:8], batch_size=3)
    whole = metrics.evaluate_vae(model, x[:8], batch_size=8)
    assert batched["KL"] == pytest.approx(whole["KL"], rel=1e-5)
    assert batched["MSE"] == pytest.approx(whole["MSE"], rel=1e-5)


def test_evaluate_vae_uses_the_functions_it_is_given_and_no_others(monkeypatch) -> None:
    # Without the functions, their columns are absent; with them, their results are used.
    # The package's own fill-ins are never called (students have them stripped).
    def stripped(*args, **kwargs):
        raise NotImplementedError("a fill-in")

    for name in ("bits_per_dim", "active_units"):
        monkeypatch.setattr(metrics, name, stripped)
    for name in ("mmd", "gaussian_kernel", "mmd_loss"):
        monkeypatch.setattr(mmd_module, name, stripped)
    model = fakes.LinearVAE(latent_dim=2, image_shape=(4, 4, 1), seed=3)
    x = np.random.default_rng(10).random((9, 4, 4, 1)).astype(np.float32)
    plain = metrics.evaluate_vae(model, x)
    assert not {"bits/dim", "active", "MMD"} & set(plain)
    seen = {}

    def my_bits_per_dim(nll, image_shape):
        seen["shape"] = tuple(image_shape)
        return 7.5

    def my_mmd(a, b):
        seen.setdefault("mmd", []).append(len(a))
        return 0.25

    full = metrics.evaluate_vae(model, x, bits_per_dim=my_bits_per_dim,
                                active_units=lambda means: 42, mmd=my_mmd)
    assert (full["bits/dim"], full["active"], full["MMD"]) == (7.5, 42, 0.25)
    assert seen == {"shape": (4, 4, 1), "mmd": [9]}
    assert full["ELBO"] == pytest.approx(plain["ELBO"])


def test_evaluate_vae_survives_a_wrong_function_it_is_given(capsys) -> None:
    # A student's broken function costs its column (nan, with a message), not the evaluation.
    model = fakes.LinearVAE(latent_dim=2, image_shape=(4, 4, 1), seed=3)
    x = np.random.default_rng(11).random((9, 4, 4, 1)).astype(np.float32)

    def broken_mmd(a, b):
        raise ValueError("shapes do not match")

    result = metrics.evaluate_vae(model, x, mmd=broken_mmd, bits_per_dim=metrics.bits_per_dim,
                                  active_units=lambda means: means.var(axis=0) > 0.01)  # a mask, not a count
    assert math.isnan(result["MMD"]) and math.isnan(result["active"])
    assert result["bits/dim"] == pytest.approx(metrics.bits_per_dim(-result["ELBO"], (4, 4, 1)))
    out = capsys.readouterr().out
    assert "broken_mmd failed (ValueError: shapes do not match)" in out and "its column shows nan" in out
    assert "nan" in metrics.format_table({"m": result}, columns=["ELBO", "MMD", "active"])


# -- presentation ----------------------------------------------------------------------------
def test_format_table_aligns_models_and_formats_each_column() -> None:
    rows = {
        "KL model": {"ELBO": -1234.567, "bits/dim": 6.54321, "active": 7, "kl_per_dim": np.ones(3)},
        "MMD model (lambda=1000)": {"ELBO": -99.0, "bits/dim": 5.0, "active": 32},
    }
    text = metrics.format_table(rows, columns=["ELBO", "bits/dim", "active"])
    lines = text.splitlines()
    assert len(lines) == 3 and len({len(line) for line in lines}) == 1  # aligned
    assert lines[0].split() == ["model", "ELBO", "bits/dim", "active"]
    assert lines[1].split()[-3:] == ["-1234.6", "6.543", "7"]
    assert lines[2].startswith("MMD model (lambda=1000)")
    assert metrics.format_table(rows).splitlines()[0].split() == ["model", "ELBO", "bits/dim", "active"]
    with pytest.raises(KeyError, match="kl_per_dim"):
        metrics.format_table(rows, columns=["kl_per_dim"])
    with pytest.raises(ValueError):
        metrics.format_table({})


def test_plot_kl_per_dimension_draws_one_sorted_panel_per_model() -> None:
    import matplotlib.pyplot as plt

    fig = metrics.plot_kl_per_dimension({"a": np.array([0.1, 3.0, 0.0]), "b": np.ones(5)})
    axes = fig.get_axes()
    assert len(axes) == 2
    heights = [p.get_height() for p in axes[0].patches]
    assert heights == sorted(heights, reverse=True) == [3.0, 0.1, 0.0]
    plt.close(fig)


# -- no package code outside a fill-in calls a fill-in (these modules) --------------------------
_MY_MODULES = ["gaussian.py", "data.py", "tf/metrics.py", "tf/mmd.py"]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _fill_in_functions() -> set[str]:
    """Qualified names (``vaecourse.tf.metrics.bits_per_dim``) of the functions holding a fill-in."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef):
                if any("# BEGIN FILL-IN" in line for line in lines[node.lineno - 1 : node.end_lineno]):
                    names.add(f"{_module_name(path)}.{node.name}")
    return names


def _fill_in_lines(text: str) -> set[int]:
    inside, lines = False, set()
    for number, line in enumerate(text.splitlines(), 1):
        if "# BEGIN FILL-IN" in line:
            inside = True
        elif "# END FILL-IN" in line:
            inside = False
        elif inside:
            lines.add(number)
    return lines


def _aliases(tree: ast.Module, module: str) -> dict[str, str]:
    """What each top-level name of the module refers to, qualified."""
    aliases = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            aliases[node.name] = f"{module}.{node.name}"
    return aliases


def _offences(text: str, module: str, fill_ins: set[str]) -> list[str]:
    """Calls, outside fill-in bodies, of a fill-in (by what the called name refers to)."""
    tree = ast.parse(text)
    aliases = _aliases(tree, module)
    inside = _fill_in_lines(text)
    offences = []

    def visit(node: ast.AST, params: frozenset[str]) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            params = params | {a.arg for a in args.args + args.kwonlyargs + args.posonlyargs}
        if isinstance(node, ast.Call) and node.lineno not in inside:
            func, target = node.func, None
            if isinstance(func, ast.Name) and func.id not in params:
                target = aliases.get(func.id)
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                base = aliases.get(func.value.id) if func.value.id not in params else None
                target = f"{base}.{func.attr}" if base else None
            if target in fill_ins:
                offences.append(f"{module}:{node.lineno} calls {target}")
        for child in ast.iter_child_nodes(node):
            visit(child, params)

    visit(tree, frozenset())
    return offences


@pytest.mark.parametrize("module", _MY_MODULES)
def test_no_code_outside_a_fill_in_calls_a_fill_in(module: str) -> None:
    fill_ins = _fill_in_functions()
    assert {"vaecourse.tf.metrics.bits_per_dim", "vaecourse.tf.mmd.mmd",
            "vaecourse.gaussian.kl_gaussians_logvar"} <= fill_ins
    path = PACKAGE / module
    offences = _offences(path.read_text(), _module_name(path), fill_ins)
    assert not offences, "package code outside a fill-in calls a fill-in:\n" + "\n".join(offences)


def test_the_fill_in_call_check_finds_calls_and_spares_parameters() -> None:
    fill_ins = _fill_in_functions()
    text = textwrap.dedent("""
        from . import mmd as mmd_module
        from .metrics import bits_per_dim

        def f(nll, model, active_units):
            model.reparameterize(nll, nll)       # a method of an argument: not the package's
            active_units(nll)                    # a parameter: the caller's function
            mmd_module.mmd(nll, nll)             # the package's fill-in
            return bits_per_dim(nll, (1,))       # the package's fill-in
        """)
    found = _offences(text, "vaecourse.tf.other", fill_ins)
    assert found == ["vaecourse.tf.other:8 calls vaecourse.tf.mmd.mmd",
                     "vaecourse.tf.other:9 calls vaecourse.tf.metrics.bits_per_dim"]
