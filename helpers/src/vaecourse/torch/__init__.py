"""PyTorch reference implementations of the course: the CelebA 64x64 VAE.

Modules, each small and named for what it holds:

``models``        ``Encoder``, ``Decoder``, ``VAE``, ``reparameterize`` and ``eval_mode``
``losses``        ``loss_function``, the VAE's loss (the notebook's part 4)
``training``      ``train_step``, ``fit`` (device chosen automatically, tqdm, checkpoints)
``checkpoints``   saving and resuming a training run (survives a Colab disconnect)
``celeba``        the CelebA ``Dataset`` of tensors and its ``DataLoader``
``images``        ``make_grid`` for NCHW tensors, ``to_image`` (undoes the [-1, 1] scaling)
``latent``        encoding a dataset, interpolation and attribute directions
``original``      the original assignment's model and loop, re-created for the code review

Everything about CelebA that needs no framework is in :mod:`vaecourse.celeba`.
Importing this package imports PyTorch.
"""
