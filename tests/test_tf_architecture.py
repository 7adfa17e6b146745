"""vaecourse.tf.architecture: layer tables and flow charts read the right shapes from the models."""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyBboxPatch
from vaecourse.tf import architecture, models
from vaecourse.tf.sampling import reparameterize


def cvae(latent_dim, image_shape=(28, 28, 1)):
    return models.CVAE(latent_dim, image_shape, decoder=models.build_decoder,
                       reparameterize=reparameterize)


@pytest.mark.parametrize("image_shape, latent_dim", [((28, 28, 1), 2), ((32, 32, 3), 16)])
def test_cvae_tables_follow_the_tensor_shapes(image_shape, latent_dim):
    model = cvae(latent_dim, image_shape)
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
    encoder, decoder = models.build_pooling_encoder(2, intermediate_dim=16), models.build_pooling_decoder(2)
    enc = [r.description for r in architecture.layer_table(encoder)]
    assert "MaxPooling2D 2x2" in enc
    assert enc[-2:] == ["Dense 2 (z_mean)", "Dense 2 (z_log_var)"]
    dec = architecture.layer_table(decoder)
    assert "UpSampling2D x2" in [r.description for r in dec]
    assert dec[-1].output_shape == (None, 28, 28, 1)


def test_text_table_has_one_line_per_layer():
    model = cvae(2)
    text = architecture.format_layer_table(model.decoder, "Input z")
    lines = text.splitlines()
    assert lines[0] == "decoder:"
    assert len(lines) == 1 + len(architecture.layer_table(model.decoder))
    assert lines[1].split()[:2] == ["Input", "z"] and lines[-1].endswith("(None, 28, 28, 1)")


def test_flow_chart_draws_one_box_per_row():
    model = cvae(2)
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


def test_multiply_adds_of_the_cvae_by_hand():
    """The counts the MNIST notebook's pooling answer quotes: 5.47 M multiply-adds for the CVAE."""
    model = cvae(2)
    enc = [r.multiply_adds for r in architecture.layer_costs(model.encoder)]
    assert enc == [13 * 13 * 32 * 9, 6 * 6 * 64 * 9 * 32, 0, 2304 * 4]  # unpadded: 28 -> 13 -> 6
    dec = [r.multiply_adds for r in architecture.layer_costs(model.decoder)]
    assert dec == [2 * 1568, 0, 7 * 7 * 32 * 9 * 64, 14 * 14 * 64 * 9 * 32, 28 * 28 * 32 * 9]
    total = architecture.count_multiply_adds(model.encoder) + architecture.count_multiply_adds(model.decoder)
    assert total == 5_466_208
    params = [r.params for r in architecture.layer_costs(model.decoder)]
    assert sum(params) == model.decoder.count_params()


def test_multiply_adds_of_the_sheets_models_and_a_nested_generator():
    enc, dec = models.build_pooling_encoder(2), models.build_pooling_decoder(2)
    assert [r.multiply_adds for r in architecture.layer_costs(enc)] == [
        28 * 28 * 16 * 9, 0, 14 * 14 * 8 * 9 * 16, 0, 0, 392 * 16, 16 * 2, 16 * 2]
    assert [r.multiply_adds for r in architecture.layer_costs(dec)] == [
        2 * 16, 16 * 512, 0, 8 * 8 * 8 * 9 * 8, 0, 14 * 14 * 16 * 9 * 8, 0, 28 * 28 * 16 * 9]
    dense = models.build_dense_decoder(2)
    generator = models.build_generator(dense)
    assert architecture.count_multiply_adds(generator) == architecture.count_multiply_adds(dense) == (
        2 * 256 + 256 * 784)
    dense_on_maps = keras.Sequential([keras.Input((4, 5, 3)), keras.layers.Dense(7)])
    assert architecture.count_multiply_adds(dense_on_maps) == 4 * 5 * 3 * 7  # per position


def test_cost_tables_list_every_model_and_layer():
    vaes = {"CVAE": cvae(2),
            "pooling": models.VAE(models.build_pooling_encoder(2), models.build_pooling_decoder(2),
                                  reparameterize=reparameterize)}
    lines = architecture.format_cost_table(vaes).splitlines()
    assert lines[0].split()[:2] == ["model", "parameters"] and len(lines) == 4
    assert lines[1].split() == ["CVAE", "69,989", "721,440", "4,744,768", "5,466,208"]
    assert lines[2].split()[0] == "pooling" and lines[2].split()[-1] == "728,800"
    text = architecture.format_layer_costs(vaes["CVAE"].decoder).splitlines()
    assert text[0] == "decoder:" and text[-1].split() == ["total", "41,953", "4,744,768"]
    assert len(text) == 2 + 5 + 1
