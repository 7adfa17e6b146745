"""Training: ``tf.data`` pipelines, the train step, its compiled form, the test ELBO and ``fit``.

``fit`` prints one line per epoch (train loss, test ELBO and, unless ``show_time=False``,
the wall time) and shows a tqdm progress bar on stderr; both are easy to silence for
nbval (``progress=False, show_time=False``) or to mark ``# NBVAL_IGNORE_OUTPUT``.
TensorFlow places the work on a GPU by itself when one is visible (Colab); ``fit`` then
reads the loss back from the GPU only every ``readback_every`` steps, and it stops after
``VAECOURSE_MAX_STEPS`` optimizer steps when that is set (the full-scale check).

The loss and the gradient step are arguments of ``fit`` (``loss_fn=``, ``step_fn=``), never
defaults: :func:`train_step` is a fill-in of the MNIST notebook, so the package itself
never calls it; a later notebook passes it explicitly (``step_fn=training.train_step``).
"""

from __future__ import annotations

import sys
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from .. import config, plots

READBACK_EVERY = 25  # fit copies the loss to the host every this many steps (a GPU sync)

LossFn = Callable  # loss_fn(model, x) -> scalar tensor (a negative ELBO or similar)
StepFn = Callable  # step_fn(model, x, optimizer, loss_fn) -> loss, one gradient step

# model -> {key: tf.function}: each model gets its own compiled functions, so that a new model
# (or optimizer, or loss) traces a fresh function once instead of retracing a shared one, and
# a first call may create variables (Keras' unseeded random state) inside the trace.
_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Bound:
    """``python_fn(model, x)`` as a callable of ``x`` alone, for ``tf.function``.

    A class rather than a closure: TensorFlow counts retracing per code object, so closures
    made by one ``lambda`` for many models would add up to a false retracing warning.
    """

    def __init__(self, python_fn: Callable, model: keras.Model) -> None:
        self.python_fn = python_fn
        self.model = weakref.ref(model)  # the cache must not keep the model alive

    def __call__(self, x):
        return self.python_fn(self.model(), x)


def _compiled_for(model: keras.Model, key: tuple, python_fn: Callable) -> Callable:
    """``tf.function`` of ``python_fn(model, x)``, cached per model and ``key``; with
    ``VAECOURSE_EAGER=1`` (:func:`vaecourse.config.eager`, grading) the plain function."""
    per_model = _compiled.setdefault(model, {})
    if key not in per_model:
        bound = _Bound(python_fn, model)
        per_model[key] = bound if config.eager() else tf.function(bound, reduce_retracing=True)
    return per_model[key]


