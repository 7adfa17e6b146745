"""Train the reference MNIST CVAE and write its figures and a summary (``make mnist-demo``).

    python benchmarks/mnist_demo.py --out out/demo                      # profile from VAECOURSE_PROFILE
    VAECOURSE_PROFILE=ci python benchmarks/mnist_demo.py --out out/demo # seconds on a CPU

An instructor's script, not part of the ``vaecourse`` package: it runs the package's
*reference* implementations of the MNIST notebook's fill-ins (``preprocess_images``,
``build_decoder``, ``reparameterize``, ``kl_reconstruction_loss``, ``train_step``), which the
student build of the package does not contain.

Writes into ``--out``: ``reconstructions.png``, ``latent_scatter.png``, ``manifold.png``
(latent size 2 only), ``samples.png``, ``training_curves.png``, ``one_per_class.png`` and
``summary.txt`` (settings, per-epoch table, final test ELBO, time taken).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from vaecourse import config, data, plots  # noqa: E402
from vaecourse.tf import latent as latent_space  # noqa: E402
from vaecourse.tf import losses, models, sampling, training  # noqa: E402


def _save(fig, path: Path) -> str:
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plots.display(fig)  # closes it outside notebooks
    return path.name


def run(out: Path, latent: int = 2, epochs: int | None = None, seed: int = 0,
        progress: bool = True) -> dict:
    """Train ``CVAE(latent)`` on MNIST in the current profile and write the figures to ``out``.

    Returns:
        ``{"history": History, "files": [names], "test_elbo": float, "seconds": float}``.

    Raises:
        data.DataNotFoundError: when MNIST is neither in ``VAECOURSE_DATA`` nor downloadable.
    """
    start = time.perf_counter()
    profile = config.get_profile()
    out.mkdir(parents=True, exist_ok=True)
    config.seed_everything(seed)
    # ci: 4096 images, 2 epochs of batch 32 at a higher learning rate (about 7 CPU-seconds):
    # enough for digit-like reconstructions; full: the whole of MNIST for 10 epochs.
    n_train, n_test = profile.pick(full=None, ci=4096), profile.pick(full=None, ci=512)
    epochs = epochs if epochs is not None else profile.pick(full=10, ci=2)
    batch_size = profile.pick(full=128, ci=32)
    learning_rate = profile.pick(full=1e-3, ci=2e-3)

    (x_train, _), (x_test, y_test) = data.load_mnist(max_train=n_train, max_test=n_test)
    x_train, x_test = data.preprocess_images(x_train), data.preprocess_images(x_test)
    print(f"{config.describe_runtime()}; MNIST {len(x_train)} train / {len(x_test)} test; "
          f"CVAE(latent={latent}), {epochs} epochs, batch {batch_size}")
    train_ds, test_ds = training.make_datasets(x_train, x_test, batch_size, seed=seed)
    model = models.CVAE(latent, decoder=models.build_decoder,
                        reparameterize=sampling.reparameterize, seed=seed)
    history = training.fit(model, train_ds, test_ds, epochs, keras.optimizers.Adam(learning_rate),
                           loss_fn=losses.kl_reconstruction_loss, step_fn=training.train_step,
                           eval_loss_fn=losses.compute_loss, progress=progress)

    files = []
    recon = training.reconstruct(model, x_test[:10])
    files.append(_save(plots.show_reconstructions(x_test[:10], recon, title="test images"),
                       out / "reconstructions.png"))
    z = np.concatenate([model.encode(b)[0].numpy() for b in test_ds])
    files.append(_save(plots.plot_latent_scatter(z, y_test), out / "latent_scatter.png"))
    if latent == 2:
        decode = functools.partial(latent_space.decode_latent, model)
        files.append(_save(plots.plot_latent_manifold(decode, n=20), out / "manifold.png"))
    files.append(_save(plots.show_images(model.sample(n=64).numpy(), nrow=8,
                                         title="samples from the prior"), out / "samples.png"))
    if epochs:
        files.append(_save(history.plot(), out / "training_curves.png"))
    files.append(_save(plots.show_one_per_class(x_test, y_test), out / "one_per_class.png"))
    seconds = time.perf_counter() - start
    summary = [
        "vaecourse demo: reference MNIST CVAE (TensorFlow / Keras 3)",
        config.describe_runtime(),
        f"data: {len(x_train)} train / {len(x_test)} test images (binarized)",
        f"model: CVAE(latent_dim={latent}, filters=32), {model.count_params()} parameters",
        f"training: {epochs} epochs, batch {batch_size}, Adam({learning_rate:g}), analytic-KL loss",
        "",
        history.to_table(),
        "",
        f"final test ELBO: {history.test_elbo[-1]:.2f} nats (single-sample Monte Carlo)"
        if epochs else "no training (0 epochs)",
        f"total time: {seconds:.1f} s",
        "figures: " + ", ".join(files),
    ]
    (out / "summary.txt").write_text("\n".join(summary) + "\n")
    files.append("summary.txt")
    print("\n".join(summary[5:]))
    print(f"wrote {len(files)} files to {out}")
    return {"history": history, "files": files,
            "test_elbo": history.test_elbo[-1] if epochs else float("nan"), "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="Train the reference MNIST CVAE; write figures.")
    parser.add_argument("--out", type=Path, required=True, help="folder for the figures")
    parser.add_argument("--latent", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=None,
                        help="default: 10 (full profile), 2 (ci profile)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        run(args.out, args.latent, args.epochs, args.seed, progress=sys.stderr.isatty())
    except data.DataNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
