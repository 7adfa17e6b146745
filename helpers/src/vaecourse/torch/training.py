"""Training the CelebA VAE: one optimization step, and a loop with timing and a progress bar.

``fit`` moves the model to the best device it finds (CUDA, then Apple's MPS, then the
CPU), shows a tqdm bar per epoch and returns, per epoch, the average loss per image,
the wall time and the throughput. It reads the loss from the device only every
``sync_every`` steps, so a GPU is never stalled waiting for the host.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn
from tqdm import tqdm

from .losses import loss_function

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


def _limit(loader: Iterable, max_steps: int | None) -> int:
    steps = len(loader)  # type: ignore[arg-type]
    return steps if max_steps is None else min(steps, max_steps)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn = loss_function,
    device: torch.device | str | None = None,
    max_steps: int | None = None,
) -> float:
    """Average loss per image over ``loader`` (eval mode; z is still sampled)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    images = 0
    for step, batch in enumerate(loader):
        if step >= _limit(loader, max_steps):
            break
        x = _images(batch).to(device, non_blocking=True)
        recon, mu, logvar = model(x)
        total += loss_fn(recon, x, mu, logvar).detach().double()
        images += x.shape[0]
    model.train(was_training)
    return float(total) / max(images, 1)


def fit(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    epochs: int = 1,
    *,
    loss_fn: LossFn = loss_function,
    step_fn: StepFn = train_step,
    kl_weight: float = 1.0,
    device: torch.device | str | None = None,
    max_steps: int | None = None,
    test_loader: Iterable | None = None,
    progress: bool = True,
    sync_every: int = 25,
    log: Callable[[str], None] | None = print,
) -> list[EpochStats]:
    """Train ``model`` for ``epochs`` epochs; one :class:`EpochStats` per epoch.

    Args:
        loader: yields ``(images, labels)`` or image batches.
        loss_fn: ``loss_fn(recon, x, mu, logvar[, kl_weight])``.
        step_fn: ``step_fn(model, x, optimizer, loss_fn)`` performs one update and
            returns the batch loss (a tensor or a float).
        kl_weight: passed to ``loss_fn`` when it is not 1.
        device: default :func:`default_device`; the model is moved there.
        max_steps: at most this many batches per epoch (the ``ci`` profile).
        test_loader: when given, the average test loss is reported per epoch.
        sync_every: read the running loss for the progress bar every this many steps.
        log: called with one line per epoch (None: silent).
    """
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    step_loss = loss_fn if kl_weight == 1.0 else functools.partial(loss_fn, kl_weight=kl_weight)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    history: list[EpochStats] = []
    for epoch in range(1, epochs + 1):
        model.train()
        steps = _limit(loader, max_steps)
        total = torch.zeros((), dtype=torch.float64, device=device)
        images = 0
        _synchronize(device)
        start = time.perf_counter()
        bar = tqdm(total=steps, desc=f"epoch {epoch}/{epochs}", unit="batch",
                   disable=not progress, file=sys.stderr, mininterval=1.0)
        for step, batch in enumerate(loader):
            if step >= steps:
                break
            x = _images(batch).to(device, non_blocking=True)
            loss = step_fn(model, x, optimizer, step_loss)
            total += loss.detach().double() if isinstance(loss, torch.Tensor) else float(loss)
            images += x.shape[0]
            bar.update(1)
            if (step + 1) % sync_every == 0 or step + 1 == steps:
                bar.set_postfix(loss=f"{float(total) / images:.1f}")
        bar.close()
        _synchronize(device)
        seconds = time.perf_counter() - start
        test_loss = (
            evaluate(model, test_loader, step_loss, device, max_steps)
            if test_loader is not None
            else None
        )
        stats = EpochStats(epoch, float(total) / max(images, 1), seconds, images, test_loss)
        history.append(stats)
        if log is not None:
            log(str(stats))
    return history
