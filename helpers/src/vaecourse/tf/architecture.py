"""A model's architecture as a table and a flow chart, and what it costs to run.

``keras.utils.plot_model`` needs pydot and Graphviz; these functions need neither. They read
each layer's output shape from the built Keras model (``Sequential`` or functional, as the
encoders and decoders of :mod:`vaecourse.tf.models` are).

:func:`layer_costs` counts each layer's parameters and **multiply-adds per image** (one
forward pass), the arithmetic that a layer's output shape implies:

* ``Dense``: inputs x units;
* ``Conv2D``: output height x output width x filters x (kernel height x kernel width x
  input channels);
* ``Conv2DTranspose``: input height x input width x input channels x (kernel height x
  kernel width x filters) (every input pixel scatters one kernel);
* pooling, upsampling, reshaping and activations: none (comparisons and copies, counted
  as 0).

A training step costs about three forward passes (forward, and the gradients with respect
to both the activations and the weights).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch


@dataclass(frozen=True)
class LayerInfo:
    """One row of an architecture: a layer's name, what it does, and its output shape."""

    name: str
    description: str
    output_shape: tuple[int | None, ...]


def _activation(layer: keras.layers.Layer) -> str:
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", "") if activation is not None else ""
    return "" if name in ("", "linear") else f" {name}"


def describe_layer(layer: keras.layers.Layer) -> str:
    """A short description, e.g. ``Conv2D 32 3x3 /2 relu`` or ``Dense 2 (z_mean)``.

    A layer given its own name (not Keras' automatic ``dense_3``) shows it in brackets.
    """
    text = _describe(layer)
    if not layer.name.replace("_", "").startswith(type(layer).__name__.lower()):
        text += f" ({layer.name})"
    return text


def _describe(layer: keras.layers.Layer) -> str:
    kind = type(layer).__name__
    if isinstance(layer, keras.layers.Dense):
        return f"Dense {layer.units}{_activation(layer)}"
    if isinstance(layer, keras.layers.Conv2DTranspose | keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        stride = layer.strides[0]
        pad = " same" if layer.padding == "same" else ""
        stride_text = f" /{stride}" if stride != 1 else ""
        return f"{kind} {layer.filters} {kh}x{kw}{stride_text}{pad}{_activation(layer)}"
    if isinstance(layer, keras.layers.Reshape):
        return f"Reshape {tuple(layer.target_shape)}"
    if isinstance(layer, keras.layers.MaxPooling2D):
        return f"MaxPooling2D {layer.pool_size[0]}x{layer.pool_size[1]}"
    if isinstance(layer, keras.layers.UpSampling2D):
        return f"UpSampling2D x{layer.size[0]}"
    return kind


def _shape(tensor) -> tuple[int | None, ...]:
    return tuple(None if d is None else int(d) for d in tensor.shape)


def layer_table(model: keras.Model, input_name: str = "Input") -> list[LayerInfo]:
    """The input and every layer of a built ``Sequential`` or functional model, in order.

    The first row is the input, described as ``input_name``.

    Raises:
        ValueError: if the model has no known input shape (build it with ``keras.Input``).
    """
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ValueError(
            f"model {model.name!r} has no input shape: start it with keras.Input(shape=...)."
        )
    rows = [LayerInfo("input", input_name, _shape(inputs[0]))]
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        rows.append(LayerInfo(layer.name, describe_layer(layer), _shape(layer.output)))
    return rows


def format_layer_table(model: keras.Model, input_name: str = "Input") -> str:
    """:func:`layer_table` as fixed-width text: one line per layer, with its output shape."""
    rows = layer_table(model, input_name)
    width = max(len(r.description) for r in rows)
    lines = [f"{model.name}:"]
    lines += [f"  {r.description:<{width}}  -> {r.output_shape}" for r in rows]
    return "\n".join(lines)


def _column(ax, rows: list[LayerInfo], x: float, top: float, step: float, color: str,
            title: str) -> tuple[float, float]:
    ax.text(x, top + 0.6 * step, title, ha="center", va="bottom", fontsize=10, weight="bold")
    y = top
    for i, row in enumerate(rows):
        shape = "(batch, " + ", ".join(str(d) for d in row.output_shape[1:]) + ")"
        box = FancyBboxPatch((x - 0.45, y - 0.32 * step), 0.9, 0.64 * step,
                             boxstyle="round,pad=0.02", fc=color, ec="0.3", lw=0.8)
        ax.add_patch(box)
        ax.text(x, y + 0.1 * step, row.description, ha="center", va="center", fontsize=7.5)
        ax.text(x, y - 0.16 * step, shape, ha="center", va="center", fontsize=7, color="0.25")
        if i + 1 < len(rows):
            ax.annotate("", xy=(x, y - step + 0.33 * step), xytext=(x, y - 0.33 * step),
                        arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.8})
        y -= step
    return top, y + step


