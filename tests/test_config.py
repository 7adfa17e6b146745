"""vaecourse.config: the step cap, padding switch, GPU detection, the no-GPU warning, seeding."""

from __future__ import annotations

import subprocess
import sys

import pytest
from vaecourse import config


@pytest.mark.parametrize("value, expected", [("", None), ("7", 7), (" 12 ", 12)])
def test_max_steps_reads_the_variable(monkeypatch, value, expected):
    monkeypatch.setenv(config.MAX_STEPS_ENV, value)
    assert config.max_steps() == expected


@pytest.mark.parametrize("value", ["0", "-3", "ten", "1.5"])
def test_max_steps_rejects_nonsense_clearly(monkeypatch, value):
    monkeypatch.setenv(config.MAX_STEPS_ENV, value)
    with pytest.raises(ValueError, match="VAECOURSE_MAX_STEPS"):
        config.max_steps()


@pytest.mark.parametrize("value, expected", [("1", True), ("yes", True), ("", False), ("0", False)])
def test_pad_to_full(monkeypatch, value, expected):
    monkeypatch.setenv(config.PAD_ENV, value)
    assert config.pad_to_full() is expected


def test_gpu_name_uses_nvidia_smi_when_no_framework_is_imported(monkeypatch):
    monkeypatch.setattr(config.Path, "glob", lambda self, pattern: iter(()))
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)

    def fake_run(cmd, **kw):
        assert cmd == ["nvidia-smi", "-L"]
        return subprocess.CompletedProcess(cmd, 0, "GPU 0: Tesla T4 (UUID: GPU-123)\n", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert config.gpu_name() == "Tesla T4"
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    assert "gpu=Tesla T4" in config.describe_runtime()


def test_gpu_name_is_none_without_a_driver(monkeypatch):
    monkeypatch.setattr(config.Path, "glob", lambda self, pattern: iter(()))
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)

    def no_smi(cmd, **kw):
        raise FileNotFoundError("nvidia-smi")

    monkeypatch.setattr(subprocess, "run", no_smi)
    assert config.gpu_name() is None


def test_no_gpu_warning_only_in_the_full_profile_without_a_gpu(monkeypatch, capsys):
    monkeypatch.setattr(config, "gpu_name", lambda: None)
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    assert config.warn_if_no_gpu(40, 1500, "training the VAE") is True
    out = capsys.readouterr().out
    assert "NO GPU" in out and "40 minutes" in out and "25 hours" in out and "training the VAE" in out
    monkeypatch.setenv(config.PROFILE_ENV, "ci")
    assert config.warn_if_no_gpu(40, 1500) is False
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    monkeypatch.setattr(config, "gpu_name", lambda: "Tesla T4")
    assert config.warn_if_no_gpu(40, 1500) is False
    assert capsys.readouterr().out == ""


def test_op_determinism_only_in_the_grading_profile(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    calls = []
    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism", lambda: calls.append(1))
    monkeypatch.setenv(config.PROFILE_ENV, "full")
    config.seed_everything(0)
    assert calls == []
    monkeypatch.setenv(config.PROFILE_ENV, "ci")
    config.seed_everything(0)
    assert calls == [1]
    config.seed_everything(0, deterministic=False)
    assert calls == [1]
