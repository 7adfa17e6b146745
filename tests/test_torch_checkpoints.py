"""Checkpoints of the CelebA training (vaecourse.torch.checkpoints, training.fit(checkpoint=...)).

The promise: a run cut off mid-epoch (a Colab disconnect) and started again from its
checkpoint ends with exactly the parameters and history of an uninterrupted run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset
from vaecourse import storage
from vaecourse.torch import checkpoints, losses, models, training

EPOCHS = 3


class Disconnect(Exception):
    """Stands in for the end of a Colab session."""


def _data() -> TensorDataset:
    x = torch.rand(12, 3, 64, 64, generator=torch.Generator().manual_seed(5)) * 2 - 1
    return TensorDataset(x)


def _loader() -> DataLoader:
    # shuffled with its own generator: the resumed run must reproduce the epochs' orders
    return DataLoader(_data(), batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0))


def _model(seed: int) -> tuple[models.VAE, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = models.VAE(models.Decoder(4, 2), models.reparameterize, latent_dim=4, base_filters=2)
    return model, training.make_optimizer(model, lr=1e-2)


def _fit(model, optimizer, loader, step_fn=training.train_step, **kwargs):
    return training.fit(model, loader, optimizer, EPOCHS, loss_fn=losses.loss_function, step_fn=step_fn,
                        device="cpu", progress=False, **kwargs)


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_an_interrupted_run_resumes_to_the_same_result(tmp_path: Path) -> None:
    reference, opt = _model(0)
    expected = _fit(reference, opt, _loader(), log=None)

    path = tmp_path / "celeba_vae.pt"
    model, opt = _model(0)
    steps = {"n": 0}

    def disconnect_in_epoch_two(model, x, optimizer, loss_fn):
        steps["n"] += 1
        if steps["n"] == 5:  # 3 batches per epoch: the second batch of epoch 2
            raise Disconnect
        return training.train_step(model, x, optimizer, loss_fn)

    with pytest.raises(Disconnect):
        _fit(model, opt, _loader(), step_fn=disconnect_in_epoch_two, checkpoint=path, log=None)
    assert checkpoints.load(path)["epoch"] == 1

    # a new session: new objects, other initial weights, a fresh loader and global RNG
    model, opt = _model(123)
    lines: list[str] = []
    history = _fit(model, opt, _loader(), checkpoint=path, log=lines.append)
    assert "resuming" in lines[0] and "1 epoch(s) done" in lines[0]
    assert _same(model, reference), "the resumed run must end with the uninterrupted run's weights"
    assert [(h.epoch, h.loss, h.images) for h in history] == [(h.epoch, h.loss, h.images) for h in expected]
    assert checkpoints.load(path)["epoch"] == EPOCHS

    # everything done: a third call trains nothing and returns the stored history
    model, opt = _model(7)
    again = _fit(model, opt, _loader(), checkpoint=path, log=None)
    assert _same(model, reference) and [h.loss for h in again] == [h.loss for h in expected]


def test_a_checkpoint_of_other_settings_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    model, opt = _model(0)
    _fit(model, opt, _loader(), checkpoint=path, log=None)
    model, opt = _model(0)
    lines: list[str] = []
    history = _fit(model, opt, _loader(), checkpoint=path, kl_weight=0.5, log=lines.append)
    assert "starting afresh" in lines[0] and (tmp_path / "run.pt.old").is_file()
    assert [h.epoch for h in history] == [1, 2, 3]


def test_the_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run.pt"
    checkpoints.save(path, {"epoch": 1})

    def broken_save(obj, f):
        Path(f).write_bytes(b"half a file")
        raise OSError("disconnected while saving")

    monkeypatch.setattr(checkpoints.torch, "save", broken_save)
    with pytest.raises(OSError):
        checkpoints.save(path, {"epoch": 2})
    monkeypatch.undo()
    assert checkpoints.load(path) == {"epoch": 1}, "the previous checkpoint must survive"


def test_max_steps_caps_the_whole_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAECOURSE_MAX_STEPS", "4")
    path = tmp_path / "run.pt"
    model, opt = _model(0)
    lines: list[str] = []
    history = _fit(model, opt, _loader(), checkpoint=path, log=lines.append)
    assert [(h.epoch, h.images) for h in history] == [(1, 12), (2, 4)]
    assert any("stopped after 4 optimizer steps" in line for line in lines)
    assert checkpoints.load(path)["epoch"] == 1, "a cut-short epoch is not saved as done"


def test_default_path_is_on_google_drive_when_mounted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(storage, "DRIVE_ROOT", tmp_path / "no-drive")
    assert checkpoints.default_path("celeba_vae") == tmp_path / "cache" / "checkpoints" / "celeba_vae.pt"
    (tmp_path / "MyDrive").mkdir()
    monkeypatch.setattr(storage, "DRIVE_ROOT", tmp_path / "MyDrive")
    assert checkpoints.default_path("celeba_vae") == tmp_path / "MyDrive" / "vaecourse" / "checkpoints" / "celeba_vae.pt"