def make_datasets(
    x_train: np.ndarray, x_test: np.ndarray, batch_size: int, seed: int = 0,
    test_batch_size: int | None = None,
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """Batched ``tf.data`` pipelines: the training set reshuffled every epoch (seeded).

    Args:
        x_train, x_test: float32 NHWC images in [0, 1] (see ``data.preprocess_images``).
        batch_size: training batch size.
        seed: shuffling seed (the order differs per epoch but is reproducible).
        test_batch_size: batch size for evaluation (default: ``max(batch_size, 256)``).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    x_train = np.asarray(x_train, dtype=np.float32)
    x_test = np.asarray(x_test, dtype=np.float32)
    if len(x_train) == 0 or len(x_test) == 0:
        raise ValueError(f"empty data: {len(x_train)} training and {len(x_test)} test images")
    # Shuffle indices and gather whole batches: no per-image pipeline work and no
    # shuffle buffer holding a copy of the data set.
    images = tf.constant(x_train)
    train = (
        tf.data.Dataset.range(len(x_train))
        .shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(lambda idx: tf.gather(images, idx))
        .prefetch(tf.data.AUTOTUNE)
    )
    test = (
        tf.data.Dataset.from_tensor_slices(x_test)
        .batch(test_batch_size or max(batch_size, 256))
        .prefetch(tf.data.AUTOTUNE)
    )
    return train, test


def train_step(model: keras.Model, x, optimizer: keras.optimizers.Optimizer, loss_fn: LossFn):
    """One gradient step on the batch ``x`` that decreases ``loss_fn(model, x)``; returns that loss.

    Plain Python (eager); :func:`compiled_step` compiles it (or a student's own) with
    ``tf.function``.
    """
    # BEGIN FILL-IN train_step
    with tf.GradientTape() as tape:
        loss = loss_fn(model, x)
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
    # END FILL-IN train_step


def compiled_step(model: keras.Model, optimizer: keras.optimizers.Optimizer,
                  loss_fn: LossFn, step_fn: StepFn) -> Callable:
    """``step_fn(model, x, optimizer, loss_fn)`` compiled with ``tf.function``, as a function of ``x``.

    ``step_fn`` is the Python step to compile: the MNIST notebook passes its student's
    ``train_step``, later notebooks :func:`train_step`. It is compiled once per model,
    optimizer, loss and step (cached with the model). The optimizer is built on the model's
    variables first, so that its slot variables are not created inside the traced function.
    """
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    return _compiled_for(model, ("train", optimizer, loss_fn, step_fn),
                         lambda m, batch: step_fn(m, batch, optimizer, loss_fn))


def evaluate_elbo(model: keras.Model, dataset: tf.data.Dataset, loss_fn: LossFn) -> float:
    """The average ELBO (``-loss_fn``, weighted by batch size) over ``dataset``, in nats.

    ``loss_fn(model, x)`` is a negative ELBO averaged over the batch (e.g. a notebook's
    ``compute_loss``); it is compiled once per model.
    """
    batch_loss = _compiled_for(model, ("loss", loss_fn), loss_fn)
    total, count = 0.0, 0
    for x in dataset:
        n = int(x.shape[0])
        total += float(batch_loss(x)) * n
        count += n
    if count == 0:
        raise ValueError("evaluate_elbo: the dataset is empty")
    return -total / count


@dataclass
class History:
    """What ``fit`` measured, one entry per epoch."""

    epoch: list[int] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)  # wall seconds
    cpu_time: list[float] = field(default_factory=list)  # process CPU seconds
    images_per_second: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)  # mean loss over the epoch
    test_elbo: list[float] = field(default_factory=list)
    #: batches in one pass over the training data given to ``fit`` (None: unknown); with
    #: ``VAECOURSE_MAX_STEPS`` fewer may have been taken, this still says which data it was
    batches_per_epoch: int | None = None

    def to_table(self, show_time: bool = True) -> str:
        """The history as a fixed-width text table."""
        header = f"{'epoch':>5}  {'train loss':>10}  {'test ELBO':>10}"
        if show_time:
            header += f"  {'wall s':>7}  {'CPU s':>7}  {'img/s':>8}"
        rows = [header]
        for i, e in enumerate(self.epoch):
            row = f"{e:>5}  {self.train_loss[i]:>10.2f}  {self.test_elbo[i]:>10.2f}"
            if show_time:
                row += (f"  {self.epoch_time[i]:>7.1f}  {self.cpu_time[i]:>7.1f}"
                        f"  {self.images_per_second[i]:>8.0f}")
            rows.append(row)
        return "\n".join(rows)

    def plot(self):
        """Training curves (``plots.plot_training_curves``); returns the figure."""
        return plots.plot_training_curves(self)


def reconstruct(model: keras.Model, x) -> np.ndarray:
    """Pixel probabilities decoded from the posterior means of ``x`` (deterministic)."""
    mean, _ = model.encode(x)
    return np.asarray(model.decode(mean, apply_sigmoid=True))


_MISSING_STEP_FN = (
    "fit needs step_fn=, the gradient step step_fn(model, x, optimizer, loss_fn) -> loss: your own "
    "train_step in the MNIST notebook, vaecourse.tf.training.train_step in a later one "
    "(training.fit(..., step_fn=training.train_step)); got {got!r}."
)


def fit(
    model: keras.Model,
    train_ds: tf.data.Dataset,
    test_ds: tf.data.Dataset,
    epochs: int,
    optimizer: keras.optimizers.Optimizer | None = None,
    *,
    loss_fn: LossFn,
    step_fn: StepFn | None = None,
    eval_loss_fn: LossFn | None = None,
    recon_batch: np.ndarray | None = None,
    show: bool = True,
    progress: bool = True,
    show_time: bool = True,
    on_epoch_end: Callable[[History], None] | None = None,
    readback_every: int = READBACK_EVERY,
) -> History:
    """Train ``model`` for ``epochs`` epochs with a compiled step; return the ``History``.

    Args:
        optimizer: default ``keras.optimizers.Adam(1e-3)``.
        loss_fn: ``loss_fn(model, x)`` -> scalar, minimized (e.g. the notebook's
            ``compute_loss``; a later notebook passes ``losses.compute_loss``).
        step_fn: ``step_fn(model, x, optimizer, loss_fn)`` -> loss, the gradient step to
            compile (required: the MNIST notebook passes its student's ``train_step``, later
            notebooks :func:`train_step`).
        eval_loss_fn: the test-set loss whose negative is reported as the ELBO
            (default: ``loss_fn``).
        recon_batch: a fixed batch of test images; if given (and ``show``), originals vs
            reconstructions are shown after every epoch.
        show: print one line per epoch (and show the reconstructions).
        progress: show a tqdm bar over the batches, with the running loss.
        show_time: include the wall time in the epoch line (turn off for nbval).
        on_epoch_end: called with the history after every epoch (benchmarks print from it,
            notebooks show images).
        readback_every: copy the loss from the device to Python only every this many steps
            (each copy waits for the GPU to finish); the epoch's mean loss still includes
            every step.

    With ``VAECOURSE_MAX_STEPS`` set (:func:`vaecourse.config.max_steps`, the full-scale
    check), at most that many optimizer steps are taken in this call: the epoch in which
    the cap is reached ends early, is evaluated, and training stops there.

    Raises:
        TypeError: without a ``step_fn`` (the message says what to pass).
        ValueError: for negative ``epochs``, ``readback_every < 1`` or empty training data.
    """
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if readback_every < 1:
        raise ValueError(f"readback_every must be >= 1, got {readback_every}")
    optimizer = optimizer or keras.optimizers.Adam(1e-3)
    eval_loss_fn = eval_loss_fn or loss_fn
    if not callable(step_fn):
        raise TypeError(_MISSING_STEP_FN.format(got=step_fn))
    cap = config.max_steps()
    steps_per_epoch = int(train_ds.cardinality())
    history = History(batches_per_epoch=steps_per_epoch if steps_per_epoch >= 0 else None)
    step = compiled_step(model, optimizer, loss_fn, step_fn)  # once, not per batch
    taken = 0
    for epoch in range(1, epochs + 1):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        loss_sum, seen, steps = 0.0, 0, 0
        pending: list[tuple[tf.Tensor, int]] = []  # losses not yet read back, with batch sizes
        bar = tqdm(total=steps_per_epoch if steps_per_epoch > 0 else None,
                   desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=False,
                   file=sys.stderr, unit="batch")
        for x in train_ds:
            if cap is not None and taken >= cap:
                break
            pending.append((step(x), int(x.shape[0])))
            taken += 1
            steps += 1
            bar.update(1)
            if len(pending) >= readback_every:
                loss_sum, seen = _read_back(pending, loss_sum, seen, bar)
        loss_sum, seen = _read_back(pending, loss_sum, seen, bar)
        bar.close()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        if seen == 0:
            raise ValueError("fit: the training dataset is empty")
        elbo = evaluate_elbo(model, test_ds, eval_loss_fn)
        history.epoch.append(epoch)
        history.epoch_time.append(wall)
        history.cpu_time.append(cpu)
        history.images_per_second.append(seen / wall)
        history.train_loss.append(loss_sum / seen)
        history.test_elbo.append(elbo)
        if show:
            line = f"Epoch {epoch}/{epochs}: train loss {loss_sum / seen:.2f}, test ELBO {elbo:.2f}"
            if show_time:
                line += f" ({wall:.1f} s)"
            print(line, flush=True)
            if recon_batch is not None:
                fig = plots.show_reconstructions(
                    np.asarray(recon_batch), reconstruct(model, recon_batch),
                    title=f"epoch {epoch}",
                )
                plots.display(fig)
        if on_epoch_end is not None:
            on_epoch_end(history)
        if cap is not None and taken >= cap:
            if epoch < epochs or (steps_per_epoch > 0 and steps < steps_per_epoch):
                print(f"{config.MAX_STEPS_ENV}={cap}: stopped after {taken} optimizer steps "
                      f"(epoch {epoch} of {epochs}).", flush=True)
            break
    return history


def _read_back(pending: list[tuple[tf.Tensor, int]], loss_sum: float, seen: int,
               bar: tqdm) -> tuple[float, int]:
    """Add the pending losses (one device-to-host copy) to the epoch's sums; empty ``pending``."""
    if not pending:
        return loss_sum, seen
    losses = np.asarray(tf.stack([tf.reduce_mean(tf.cast(loss, tf.float32)) for loss, _ in pending]),
                        dtype=np.float64)
    sizes = np.array([n for _, n in pending], dtype=np.float64)
    pending.clear()
    bar.set_postfix(loss=f"{losses[-1]:.2f}", refresh=False)
    return loss_sum + float(losses @ sizes), seen + int(sizes.sum())