def plot_architecture(encoder: keras.Model, decoder: keras.Model,
                      title: str | None = None) -> Figure:
    """Flow chart of a VAE: the encoder's layers (left), then the decoder's (right).

    Every box names the layer and the shape of the tensor it outputs; the arrow in the
    middle is the sampling of z from q(z|x).
    """
    enc, dec = layer_table(encoder, "Input x"), layer_table(decoder, "Input z")
    step = 1.0
    n = max(len(enc), len(dec))
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * n + 1.2), layout="tight")
    _, enc_bottom = _column(ax, enc, 0.0, 0.0, step, "#dbe9f6", "encoder q(z|x)")
    dec_top, _ = _column(ax, dec, 1.4, 0.0, step, "#fde2cf", "decoder p(x|z)")
    ax.annotate("", xy=(1.4 - 0.47, dec_top), xytext=(0.47, enc_bottom),
                arrowprops={"arrowstyle": "->", "color": "tab:red", "lw": 1.2,
                            "connectionstyle": "arc3,rad=-0.2"})
    ax.text(0.7, enc_bottom - 0.1 * step, "sample\nz ~ q(z|x)",
            ha="center", va="top", fontsize=7, color="tab:red",
            bbox={"fc": "white", "ec": "none", "alpha": 0.8})
    ax.set_xlim(-0.55, 1.95)
    ax.set_ylim(-(n - 0.5) * step, 1.2 * step)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


# ---- cost: parameters and multiply-adds -----------------------------------------------------
@dataclass(frozen=True)
class LayerCost:
    """One layer's parameters and multiply-adds per image (one forward pass)."""

    name: str
    description: str
    output_shape: tuple[int | None, ...]
    params: int
    multiply_adds: int


def _layer_multiply_adds(layer: keras.layers.Layer) -> int:
    in_shape = _shape(layer.input)[1:]
    out_shape = _shape(layer.output)[1:]
    if isinstance(layer, keras.layers.Dense):
        positions = math.prod(in_shape[:-1])  # a Dense on (h, w, c) acts on every position
        return positions * int(in_shape[-1]) * int(layer.units)
    if isinstance(layer, keras.layers.Conv2DTranspose):
        kh, kw = layer.kernel_size
        return math.prod(in_shape) * kh * kw * int(layer.filters)
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        groups = int(getattr(layer, "groups", 1) or 1)
        return math.prod(out_shape) * kh * kw * int(in_shape[-1]) // groups
    return 0


def layer_costs(model: keras.Model) -> list[LayerCost]:
    """Parameters and multiply-adds per image of every layer of a built model, in order.

    Models nested in ``model`` (a decoder inside a generator) are expanded into their layers.

    Raises:
        ValueError: if the model has no known input shape (build it with ``keras.Input``).
    """
    layer_table(model)  # the same clear error for a model without an input shape
    rows: list[LayerCost] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            rows += layer_costs(layer)
            continue
        rows.append(LayerCost(layer.name, describe_layer(layer), _shape(layer.output),
                              int(layer.count_params()), _layer_multiply_adds(layer)))
    return rows


def count_multiply_adds(model: keras.Model) -> int:
    """Multiply-adds per image of one forward pass through ``model`` (:func:`layer_costs`)."""
    return sum(row.multiply_adds for row in layer_costs(model))


def format_layer_costs(model: keras.Model) -> str:
    """:func:`layer_costs` as fixed-width text, with a total line."""
    rows = layer_costs(model)
    width = max([len(r.description) for r in rows] + [5])
    lines = [f"{model.name}:",
             f"  {'layer':<{width}}  {'output shape':<18} {'parameters':>10} {'multiply-adds':>13}"]
    for r in rows:
        shape = str(r.output_shape)
        lines.append(f"  {r.description:<{width}}  {shape:<18} {r.params:>10,} {r.multiply_adds:>13,}")
    lines.append(f"  {'total':<{width}}  {'':<18} {sum(r.params for r in rows):>10,} "
                 f"{sum(r.multiply_adds for r in rows):>13,}")
    return "\n".join(lines)


def format_cost_table(vaes: Mapping[str, object]) -> str:
    """One line per VAE: parameters and multiply-adds per image of its encoder and decoder.

    Args:
        vaes: name -> a model with ``encoder`` and ``decoder`` attributes (Keras models).
    """
    width = max([len(name) for name in vaes] + [5])
    lines = [f"{'model':<{width}} {'parameters':>10} {'encoder MACs':>12} {'decoder MACs':>12} "
             f"{'total MACs':>11}"]
    for name, vae in vaes.items():
        encoder, decoder = vae.encoder, vae.decoder  # type: ignore[attr-defined]
        params = int(encoder.count_params()) + int(decoder.count_params())
        enc, dec = count_multiply_adds(encoder), count_multiply_adds(decoder)
        lines.append(f"{name:<{width}} {params:>10,} {enc:>12,} {dec:>12,} {enc + dec:>11,}")
    lines.append("(MACs: multiply-adds per image for one forward pass; a training step costs about "
                 "three times that)")
    return "\n".join(lines)
