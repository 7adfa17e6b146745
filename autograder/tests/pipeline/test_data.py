"""The grading data folder, written from a local HTTP server with small fixture files."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import pickle
import subprocess
import sys
import tarfile
import threading
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from autograder.course import Course
from autograder.pipeline import data as grading_data
from autograder.pipeline.data import (
    DataError,
    missing_data,
    require_grading_data,
    write_data_folder,
)

REPO = Path(__file__).resolve().parents[3]
RNG = np.random.default_rng(0)


def _fixtures(folder: Path) -> dict[str, np.ndarray]:
    """Small files in the publishers' formats; returns the arrays they hold."""
    folder.mkdir()
    arrays = {"x_train": RNG.integers(0, 256, (6, 28, 28), dtype=np.uint8),
              "y_train": RNG.integers(0, 10, 6).astype(np.uint8),
              "x_test": RNG.integers(0, 256, (2, 28, 28), dtype=np.uint8),
              "y_test": RNG.integers(0, 10, 2).astype(np.uint8)}  # fmt: skip
    np.savez(folder / "mnist.npz", **arrays)
    cifar = {f"data_batch_{i}": RNG.integers(0, 256, (3, 3072), dtype=np.uint8) for i in (1, 2)}
    cifar["test_batch"] = RNG.integers(0, 256, (2, 3072), dtype=np.uint8)
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name, x in cifar.items():
            blob = pickle.dumps({b"data": x, b"labels": list(range(len(x)))})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    from PIL import Image

    with zipfile.ZipFile(folder / "img_align_celeba.zip", "w") as z:
        for i in (1, 2, 3):
            buf = io.BytesIO()
            Image.fromarray(RNG.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(buf, "JPEG")
            z.writestr(f"img_align_celeba/{i:06d}.jpg", buf.getvalue())
    header = " ".join(f"A{i}" for i in range(40))
    rows = "".join(f"{i:06d}.jpg " + " ".join(["1"] * 40) + "\n" for i in (1, 2, 3))
    (folder / "list_attr_celeba.txt").write_text(f"3\n{header}\n{rows}")
    return {**arrays, **cifar}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("mirror") / "files"
    arrays = _fixtures(root)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.RequestHandlerClass.log_message = lambda *a: None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root, arrays
    httpd.shutdown()


def _sources(root: Path) -> dict:
    """The published files with the fixtures' checksums (same algorithms as the publishers')."""
    return {s.name: replace(s, digest=hashlib.new(s.algorithm, (root / s.name).read_bytes()).hexdigest())
            for s in grading_data.SOURCES}  # fmt: skip


def test_the_folder_is_written_checked_and_readable_by_the_loaders(server, tmp_path: Path, capsys) -> None:
    url, root, arrays = server
    out = tmp_path / "data"
    sums = write_data_folder(out, mirror=url, sources=_sources(root))
    assert sorted(p.name for p in out.iterdir()) == [
        "SHA256SUMS", "cifar10_subset.npz", "img_align_celeba", "list_attr_celeba.txt", "mnist.npz"]
    assert "mnist.npz" in capsys.readouterr().err  # the progress bar names the file
    assert (out / "SHA256SUMS").read_text().splitlines()[0] == f"{sums['mnist.npz']}  mnist.npz"
    assert missing_data(out) == []
    code = ("from vaecourse import data\nfrom vaecourse.celeba import sources\nfrom pathlib import Path\nimport os\n"
            "(xt, yt), (xs, ys) = data.load_cifar10()\nprint(xt.shape, yt.shape, xs.shape, int(xt[1, 0, 0, 1]))\n"
            "(mt, _), _ = data.load_mnist()\nprint(mt.shape, int(mt.sum()))\n"
            "print(sources.from_data_dir(Path(os.environ['VAECOURSE_DATA'])).name)\n")
    env = {**os.environ, "VAECOURSE_DATA": str(out), "VAECOURSE_PROFILE": "ci"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    expected_pixel = int(arrays["data_batch_1"][1].reshape(3, 32, 32)[1, 0, 0])  # green of pixel (0, 0)
    assert result.stdout.split("\n")[:3] == [
        f"(6, 32, 32, 3) (6, 1) (2, 32, 32, 3) {expected_pixel}",
        f"(6, 28, 28) {int(arrays['x_train'].sum())}", "data"]
    # a second run downloads nothing it already has and gives the same checksums
    assert write_data_folder(out, mirror=url, sources=_sources(root), progress=False) == sums


def test_a_corrupted_download_is_refused_and_removed(server, tmp_path: Path) -> None:
    url, root, _ = server
    sources = _sources(root)
    sources["mnist.npz"] = replace(sources["mnist.npz"], digest="0" * 64)
    with pytest.raises(DataError, match="not the published"):
        write_data_folder(tmp_path / "d", mirror=url, sources=sources, progress=False)
    assert not list((tmp_path / "d" / ".download").glob("mnist.npz*"))
    with pytest.raises(DataError, match="could not download"):
        write_data_folder(tmp_path / "e", mirror=url + "/nothing-here", sources=_sources(root), progress=False)


def test_grading_without_data_stops_and_names_the_command(tmp_path: Path, monkeypatch) -> None:
    course = Course.default()
    monkeypatch.delenv("VAECOURSE_DATA", raising=False)
    monkeypatch.delenv(grading_data.ALLOW_SYNTHETIC_ENV, raising=False)
    with pytest.raises(SystemExit, match=r"python -m autograder data DIR"):
        require_grading_data(course)
    monkeypatch.setenv("VAECOURSE_DATA", str(tmp_path))
    (tmp_path / "mnist.npz").write_bytes(b"")
    with pytest.raises(SystemExit, match="lacks CIFAR-10, CelebA"):
        require_grading_data(course)
    require_grading_data(course, allow_synthetic=True)  # tests may
    monkeypatch.delenv("VAECOURSE_DATA")
    result = subprocess.run([sys.executable, "-m", "autograder", "autograde", "kl_theory"], cwd=REPO,
                            env={k: v for k, v in os.environ.items() if k != "VAECOURSE_DATA"},
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 1 and "python -m autograder data DIR" in result.stderr
