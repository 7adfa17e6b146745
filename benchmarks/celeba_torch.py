"""CelebA VAE throughput and memory: the reference loop against the original notebook's loop.

    python benchmarks/celeba_torch.py                 # CPU here; CUDA when a GPU is visible
    python benchmarks/celeba_torch.py --steps 100 --repeats 3 --device cuda

Needs ``VAECOURSE_DATA`` (``celeba_subset.tar``) or a CelebA download. Every measurement
runs in its own child process, so that peak memory is per variant, and the variants
alternate within one run, so that their ratio is fair on a shared machine. Printed:

* training images per second over ``--steps`` timed batches (after ``--warmup`` batches),
  the wall time, the CPU seconds of the training process (and of the whole child with its
  DataLoader workers, start-up included), images per CPU second of the training process
  (steadier than images per second on a shared machine), the peak resident memory, and
  ``torch.cuda.max_memory_allocated`` on a GPU;
* the ratio reference / original per repeat;
* the resident memory of a data pass after 1,000 and after all images (10,000 locally):
  streaming from disk, it does not grow with the number of images.

The reference is ``vaecourse.torch`` (``training.fit``, DataLoader workers, pinned memory,
loss read from the device every 25 steps); the original is ``vaecourse.torch.original``
(its model, loss and loop as the original notebook wrote them, ``loss.item()`` every
step, one loader worker) over ``original_celeba.ImageFolder`` beside this script (a
stand-in for torchvision's). Both read the same extracted image folder and train the
same-size model with batch 32.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _rss_mb(pid: int | str = "self") -> float:
    """Current resident memory of a process (VmRSS), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _child_pids() -> list[int]:
    pids = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return pids


def _tree_rss_mb() -> float:
    """Resident memory of this process and its children (DataLoader workers), in MB."""
    return _rss_mb() + sum(_rss_mb(pid) for pid in _child_pids())


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------ children


def _device(name: str):
    import torch
    from vaecourse.torch import training

    return training.default_device() if name == "auto" else torch.device(name)


def _reset_cuda(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _cuda_peak(device) -> float | None:
    import torch

    if device.type != "cuda":
        return None
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() / 2**20


def run_reference(args: argparse.Namespace) -> dict:
    """Train the reference VAE with ``training.fit``; measure the timed steps."""
    import torch
    from vaecourse.torch import celeba, losses, models, training

    device = _device(args.device)
    torch.manual_seed(0)
    dataset = celeba.CelebA(args.root, split="all")
    loader = celeba.make_loader(dataset, batch_size=args.batch, shuffle=True, num_workers=args.workers)
    model = models.VAE(models.Decoder(), models.reparameterize)  # the reference answers
    optimizer = training.make_optimizer(model)
    steps = {"loss_fn": losses.loss_function, "step_fn": training.train_step, "device": device,
             "progress": False, "log": None}
    training.fit(model, loader, optimizer, steps_per_epoch=args.warmup, **steps)
    _reset_cuda(device)
    cpu = time.process_time()
    (stats,) = training.fit(model, loader, optimizer, steps_per_epoch=args.steps, **steps)
    return {"images": stats.images, "seconds": stats.seconds, "cpu_main": time.process_time() - cpu,
            "cuda_peak_mb": _cuda_peak(device), "device": str(device), "workers": loader.num_workers}


def run_original(args: argparse.Namespace) -> dict:
    """Train with the original notebook's code and loop; measure the timed steps."""
    import contextlib
    import io

    import torch

    sys.path.insert(0, str(HERE))
    from original_celeba import ImageFolder
    from vaecourse.torch import original

    device = _device(args.device)
    torch.manual_seed(0)
    loader = original.make_loader(ImageFolder(str(args.root)), batch_size=args.batch)
    model = original.OriginalVAE().to(device)  # its set_up() calls .cuda(): no CPU runs
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.5, 0.999), weight_decay=1e-5)
    with contextlib.redirect_stdout(io.StringIO()):
        original.train(model, loader, optimizer, device, epochs=1, max_steps=args.warmup)
    _reset_cuda(device)
    cpu, start = time.process_time(), time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        original.train(model, loader, optimizer, device, epochs=1, max_steps=args.steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"images": args.steps * args.batch, "seconds": seconds, "cpu_main": time.process_time() - cpu,
            "cuda_peak_mb": _cuda_peak(device), "device": str(device), "workers": 1}


