"""The convolutional autoencoders: the article's exact sizes, other input shapes, initialization."""

import math

import pytest
import torch
from torch import nn

from autoencoders.errors import ConfigError
from autoencoders.models.conv import decoder_plan, pooled_sizes, upsample_conv
from autoencoders.registry import create_model


def layer_shapes(model, x):
    """(layer type, output shape without batch) for every layer of encoder then decoder."""
    shapes, h = [], x
    for layer in [*model.encoder, *model.decoder.body]:
        h = layer(h)
        shapes.append((type(layer).__name__, tuple(h.shape[1:])))
    return shapes


def test_conv_matches_the_article_layer_by_layer():
    model = create_model("conv", (1, 28, 28))
    convs = [s for name, s in layer_shapes(model, torch.rand(2, 1, 28, 28)) if name != "ReLU"]
    assert convs == [  # the article's Keras model, 'th' dim ordering
        (16, 28, 28), (16, 14, 14), (8, 14, 14), (8, 7, 7), (8, 7, 7), (8, 4, 4),  # encoded (8, 4, 4)
        (8, 4, 4), (8, 8, 8), (8, 8, 8), (8, 16, 16), (16, 14, 14), (16, 28, 28), (1, 28, 28),
    ]
    assert model.code_shape == (8, 4, 4)
    assert sum(p.numel() for p in model.parameters()) == 4385  # Keras's count for this model


def test_conv_denoise_matches_the_article():
    model = create_model("conv-denoise", (1, 28, 28))
    convs = [s for name, s in layer_shapes(model, torch.rand(2, 1, 28, 28)) if name != "ReLU"]
    assert convs == [(32, 28, 28), (32, 14, 14), (32, 14, 14), (32, 7, 7),
                     (32, 7, 7), (32, 14, 14), (32, 14, 14), (32, 28, 28), (1, 28, 28)]
    assert sum(p.numel() for p in model.parameters()) == 28353


@pytest.mark.parametrize("size,levels,plan", [
    (28, 3, (0, 0)),   # the article's 'valid' conv: 16 -> 14 -> 28
    (8, 3, (1, 0)),    # digits: 8 -> 4 -> 2 -> 1 -> 8 exactly
    (32, 3, (1, 0)),
    (28, 2, (1, 0)),   # conv-denoise: 28 -> 7 -> 28
    (30, 3, (1, 2)),   # 30 -> 4 -> 32, crop 2
    (20, 3, (0, 0)),   # 20 -> 3 -> 12 -> 'valid' 10 -> 20
])
def test_decoder_plan(size, levels, plan):
    assert decoder_plan(size, levels) == plan
    assert pooled_sizes(7, 1) == [7, 4]  # Keras 'same' pooling rounds up


@pytest.mark.parametrize("name", ["conv", "conv-denoise"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32), (1, 30, 20), (3, 7, 9), (1, 28, 28)])
def test_other_shapes_reconstruct_to_the_input_shape(name, shape):
    model = create_model(name, shape)
    out = model(torch.rand(2, *shape))
    assert out.logits.shape == (2, *shape)
    assert out.z.shape[1:] == model.code_shape


def test_unusable_shapes_fail_at_creation_naming_the_shape():
    with pytest.raises(ConfigError, match=r"\(1, 2, 2\).*too small"):
        create_model("conv", (1, 2, 2))
    with pytest.raises(ConfigError, match=r"\(28, 28\).*--as-sequence"):
        create_model("conv", (28, 28))
    with pytest.raises(ConfigError, match="filters"):
        create_model("conv", (1, 28, 28), filters=())


def test_filters_are_configurable():
    model = create_model("conv", (1, 16, 16), filters=(4, 6))
    assert model.code_shape == (6, 4, 4)
    assert model(torch.rand(1, 1, 16, 16)).logits.shape == (1, 1, 16, 16)


def test_glorot_uniform_weights_and_zero_biases():
    torch.manual_seed(0)
    model = create_model("conv-denoise", (1, 28, 28))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_in, fan_out = m.in_channels * 9, m.out_channels * 9
            bound = math.sqrt(6 / (fan_in + fan_out))
            assert m.weight.abs().max() <= bound
            assert m.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.15)
            assert torch.equal(m.bias, torch.zeros_like(m.bias))


def plain_decoder(decoder, code):
    """The decoder as its modules read: every upsampling materialised, then the conv."""
    h, w = decoder.size
    return decoder.body(code)[..., :h, :w]


@pytest.mark.parametrize("model, shape", [("conv", (1, 28, 28)), ("conv-denoise", (1, 28, 28)),
                                          ("conv", (3, 32, 32)), ("conv", (1, 8, 8)), ("conv", (2, 13, 10))])
def test_the_decoders_last_conv_at_low_resolution_is_the_plain_upsampled_conv(model, shape):
    torch.manual_seed(0)
    net = create_model(model, shape)
    code = torch.randn(3, *net.code_shape, requires_grad=True)
    fast, plain = net.decoder(code), plain_decoder(net.decoder, code)
    assert fast.shape == plain.shape == (3, *shape)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)
    grads = [torch.autograd.grad(y.square().sum(), [code, *net.decoder.parameters()]) for y in (fast, plain)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_upsample_conv_works_without_a_bias_and_in_channels_last():
    torch.manual_seed(0)
    conv = nn.Conv2d(5, 2, 3, padding=1, bias=False).to(memory_format=torch.channels_last)
    x = torch.randn(2, 5, 6, 7).to(memory_format=torch.channels_last)
    torch.testing.assert_close(upsample_conv(x, conv), conv(nn.functional.interpolate(x, scale_factor=2)),
                               rtol=1e-5, atol=1e-5)


def test_the_encoder_pools_before_its_relu_which_is_the_same_function_and_gradient():
    torch.manual_seed(0)
    net = create_model("conv", (1, 13, 28))
    x = torch.rand(4, 1, 13, 28)
    assert [type(m).__name__ for m in net.encoder[:3]] == ["Conv2d", "MaxPool2d", "ReLU"]

    def relu_then_pool(x):
        for conv, pool, _ in zip(*[iter(net.encoder)] * 3):
            x = pool(conv(x).relu())
        return x

    fast, plain = net.encoder(x), relu_then_pool(x)
    torch.testing.assert_close(fast, plain)
    grads = [torch.autograd.grad(y.square().sum(), list(net.encoder.parameters())) for y in (fast, plain)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)
