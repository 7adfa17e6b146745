"""NumPy versions of the VAE's layers, to check PyTorch modules against plain formulas.

The tests (package tests and the notebook's hidden tests) run a module in eval mode,
read its parameters, and recompute its output here in float64, so that a missing or
wrong activation, a swapped layer or a wrong reshape shows up as a numerical difference.
All arrays are NCHW like PyTorch; weights have PyTorch's layouts.
"""

from __future__ import annotations

import numpy as np


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``x @ weight.T + bias`` (weight: (out, in))."""
    y = x @ weight.T
    return y if bias is None else y + bias


def conv2d(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: int = 2, padding: int = 1
) -> np.ndarray:
    """2-D cross-correlation; x (B, C, H, W), weight (out, C, k, k)."""
    k = weight.shape[-1]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out_h = (xp.shape[2] - k) // stride + 1
    out_w = (xp.shape[3] - k) // stride + 1
    y = np.zeros((x.shape[0], weight.shape[0], out_h, out_w))
    for i in range(k):
        for j in range(k):
            patch = xp[:, :, i : i + stride * out_h : stride, j : j + stride * out_w : stride]
            y += np.einsum("bchw,oc->bohw", patch, weight[:, :, i, j])
    return y if bias is None else y + bias[None, :, None, None]


def conv_transpose2d(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: int = 2, padding: int = 1
) -> np.ndarray:
    """Transposed convolution; x (B, C, H, W), weight (C, out, k, k).

    Every input pixel adds ``x[b, c, h, w] * weight[c, :, :, :]`` at ``(h*stride, w*stride)``
    of a full-size canvas; ``padding`` rows/columns are then cut from each border.
    """
    batch, _, height, width = x.shape
    k = weight.shape[-1]
    full = np.zeros((batch, weight.shape[1], (height - 1) * stride + k, (width - 1) * stride + k))
    for i in range(k):
        for j in range(k):
            full[:, :, i : i + stride * (height - 1) + 1 : stride,
                 j : j + stride * (width - 1) + 1 : stride] += np.einsum(
                "bchw,co->bohw", x, weight[:, :, i, j]
            )  # fmt: skip
    y = full[:, :, padding : full.shape[2] - padding, padding : full.shape[3] - padding]
    return y if bias is None else y + bias[None, :, None, None]


def batch_norm(
    x: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    weight: np.ndarray | None,
    bias: np.ndarray | None,
    eps: float = 1e-5,
) -> np.ndarray:
    """BatchNorm2d in eval mode, with the running statistics ``mean`` and ``var``."""
    shape = (1, -1, 1, 1)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def leaky_relu(x: np.ndarray, slope: float = 0.2) -> np.ndarray:
    """``x`` where positive, ``slope * x`` elsewhere."""
    return np.where(x > 0, x, slope * x)


def _array(tensor) -> np.ndarray | None:
    return None if tensor is None else tensor.detach().cpu().double().numpy()


def decoder_numpy(decoder, z: np.ndarray, slope: float = 0.2) -> np.ndarray:
    """The course decoder's output, recomputed in NumPy with ``decoder``'s own parameters.

    Reads the one ``nn.Linear``, the three ``nn.ConvTranspose2d`` and the two
    ``nn.BatchNorm2d`` modules of ``decoder`` (in definition order, wherever they sit)
    and applies: linear -> reshape (B, C, 8, 8) -> [convT -> BN -> LeakyReLU(slope)] x 2
    -> convT -> tanh, with BatchNorm in eval mode.

    Raises:
        AssertionError: if the decoder does not have exactly those parameterized layers.
    """
    from torch import nn

    modules = list(decoder.modules())
    linears = [m for m in modules if isinstance(m, nn.Linear)]
    convs = [m for m in modules if isinstance(m, nn.ConvTranspose2d)]
    norms = [m for m in modules if isinstance(m, nn.BatchNorm2d)]
    if (len(linears), len(convs), len(norms)) != (1, 3, 2):
        raise AssertionError(
            "the decoder should have 1 nn.Linear, 3 nn.ConvTranspose2d and 2 nn.BatchNorm2d "
            f"layers; it has {len(linears)}, {len(convs)} and {len(norms)}"
        )
    for conv in convs:
        if (conv.kernel_size, conv.stride, conv.padding) != ((4, 4), (2, 2), (1, 1)):
            raise AssertionError(
                "every nn.ConvTranspose2d should have kernel_size=4, stride=2, padding=1; "
                f"found {conv}"
            )
    h = linear(np.asarray(z, dtype=np.float64), _array(linears[0].weight), _array(linears[0].bias))
    h = h.reshape(h.shape[0], convs[0].in_channels, 8, 8)
    for conv, norm in zip(convs[:2], norms, strict=True):
        h = conv_transpose2d(h, _array(conv.weight), _array(conv.bias))
        h = batch_norm(h, _array(norm.running_mean), _array(norm.running_var),
                       _array(norm.weight), _array(norm.bias), norm.eps)
        h = leaky_relu(h, slope)
    h = conv_transpose2d(h, _array(convs[2].weight), _array(convs[2].bias))
    return np.tanh(h)


def randomize_batch_norm(module, seed: int = 0) -> None:
    """Give every BatchNorm layer random running statistics and affine parameters.

    At initialization BatchNorm in eval mode is the identity, which would hide a
    missing or misplaced BatchNorm from a comparison; call this before one.
    """
    import torch
    from torch import nn

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                if m.running_mean is not None:
                    m.running_mean.copy_(torch.randn(n, generator=generator) * 0.5)
                    m.running_var.copy_(torch.rand(n, generator=generator) * 1.5 + 0.25)
                if m.weight is not None:
                    m.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                    m.bias.copy_(torch.randn(n, generator=generator) * 0.3)