def run_memory(args: argparse.Namespace) -> dict:
    """Iterate the dataset (no training) and record the resident memory along the way."""
    from vaecourse.torch import celeba

    dataset = celeba.CelebA(args.data, split="all")
    loader = celeba.make_loader(dataset, batch_size=100, shuffle=False, num_workers=args.workers)
    marks, seen = {}, 0
    for images, _ in loader:
        seen += len(images)
        if seen % 1000 == 0 or seen == len(dataset):
            marks[seen] = _tree_rss_mb()
    return {"images": len(dataset), "rss_mb": marks, "dataset_bytes": sum(
        v.nbytes for v in vars(dataset).values() if hasattr(v, "nbytes"))}


# ------------------------------------------------------------------------------- parent


def _child(args: argparse.Namespace, variant: str) -> dict:
    """Run one measurement in a fresh process; add its CPU seconds (workers included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [sys.executable, __file__, "--child", variant, "--root", str(args.root),
               "--data", str(args.data), "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--batch", str(args.batch), "--device", args.device]  # fmt: skip
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{variant} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["cpu_total"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return result


def _image_folder(data: Path, scratch: Path) -> Path:
    """A folder with img_align_celeba/ and the attributes: ``data`` itself or the extracted tar."""
    if data.is_dir():
        return data
    print(f"extracting {data.name} to {scratch} (the original's ImageFolder reads a folder) ...",
          flush=True)
    with tarfile.open(data) as tar:
        tar.extractall(scratch, filter="data")
    return scratch


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="timed batches per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches first")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--workers", type=int, default=None,
                        help="reference DataLoader workers (default: min(4, CPUs))")
    parser.add_argument("--child", choices=("reference", "original", "memory"), help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        run = {"reference": run_reference, "original": run_original, "memory": run_memory}[args.child]
        result = run(args)
        result["peak_rss_mb"] = _peak_mb()
        print(json.dumps(result))
        return

    from vaecourse import celeba

    data = celeba.locate()
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(f"CPU cores: {os.cpu_count()}, GPU: {gpu}, torch {torch.__version__}, "
          f"torch threads: {torch.get_num_threads()}, batch {args.batch}, "
          f"{args.steps} timed steps after {args.warmup} warm-up steps")
    with tempfile.TemporaryDirectory(prefix="celeba-bench-") as scratch:
        args.data = data
        args.root = _image_folder(data, Path(scratch))
        header = (f"{'variant':<10} {'device':<6} {'workers':>7} {'images/s':>9} {'wall s':>7} "
                  f"{'CPU s (train)':>13} {'CPU s (all)':>11} {'images/CPU s':>12} "
                  f"{'peak RSS MB':>11} {'CUDA peak MB':>12}")
        print(header)
        ratios = []
        for repeat in range(args.repeats):
            speeds = {}
            for variant in ("reference", "original"):
                r = _child(args, variant)
                speeds[variant] = r["images"] / r["seconds"]
                cuda = "-" if r["cuda_peak_mb"] is None else f"{r['cuda_peak_mb']:.0f}"
                print(f"{variant:<10} {r['device']:<6} {r['workers']:>7} {speeds[variant]:>9.1f} "
                      f"{r['seconds']:>7.1f} {r['cpu_main']:>13.1f} {r['cpu_total']:>11.1f} "
                      f"{r['images'] / r['cpu_main']:>12.1f} {r['peak_rss_mb']:>11.0f} {cuda:>12}",
                      flush=True)
            ratios.append(speeds["reference"] / speeds["original"])
            print(f"  repeat {repeat + 1}: reference / original throughput = {ratios[-1]:.2f}x")
        memory = _child(args, "memory")
    marks = {int(k): v for k, v in memory["rss_mb"].items()}
    first, last = min(marks), max(marks)
    print(f"\nmemory of a data pass over {memory['images']} images ({args.data.name}, batch 100, "
          f"the reference's workers): the dataset object holds {memory['dataset_bytes'] / 1024:.0f} KB")
    print("  resident MB (process + workers) after " + ", ".join(
        f"{count} images: {marks[count]:.0f}" for count in sorted(marks)))
    print(f"  growth from {first} to {last} images: {marks[last] - marks[first]:+.0f} MB "
          f"(preloading would add {(last - first) * 3 * 64 * 64 * 4 / 2**20:.0f} MB of float32 pixels)")


if __name__ == "__main__":
    main()
