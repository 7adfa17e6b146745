"""Checkpoints that let a training run survive a Colab disconnect.

:func:`vaecourse.torch.training.fit` with ``checkpoint=path`` saves, after every epoch,
the model, the optimizer, the epochs done, the history and the random states (PyTorch's
CPU and CUDA generators, NumPy's, Python's and the DataLoader's shuffling generator), and
on the next call resumes after the last finished epoch: with a single-process loader the
resumed run computes exactly what an uninterrupted run would have. The file is written
to a temporary name and renamed, so a disconnect while saving never leaves a broken one.

``default_path(name)`` is on Google Drive when it is mounted
(:func:`vaecourse.storage.persistent_dir`), so the checkpoint outlives the session.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import storage


def default_path(name: str) -> Path:
    """``<Drive or cache>/checkpoints/<name>.pt``."""
    folder = storage.persistent_dir() / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.pt"


def settings_of(model: nn.Module, optimizer: torch.optim.Optimizer, **extra: Any) -> dict[str, Any]:
    """What must not change between a checkpoint and the run resuming from it.

    The model's class and parameter shapes, the optimizer's class and hyperparameters,
    and ``extra`` (e.g. the KL weight, the batches per epoch).
    """
    hyper = [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups]
    return {
        "model": type(model).__name__,
        "shapes": [list(p.shape) for p in model.parameters()],
        "optimizer": type(optimizer).__name__,
        "hyperparameters": repr(hyper),
        **{k: repr(v) for k, v in extra.items()},
    }


def random_states(generator: torch.Generator | None) -> dict[str, Any]:
    """Every random generator's state (the loader's ``generator`` too, when there is one)."""
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "numpy": np.random.get_state(),
        "python": random.getstate(),
        "loader": generator.get_state() if generator is not None else None,
    }


def set_random_states(states: dict[str, Any], generator: torch.Generator | None) -> None:
    """Undo :func:`random_states`."""
    torch.set_rng_state(states["torch"])
    if states["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if generator is not None and states["loader"] is not None:
        generator.set_state(states["loader"])


def save(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict[str, Any] | None:
    """The state saved at ``path``, or None when there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    # our own file (it holds NumPy's and Python's random states, not only tensors)
    return torch.load(path, map_location=device, weights_only=False)
