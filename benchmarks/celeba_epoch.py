"""One epoch of the CelebA notebook's training on the local faces, measured; a Colab T4 projection.

    python benchmarks/celeba_epoch.py --out docs/results/celeba_vae

Trains the full-profile model (latent 512, 64 base filters, batch 32, the original's Adam)
for one epoch over the notebook's train split of ``VAECOURSE_DATA``'s faces (9,000 of the
10,000 local ones; the other 1,000 are the test split), with the reference answers and
``training.fit`` as the notebook calls it. Prints and writes (``measure.json`` in
``--out``):

* images per second and per CPU-second (the training process and its DataLoader workers,
  from ``getrusage``), the load average before and after;
* FLOPs per image of a training step (forward, backward) and of a forward pass, counted
  by ``torch.utils.flop_counter`` and checked against a count by hand of the layers;
* the projected full-profile time (10 epochs over 182,339 faces, a test pass over 20,260
  after each) on a Colab T4, from the FLOPs and the T4 numbers stated in ``T4``;
* figures: the loss per batch, test reconstructions, faces sampled from the prior.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import time
from pathlib import Path

# The T4's FP32 peak, from NVIDIA's T4 datasheet (8.1 TFLOPS FP32, 65 TFLOPS FP16 tensor
# cores, 320 GB/s). The notebook trains in FP32; small convolutions at batch 32 keep a GPU
# far from its peak, so the projection brackets the sustained rate between these fractions.
T4 = {"fp32_peak_tflops": 8.1, "sustained_fraction": (0.25, 0.5)}
FULL = {"epochs": 10, "train": 182_339, "test": 20_260}


def conv_macs(c_in: int, c_out: int, k: int, out_hw: int) -> int:
    return c_in * c_out * k * k * out_hw * out_hw


def convt_macs(c_in: int, c_out: int, k: int, in_hw: int) -> int:
    return c_in * c_out * k * k * in_hw * in_hw


def macs_by_hand(latent: int = 512, b: int = 64) -> int:
    """Multiply-adds of one forward pass per image: the layers of the course's VAE."""
    encoder = conv_macs(3, b, 4, 32) + conv_macs(b, 2 * b, 4, 16) + conv_macs(2 * b, 4 * b, 4, 8)
    heads = 2 * (4 * b * 8 * 8) * latent
    decoder = latent * (4 * b * 8 * 8) + convt_macs(4 * b, 2 * b, 4, 8) + convt_macs(2 * b, b, 4, 16)
    decoder += convt_macs(b, 3, 4, 32)
    return encoder + heads + decoder


def count_flops(model, loss_fn, batch: int) -> tuple[float, float]:
    """(training-step FLOPs, forward FLOPs) per image, counted by PyTorch's FLOP counter."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.rand(batch, 3, 64, 64) * 2 - 1
    with FlopCounterMode(display=False) as counter:
        recon, mu, logvar = model(x)
        loss_fn(recon, x, mu, logvar).backward()
    train = counter.get_total_flops() / batch
    model.zero_grad()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return train, counter.get_total_flops() / batch


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/results/celeba_vae"))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="batches (default: the whole epoch)")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    from torch.utils.data import DataLoader
    from vaecourse.torch import celeba, images, losses, models, training

    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = models.VAE(models.Decoder(512, 64), models.reparameterize, 512, 64)
    train_flops, forward_flops = count_flops(model, losses.loss_function, args.batch)
    by_hand = 2 * macs_by_hand()

    train_set = celeba.CelebA(split="train")
    test_set = celeba.CelebA(split="test")
    # make_loader's settings, but workers that end with the epoch: getrusage counts their CPU
    # time only once they have exited
    loader = DataLoader(train_set, batch_size=args.batch, shuffle=True, num_workers=args.workers,
                        generator=torch.Generator().manual_seed(0))
    test_loader = DataLoader(test_set, batch_size=args.batch, num_workers=args.workers)
    optimizer = training.make_optimizer(model, lr=5e-4)
    batch_losses: list[float] = []

    def step(model, x, optimizer, loss_fn):
        loss = training.train_step(model, x, optimizer, loss_fn)
        batch_losses.append(float(loss) / x.shape[0])
        return loss

    load_before = os.getloadavg()
    cpu0 = cpu_seconds()
    (stats,) = training.fit(model, loader, optimizer, epochs=1, loss_fn=losses.loss_function, step_fn=step,
                            steps_per_epoch=args.steps, progress=False, device="cpu")
    gc.collect()  # the epoch's iterator, and with it the worker processes, ends here
    cpu_train = cpu_seconds() - cpu0
    cpu1, wall1 = cpu_seconds(), time.perf_counter()
    test_loss = training.evaluate(model, test_loader, losses.loss_function, "cpu")
    gc.collect()
    eval_seconds, eval_cpu = time.perf_counter() - wall1, cpu_seconds() - cpu1
    load_after = os.getloadavg()

    per_second = stats.images / stats.seconds
    eval_per_second = len(test_set) / eval_seconds
    projection = {}
    for fraction in T4["sustained_fraction"]:
        rate = T4["fp32_peak_tflops"] * 1e12 * fraction
        seconds = FULL["epochs"] * (FULL["train"] * train_flops + FULL["test"] * forward_flops) / rate
        projection[f"{fraction:.0%} of peak"] = {"train_images_per_second": rate / train_flops,
                                                 "minutes": seconds / 60}
    cpu_minutes = FULL["epochs"] * (FULL["train"] / per_second + FULL["test"] / eval_per_second) / 60
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "load_average_before": load_before, "load_average_after": load_after},
        "epoch": {"images": stats.images, "seconds": stats.seconds, "cpu_seconds": cpu_train,
                  "images_per_second": per_second, "images_per_cpu_second": stats.images / cpu_train,
                  "train_loss_per_image": stats.loss, "test_loss_per_image": test_loss},
        "evaluation": {"images": len(test_set), "seconds": eval_seconds, "cpu_seconds": eval_cpu,
                       "images_per_second": eval_per_second},
        "flops_per_image": {"training_step": train_flops, "forward": forward_flops,
                            "forward_by_hand": by_hand},
        "achieved_cpu_gflops": per_second * train_flops / 1e9,
        "t4": T4, "full_profile": FULL, "t4_projection": projection,
        "full_profile_cpu_minutes_here": cpu_minutes,
    }
    (args.out / "measure.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(batch_losses, lw=0.8)
    ax.set_xlabel("batch (32 faces)")
    ax.set_ylabel("loss per image")
    ax.set_yscale("log")
    ax.set_title("one epoch on 9,000 local faces (CPU)")
    fig.tight_layout()
    fig.savefig(args.out / "loss.png", dpi=80)
    model.eval()
    faces = torch.stack([test_set[i][0] for i in range(8)])
    with torch.no_grad():
        mu, _ = model.encode(faces)
        fig = images.show_rows({"test faces": faces, "reconstructions": model.decode(mu)})
    fig.savefig(args.out / "reconstructions.png", dpi=80)
    fig, ax = plt.subplots(figsize=(6.6, 1.9))
    images.show_images(model.sample(16, generator=torch.Generator().manual_seed(0)), nrow=8,
                       title="faces sampled from the prior after one epoch", ax=ax)
    fig.savefig(args.out / "samples.png", dpi=80)


if __name__ == "__main__":
    main()
