"""vaecourse.tf.architecture: layer tables and flow charts read the right shapes from the models."""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyBboxPatch
from vaecourse.tf import architecture, models


@pytest.mark.parametrize("image_shape, latent_dim", [((28, 28, 1), 2), ((32, 32, 3), 16)])
def test_cvae_tables_follow_the_tensor_shapes(image_shape, latent_dim):
    model = models.CVAE(latent_dim, image_shape=image_shape)
    h, w, c = image_shape
    enc = architecture.layer_table(model.encoder)
    dec = architecture.layer_table(model.decoder)
    assert enc[0].output_shape == (None, *image_shape)
    assert enc[-1].output_shape == (None, 2 * latent_dim)
    assert [r.description.split()[0] for r in enc] == ["Input", "Conv2D", "Conv2D", "Flatten", "Dense"]
    assert dec[0].output_shape == (None, latent_dim)
    assert dec[2].description == f"Reshape {(h // 4, w // 4, 32)}"
    assert [r.output_shape for r in dec[3:]] == [
        (None, h // 2, w // 2, 64), (None, h, w, 32), (None, h, w, c)]
    assert dec[-1].description == f"Conv2DTranspose {c} 3x3 same"  # no activation: logits
    assert dec[3].description == "Conv2DTranspose 64 3x3 /2 same relu"


def test_pooling_vae_shows_pooling_upsampling_and_its_two_named_heads():
    model = models.PoolingVAE(2, intermediate_dim=16)
    enc = [r.description for r in architecture.layer_table(model.encoder)]
    assert "MaxPooling2D 2x2" in enc
    assert enc[-2:] == ["Dense 2 (z_mean)", "Dense 2 (z_log_var)"]
    dec = architecture.layer_table(model.decoder)
    assert "UpSampling2D x2" in [r.description for r in dec]
    assert dec[-1].output_shape == (None, 28, 28, 1)


def test_text_table_has_one_line_per_layer():
    model = models.CVAE(2)
    text = architecture.format_layer_table(model.decoder, "Input z")
    lines = text.splitlines()
    assert lines[0] == "decoder:"
    assert len(lines) == 1 + len(architecture.layer_table(model.decoder))
    assert lines[1].split()[:2] == ["Input", "z"] and lines[-1].endswith("(None, 28, 28, 1)")


def test_flow_chart_draws_one_box_per_row():
    model = models.CVAE(2)
    fig = architecture.plot_architecture(model.encoder, model.decoder, title="CVAE")
    boxes = [p for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)]
    rows = len(architecture.layer_table(model.encoder)) + len(architecture.layer_table(model.decoder))
    assert len(boxes) == rows
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert "(batch, 7, 7, 32)" in texts and "(batch, 28, 28, 1)" in texts
    plt.close(fig)


def test_a_model_without_input_shape_is_a_clear_error():
    unbuilt = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="keras.Input"):
        architecture.layer_table(unbuilt)
