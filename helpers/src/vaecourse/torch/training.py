"""Training the CelebA VAE: one optimization step, and a loop with timing and a progress bar.

``fit`` moves the model to the best device it finds (CUDA, then Apple's MPS, then the
CPU), shows a tqdm bar per epoch and returns, per epoch, the average loss per image,
the wall time and the throughput. It reads the loss from the device only every
``sync_every`` steps, so a GPU is never stalled waiting for the host. With
``checkpoint=path`` it saves after every epoch and resumes after the last saved one
(:mod:`vaecourse.torch.checkpoints`). ``VAECOURSE_MAX_STEPS`` caps the optimizer steps of
one call (:func:`vaecourse.config.max_steps`, for the full-scale check on a CPU).

The loss and the step are arguments: the notebook passes the student's own
``loss_function`` and ``train_step`` (the package never calls its reference answers).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from .. import config
from . import checkpoints
from .models import eval_mode

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
StepFn = Callable[[nn.Module, torch.Tensor, torch.optim.Optimizer, LossFn], object]


def default_device() -> torch.device:
    """CUDA when available, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def make_optimizer(model: nn.Module, lr: float = 5e-4) -> torch.optim.Optimizer:
    """The original assignment's optimizer: Adam(lr, betas=(0.5, 0.999), weight_decay=1e-5)."""
    return torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.999), weight_decay=1e-5)


def train_step(
    model: nn.Module, x: torch.Tensor, optimizer: torch.optim.Optimizer, loss_fn: LossFn
) -> torch.Tensor:
    """One optimization step on the batch ``x``; returns the batch's loss before the update.

    ``model(x)`` returns ``(reconstruction, mu, logvar)`` and
    ``loss_fn(reconstruction, x, mu, logvar)`` the scalar loss.
    """
    # BEGIN FILL-IN celeba_vae/train_step
    optimizer.zero_grad()  # gradients accumulate in .grad unless cleared
    recon, mu, logvar = model(x)
    loss = loss_fn(recon, x, mu, logvar)
    loss.backward()
    optimizer.step()
    return loss.detach()
    # END FILL-IN celeba_vae/train_step


@dataclass(frozen=True)
class EpochStats:
    """What one epoch of :func:`fit` measured."""

    epoch: int
    loss: float  # average training loss per image
    seconds: float  # wall time of the epoch
    images: int  # images trained on
    test_loss: float | None = None  # average loss per test image, when a test loader is given

    @property
    def images_per_second(self) -> float:
        """Training throughput."""
        return self.images / self.seconds if self.seconds > 0 else float("nan")

    def __str__(self) -> str:
        test = "" if self.test_loss is None else f", test loss {self.test_loss:.1f}"
        return (
            f"epoch {self.epoch}: loss {self.loss:.1f} per image{test}, "
            f"{self.seconds:.1f} s ({self.images_per_second:.0f} images/s)"
        )


