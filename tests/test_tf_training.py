"""Training pipeline: datasets, the compiled step, the test ELBO and fit's history."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from vaecourse.tf import losses, models, training
from vaecourse.tf.sampling import reparameterize

STEP = {"loss_fn": losses.compute_loss, "step_fn": training.train_step}  # what later notebooks pass


def cvae(latent_dim, **kwargs):
    return models.CVAE(latent_dim, decoder=models.build_decoder, reparameterize=reparameterize,
                       **kwargs)


@pytest.fixture
def tiny_data(rng):
    """Binary 28x28 images: a few simple patterns, so a VAE can fit them quickly."""
    patterns = np.zeros((4, 28, 28, 1), np.float32)
    patterns[0, 4:24, 12:16] = 1
    patterns[1, 12:16, 4:24] = 1
    patterns[2, 4:12, 4:12] = 1
    patterns[3, 16:24, 16:24] = 1
    train = patterns[rng.integers(0, 4, 64)]
    test = patterns[rng.integers(0, 4, 24)]
    return train, test


def test_make_datasets_covers_every_image_once_per_epoch_reshuffled():
    x_train = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    x_test = np.arange(7, dtype=np.float32).reshape(7, 1, 1, 1) + 100
    train, test = training.make_datasets(x_train, x_test, batch_size=4, seed=1)
    epochs = [np.concatenate([b.numpy().ravel() for b in train]) for _ in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(10))
    assert [len(b) for b in train] == [4, 4, 2]
    assert not all(np.array_equal(epochs[0], e) for e in epochs[1:])  # reshuffled
    again, _ = training.make_datasets(x_train, x_test, batch_size=4, seed=1)
    np.testing.assert_array_equal(
        np.concatenate([b.numpy().ravel() for b in again]), epochs[0]
    )  # reproducible
    np.testing.assert_array_equal(np.concatenate([b.numpy().ravel() for b in test]),
                                  x_test.ravel())  # test set in order
    assert train.element_spec.dtype == tf.float32


def test_make_datasets_rejects_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        training.make_datasets(np.zeros((4, 1)), np.zeros((2, 1)), 0)
    with pytest.raises(ValueError, match="empty"):
        training.make_datasets(np.zeros((0, 1)), np.zeros((2, 1)), 2)


def test_compiled_train_step_reduces_the_loss_on_a_tiny_batch(keras_seed, tiny_data):
    x = tf.constant(tiny_data[0][:32])
    model = cvae(2, filters=8, seed=0)
    optimizer = keras.optimizers.Adam(3e-3)
    _, test = training.make_datasets(tiny_data[0], tiny_data[0][:32], 32)
    before = training.evaluate_elbo(model, test, losses.kl_reconstruction_loss)
    step = training.compiled_step(model, optimizer, losses.kl_reconstruction_loss, training.train_step)
    assert training.compiled_step(model, optimizer, losses.kl_reconstruction_loss,
                                  training.train_step) is step  # compiled once
    steps = [float(step(x)) for _ in range(40)]
    after = training.evaluate_elbo(model, test, losses.kl_reconstruction_loss)
    assert np.isfinite(steps).all()
    assert after > before + 100  # from ~-543 nats (random logits) to far better
    assert np.mean(steps[-5:]) < np.mean(steps[:5])
    assert int(optimizer.iterations.numpy()) == 40


def test_train_step_is_one_gradient_step_of_the_given_loss():
    """The eager ``train_step`` (the MNIST fill-in): returns the loss before the update, then w - lr * grad."""
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False)])
    net.layers[0].kernel.assign(np.array([[1.0], [2.0], [-1.0]], np.float32))
    x = tf.constant([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])

    def loss(model, batch):
        return tf.reduce_mean(tf.square(model(batch)))

    out = training.train_step(net, x, keras.optimizers.SGD(0.1), loss)
    # outputs -1 and 1: loss 1; gradient 2 * mean(out_i * x_i) = [-1, 1, -1]
    assert float(out) == pytest.approx(1.0)
    np.testing.assert_allclose(net.layers[0].kernel.numpy().ravel(), [1.1, 1.9, -0.9], rtol=1e-6)


def test_evaluate_elbo_is_the_size_weighted_mean():
    x = np.random.default_rng(0).random((10, 2, 2, 1)).astype(np.float32)
    _, test = training.make_datasets(x, x, batch_size=4, test_batch_size=4)  # 4 + 4 + 2
    model = keras.Model()  # the loss below ignores it

    def mean_pixel(model, batch):  # a deterministic "loss"
        return tf.reduce_mean(batch)

    # batches of unequal size: weighting by size gives the mean over all images
    assert training.evaluate_elbo(model, test, mean_pixel) == pytest.approx(-x.mean(), rel=1e-5)
    with pytest.raises(ValueError, match="empty"):
        training.evaluate_elbo(model, test.take(0), mean_pixel)


def test_fit_fills_the_history_and_prints_epoch_lines(keras_seed, tiny_data, capsys):
    train, test = training.make_datasets(*tiny_data, batch_size=16)
    model = cvae(2, filters=8, seed=0)
    seen = []
    history = training.fit(model, train, test, epochs=3, optimizer=keras.optimizers.Adam(3e-3),
                           **STEP, recon_batch=tiny_data[1][:4], progress=False,
                           on_epoch_end=lambda h: seen.append(len(h.epoch)))
    assert history.epoch == [1, 2, 3] and seen == [1, 2, 3]
    for name in ("epoch_time", "cpu_time", "images_per_second", "train_loss", "test_elbo"):
        values = getattr(history, name)
        assert len(values) == 3 and np.isfinite(values).all(), name
    assert all(t > 0 for t in history.epoch_time) and all(r > 0 for r in history.images_per_second)
    assert history.test_elbo[-1] > history.test_elbo[0]
    assert history.train_loss[-1] < history.train_loss[0]
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert f"test ELBO {history.test_elbo[0]:.2f}" in out[0] and out[0].endswith(" s)")
    table = history.to_table().splitlines()
    assert len(table) == 4 and "test ELBO" in table[0]
    assert "wall" not in history.to_table(show_time=False)
    assert history.plot() is not None


def test_fit_without_timing_prints_reproducible_text(tiny_data, capsys):
    outputs = []
    for _ in range(2):
        keras.utils.set_random_seed(0)
        train, test = training.make_datasets(*tiny_data, batch_size=16, seed=0)
        model = cvae(2, filters=4, seed=0)
        training.fit(model, train, test, 1, **STEP, progress=False, show_time=False)
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert " s)" not in outputs[0]


def test_fit_validates_epochs(tiny_data):
    train, test = training.make_datasets(*tiny_data, batch_size=16)
    with pytest.raises(ValueError, match="epochs"):
        training.fit(cvae(2, filters=4), train, test, -1, **STEP)
    with pytest.raises(TypeError, match="loss_fn"):
        training.fit(cvae(2, filters=4), train, test, 1, step_fn=training.train_step)
    # no fallback to the package's train_step (a fill-in): the message names what to pass
    with pytest.raises(TypeError, match=r"step_fn=.*training\.train_step"):
        training.fit(cvae(2, filters=4), train, test, 1, loss_fn=losses.compute_loss)


def test_reconstruct_uses_the_posterior_mean(tiny_data):
    model = cvae(2, filters=4, seed=0)
    x = tiny_data[1][:3]
    a, b = training.reconstruct(model, x), training.reconstruct(model, x)
    np.testing.assert_array_equal(a, b)  # no sampling noise
    mean, _ = model.encode(x)
    np.testing.assert_allclose(a, model.decode(mean, apply_sigmoid=True).numpy(), rtol=1e-6)


def test_fit_train_loss_is_the_size_weighted_epoch_mean():
    x = np.random.default_rng(3).random((10, 2, 2, 1)).astype(np.float32)
    train, test = training.make_datasets(x, x, batch_size=4)  # batches of 4, 4 and 2

    class Const(keras.Model):  # one weight, untouched by SGD(0)
        def __init__(self):
            super().__init__()
            self.w = self.add_weight(shape=(), initializer="zeros")

    def mean_pixel(model, batch):
        return tf.reduce_mean(batch) + 0.0 * model.w

    history = training.fit(Const(), train, test, 1, optimizer=keras.optimizers.SGD(0.0),
                           loss_fn=mean_pixel, step_fn=training.train_step, show=False,
                           progress=False)  # eval_loss_fn defaults to loss_fn
    assert history.train_loss[0] == pytest.approx(x.mean(), rel=1e-5)
    assert history.test_elbo[0] == pytest.approx(-x.mean(), rel=1e-5)


def test_demo_writes_its_figures_and_summary(tmp_path, monkeypatch):
    import importlib.util
    from pathlib import Path

    from vaecourse import data

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "mnist_demo.py"
    spec = importlib.util.spec_from_file_location("mnist_demo", path)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    if data.config.data_dir() is None:
        pytest.skip("needs VAECOURSE_DATA (real MNIST)")
    monkeypatch.setenv("VAECOURSE_PROFILE", "ci")
    result = demo.run(tmp_path, epochs=0, progress=False)
    names = {"reconstructions.png", "latent_scatter.png", "manifold.png", "samples.png",
             "one_per_class.png", "summary.txt"}
    assert set(result["files"]) == names
    assert all((tmp_path / n).stat().st_size > 1000 for n in names if n.endswith(".png"))
    summary = (tmp_path / "summary.txt").read_text()
    assert "4096 train / 512 test" in summary and "CVAE(latent_dim=2" in summary


def test_fit_compiles_and_runs_the_given_step_fn():
    """``step_fn`` (the MNIST notebook passes the student's) is the step that trains."""
    x = np.ones((8, 2, 2, 1), np.float32)
    train, test = training.make_datasets(x, x, batch_size=4)

    class Const(keras.Model):
        def __init__(self):
            super().__init__()
            self.w = self.add_weight(shape=(), initializer="zeros")

    def loss(model, batch):
        return tf.reduce_mean(batch) + model.w

    def step_down_by_one(model, batch, optimizer, loss_fn):  # ignores the optimizer on purpose
        model.w.assign_sub(1.0)
        return loss_fn(model, batch)

    model = Const()
    history = training.fit(model, train, test, 2, optimizer=keras.optimizers.SGD(0.0),
                           loss_fn=loss, eval_loss_fn=loss, step_fn=step_down_by_one,
                           show=False, progress=False)
    assert float(model.w.numpy()) == -4.0  # 2 epochs x 2 batches, each step subtracts 1
    assert history.test_elbo == pytest.approx([1.0, 3.0])  # -(1 + w) after each epoch


def test_each_model_gets_its_own_compiled_functions(keras_seed, tiny_data):
    """A second model neither retraces the first one's step nor is refused new variables.

    The loss samples without a seed, so Keras creates its random state (a variable) during the
    first trace; a compiled function shared between models would fail on the second model.
    """
    x = tf.constant(tiny_data[0][:16])

    def unseeded_loss(model, batch):
        mean, logvar = model.encode(batch)
        z = mean + tf.exp(0.5 * logvar) * keras.random.normal(tf.shape(mean))
        return losses.kl_reconstruction_loss(model, batch) + 0.0 * tf.reduce_sum(z)

    functions = []
    for width in (4, 8):  # different variables: each model must trace its own function
        model = cvae(2, filters=width, seed=0)
        optimizer = keras.optimizers.Adam(1e-3)
        step = training.compiled_step(model, optimizer, unseeded_loss, training.train_step)
        step(x)
        traced = step.experimental_get_tracing_count()  # 2 when the first trace made variables
        for _ in range(3):
            loss = training.compiled_step(model, optimizer, unseeded_loss, training.train_step)(x)
        assert np.isfinite(float(loss))
        assert step.experimental_get_tracing_count() == traced <= 2  # no retracing afterwards
        functions.append(step)
    assert functions[0] is not functions[1]


class _Counter(keras.Model):
    """One weight; its "loss" is the mean pixel, so the train loss is known exactly."""

    def __init__(self):
        super().__init__()
        self.w = self.add_weight(shape=(), initializer="zeros")


def _mean_pixel(model, batch):
    return tf.reduce_mean(batch) + 0.0 * model.w


def test_fit_reads_the_loss_back_only_every_few_steps(monkeypatch):
    """A read-back is a GPU sync: fit makes one per ``readback_every`` steps (and one per epoch end)."""
    x = np.random.default_rng(4).random((10, 2, 2, 1)).astype(np.float32)
    train, test = training.make_datasets(x, x, batch_size=1)  # 10 steps per epoch
    groups = []
    original = training._read_back

    def counting(pending, loss_sum, seen, bar):
        if pending:
            groups.append(len(pending))
        return original(pending, loss_sum, seen, bar)

    monkeypatch.setattr(training, "_read_back", counting)
    history = training.fit(_Counter(), train, test, 2, optimizer=keras.optimizers.SGD(0.0),
                           loss_fn=_mean_pixel, step_fn=training.train_step, show=False,
                           progress=False, readback_every=4)
    assert groups == [4, 4, 2, 4, 4, 2]
    assert history.train_loss == pytest.approx([x.mean(), x.mean()], rel=1e-5)  # every step counted
    with pytest.raises(ValueError, match="readback_every"):
        training.fit(_Counter(), train, test, 1, loss_fn=_mean_pixel, step_fn=training.train_step,
                     readback_every=0)


@pytest.mark.parametrize("cap, epochs_run, announced", [(5, 2, True), (6, 2, True), (100, 4, False)])
def test_fit_honours_the_max_steps_cap(monkeypatch, capsys, cap, epochs_run, announced):
    """``VAECOURSE_MAX_STEPS``: at most that many optimizer steps per fit; the last epoch is evaluated."""
    monkeypatch.setenv("VAECOURSE_MAX_STEPS", str(cap))
    x = np.random.default_rng(5).random((6, 2, 2, 1)).astype(np.float32)
    train, test = training.make_datasets(x, x, batch_size=2)  # 3 steps per epoch
    optimizer = keras.optimizers.SGD(0.0)
    history = training.fit(_Counter(), train, test, 4, optimizer=optimizer, loss_fn=_mean_pixel,
                           step_fn=training.train_step, progress=False, show_time=False)
    assert int(optimizer.iterations.numpy()) == min(cap, 12)
    assert history.epoch == list(range(1, epochs_run + 1))
    assert len(history.test_elbo) == epochs_run and np.isfinite(history.train_loss).all()
    out = capsys.readouterr().out
    assert (f"VAECOURSE_MAX_STEPS={cap}: stopped after {min(cap, 12)} optimizer steps" in out) == announced


def test_eager_mode_runs_the_same_step_without_tracing(monkeypatch):
    """``VAECOURSE_EAGER=1`` (grading): the same step and loss, as plain Python (no tf.function)."""
    x = tf.constant(np.random.default_rng(6).random((4, 2, 2, 1)).astype(np.float32))

    def squared_error(model, batch):  # a loss with a gradient: the step moves the weight
        return tf.reduce_mean((batch - model.w) ** 2)

    results = {}
    for eager in ("0", "1"):
        monkeypatch.setenv("VAECOURSE_EAGER", eager)
        model, optimizer = _Counter(), keras.optimizers.SGD(0.1)
        step = training.compiled_step(model, optimizer, squared_error, training.train_step)
        assert isinstance(step, tf.types.experimental.PolymorphicFunction) == (eager == "0")
        results[eager] = (float(step(x)), [v.numpy().copy() for v in model.trainable_variables],
                          training.evaluate_elbo(model, tf.data.Dataset.from_tensor_slices(x).batch(2), squared_error))
    (loss0, vars0, elbo0), (loss1, vars1, elbo1) = results["0"], results["1"]
    assert loss0 == pytest.approx(loss1) and elbo0 == pytest.approx(elbo1)
    assert vars0[0] != 0.0  # the step did move the weight, the same way in both modes
    for a, b in zip(vars0, vars1, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_history_says_how_many_batches_the_training_data_had(monkeypatch):
    """Also under a step cap (grading takes one step), the history tells which data fit saw."""
    monkeypatch.setenv("VAECOURSE_MAX_STEPS", "1")
    x = np.random.default_rng(7).random((6, 2, 2, 1)).astype(np.float32)
    train, test = training.make_datasets(x, x[:2], batch_size=2)  # 3 and 1 batches
    for data, batches in ((train, 3), (test, 1), (train.take(1), 1)):
        history = training.fit(_Counter(), data, test, 1, optimizer=keras.optimizers.SGD(0.0), loss_fn=_mean_pixel,
                               step_fn=training.train_step, progress=False, show=False)
        assert history.batches_per_epoch == batches
    unknown = train.filter(lambda batch: True)  # cardinality unknown
    history = training.fit(_Counter(), unknown, test, 1, optimizer=keras.optimizers.SGD(0.0), loss_fn=_mean_pixel,
                           step_fn=training.train_step, progress=False, show=False)
    assert history.batches_per_epoch is None