def _images(batch: object) -> torch.Tensor:
    """The image tensor of a batch: ``(images, labels)`` pairs or bare tensors."""
    if isinstance(batch, (tuple, list)):
        batch = batch[0]
    if not isinstance(batch, torch.Tensor):
        raise TypeError(f"a batch should be a tensor or (images, labels), not {type(batch)}")
    return batch


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _batches(loader: Iterable, limit: int | None) -> int:
    steps = len(loader)  # type: ignore[arg-type]
    return steps if limit is None else min(steps, limit)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    device: torch.device | str | None = None,
    max_batches: int | None = None,
) -> float:
    """Average loss per image over ``loader`` (eval mode; z is still sampled)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    total = torch.zeros((), dtype=torch.float64, device=device)
    images = 0
    with eval_mode(model):
        for step, batch in enumerate(loader):
            if max_batches is not None and step >= max_batches:
                break
            x = _images(batch).to(device, non_blocking=True)
            recon, mu, logvar = model(x)
            total += loss_fn(recon, x, mu, logvar).detach().double()
            images += x.shape[0]
    return float(total) / max(images, 1)


def _resume(path, model, optimizer, generator, settings, device, log) -> tuple[int, list[EpochStats]]:
    """Load a matching checkpoint into model, optimizer and random generators: (epochs done, history)."""
    state = checkpoints.load(path, device)
    if state is None:
        return 0, []
    if state["settings"] != settings:
        old = Path(path).with_name(Path(path).name + ".old")
        os.replace(path, old)
        if log is not None:
            log(f"checkpoint {path} is from another model or settings: starting afresh (kept as {old.name})")
        return 0, []
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    checkpoints.set_random_states(state["random"], generator)
    history = [EpochStats(**h) for h in state["history"]]
    if log is not None:
        log(f"resuming from {path}: {state['epoch']} epoch(s) done")
    return state["epoch"], history


def fit(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    epochs: int = 1,
    *,
    loss_fn: LossFn,
    step_fn: StepFn,
    kl_weight: float = 1.0,
    device: torch.device | str | None = None,
    steps_per_epoch: int | None = None,
    test_loader: Iterable | None = None,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    sync_every: int = 25,
    log: Callable[[str], None] | None = print,
) -> list[EpochStats]:
    """Train ``model`` for ``epochs`` epochs; one :class:`EpochStats` per epoch.

    Args:
        loader: yields ``(images, labels)`` or image batches.
        loss_fn: ``loss_fn(recon, x, mu, logvar[, kl_weight])`` (the notebook's own).
        step_fn: ``step_fn(model, x, optimizer, loss_fn)`` performs one update and
            returns the batch loss, a tensor or a float (the notebook's own).
        kl_weight: passed to ``loss_fn`` when it is not 1.
        device: default :func:`default_device`; the model is moved there.
        steps_per_epoch: at most this many batches per epoch (the ``ci`` profile).
        test_loader: when given, the average test loss is reported per epoch.
        checkpoint: a file to save to after every epoch and to resume from (see
            :mod:`vaecourse.torch.checkpoints`); a checkpoint of another model or other
            settings is set aside and training starts afresh.
        sync_every: read the running loss for the progress bar every this many steps.
        log: called with one line per epoch (None: silent).

    ``VAECOURSE_MAX_STEPS`` (:func:`vaecourse.config.max_steps`) caps the optimizer steps
    of the whole call: training stops there, the epoch it stopped in is reported (and
    evaluated) with the images it saw, and no checkpoint is written for it.
    """
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    step_loss = loss_fn if kl_weight == 1.0 else functools.partial(loss_fn, kl_weight=kl_weight)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    steps = _batches(loader, steps_per_epoch)
    budget = config.max_steps()
    generator = getattr(loader, "generator", None)
    settings = checkpoints.settings_of(model, optimizer, kl_weight=kl_weight, steps_per_epoch=steps)
    done, history = (0, [])
    if checkpoint is not None:
        done, history = _resume(checkpoint, model, optimizer, generator, settings, device, log)
    taken = 0
    for epoch in range(done + 1, epochs + 1):
        if budget is not None and taken >= budget:
            if log is not None:
                log(f"stopped after {taken} optimizer steps ({config.MAX_STEPS_ENV}={budget})")
            break
        model.train()
        total = torch.zeros((), dtype=torch.float64, device=device)
        images = 0
        _synchronize(device)
        start = time.perf_counter()
        bar = tqdm(total=steps, desc=f"epoch {epoch}/{epochs}", unit="batch",
                   disable=not progress, file=sys.stderr, mininterval=1.0)
        limit = steps if budget is None else min(steps, budget - taken)
        epoch_steps = 0
        for step, batch in enumerate(itertools.islice(loader, limit)):
            epoch_steps += 1
            x = _images(batch).to(device, non_blocking=True)
            loss = step_fn(model, x, optimizer, step_loss)
            total += loss.detach().double() if isinstance(loss, torch.Tensor) else float(loss)
            images += x.shape[0]
            taken += 1
            bar.update(1)
            if (step + 1) % sync_every == 0 or step + 1 == steps:
                bar.set_postfix(loss=f"{float(total) / max(images, 1):.1f}")
        bar.close()
        _synchronize(device)
        seconds = time.perf_counter() - start
        test_loss = evaluate(model, test_loader, step_loss, device) if test_loader is not None else None
        stats = EpochStats(epoch, float(total) / max(images, 1), seconds, images, test_loss)
        history.append(stats)
        if log is not None:
            log(str(stats))
        if epoch_steps < steps:  # cut short by VAECOURSE_MAX_STEPS: not a finished epoch
            if log is not None:
                log(f"stopped after {taken} optimizer steps ({config.MAX_STEPS_ENV}={budget})")
            break
        if checkpoint is not None:
            checkpoints.save(checkpoint, {
                "epoch": epoch, "history": [dataclasses.asdict(h) for h in history],
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "random": checkpoints.random_states(generator), "settings": settings,
            })
    return history
