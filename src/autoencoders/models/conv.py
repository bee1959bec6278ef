"""Convolutional autoencoders: the article's conv net (a (8, 4, 4) code) and its denoising net.

Encoder, for each width c in `filters`: conv3x3(c, 'same') + ReLU, then 2x2 max-pooling with
Keras's 'same' rule (ceil: 7 -> 4). Decoder, for each width in reversed(filters): conv3x3 + ReLU,
then 2x nearest upsampling (Keras's UpSampling2D repeats pixels); a last conv3x3 to the input's
channel count gives the logits. Weights are Glorot-uniform, as Keras's (models/init.py).

Sizes. The decoder doubles back from the code, so it ends at 2**L * code_size, which can
exceed the input's size because 'same' pooling rounds up (28 -> 14 -> 7 -> 4 -> ... -> 32).
The article fixes 28 with one 'valid' conv before the last upsampling (16 -> 14 -> 28). We
generalize, per spatial dimension: that 'valid' conv is used whenever it lands exactly on the
input's size; otherwise every conv is 'same' and the excess rows/columns are cropped from the
bottom/right of the logits, which is where 'same' pooling padded, so decoder and encoder grids
stay aligned. 28x28 gives the article's sizes exactly, 8x8 digits and 32x32 images need
neither trick, and any other size works through the crop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..registry import model_spec as spec
from ..registry import register_model
from .base import Autoencoder
from .init import keras_init


def pooled_sizes(size: int, levels: int) -> list[int]:
    """[size, ceil(size / 2), ...]: one spatial size through `levels` 'same' poolings."""
    sizes = [int(size)]
    for _ in range(levels):
        sizes.append(-(-sizes[-1] // 2))
    return sizes


def decoder_plan(size: int, levels: int) -> tuple[int, int]:
    """(padding of the decoder's last hidden conv, pixels cropped at the end), for one dimension.

    Padding 0 is the article's 'valid' trick (16 -> 14 -> 28 for 28 pixels); padding 1 is
    'same', followed by a crop of the excess (0 when the doubling lands exactly).
    """
    before_last_up = pooled_sizes(size, levels)[-1] * 2 ** (levels - 1)
    if 2 * (before_last_up - 2) == size:
        return 0, 0
    return 1, 2 * before_last_up - size


def check_image_shape(model: str, shape: tuple, levels: int) -> tuple[int, int, int]:
    """(C, H, W) of an image input that `levels` poolings can act on, else a ConfigError."""
    if len(shape) != 3:
        raise ConfigError(f"{model} takes images shaped (C, H, W); got samples of shape {shape}"
                          " (sequences (T, F) go to lstm or gru; --as-sequence reads images as rows)")
    c, h, w = shape
    for name, n in (("height", h), ("width", w)):
        sizes = pooled_sizes(n, levels)
        if min(sizes[:-1]) < 2:
            path = " -> ".join(map(str, sizes))
            raise ConfigError(f"{model}: input {shape} is too small for {levels} poolings ({name} "
                              f"{path}); use fewer filters entries or larger images (--resize)")
    return c, h, w


def check_filters(model: str, filters) -> tuple[int, ...]:
    filters = tuple(int(f) for f in filters)
    if not filters or min(filters) < 1:
        raise ConfigError(f"{model}: filters must be one or more positive widths, got {filters}")
    return filters


def conv_encoder(in_channels: int, filters) -> nn.Sequential:
    """(B, in_channels, H, W) -> (B, filters[-1], h, w): conv3x3 + ReLU + 'same' max-pool per width.

    The ReLU runs after the pooling: max and ReLU commute (ReLU is monotonic), so the function and
    its gradient are the same, and the ReLU touches a quarter of the pixels.
    """
    layers: list[nn.Module] = []
    for c in filters:
        layers += [nn.Conv2d(in_channels, c, 3, padding=1), nn.MaxPool2d(2, ceil_mode=True), nn.ReLU()]
        in_channels = c
    return nn.Sequential(*layers)


def upsampled_kernels(weight: torch.Tensor) -> torch.Tensor:
    """A 3x3 conv's weight (O, C, 3, 3) -> the (4 O, C, 3, 3) weight that computes it on 2x nearest-
    upsampled input at the input's own resolution: output channel 4 o + 2 a + b holds output pixel
    (2 i + a, 2 j + b), the order `pixel_shuffle` reads.

    Along each dimension an upsampled pixel 2 i + a sees input rows (i - 1, i, i) for a = 0 and
    (i, i, i + 1) for a = 1, so the taps that land on the same input row add up.
    """
    def parities(k: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        k0, k1, k2 = k.unbind(dim)
        zero = torch.zeros_like(k0)
        return torch.stack([k0, k1 + k2, zero], dim), torch.stack([zero, k0 + k1, k2], dim)

    phases = [kab for ka in parities(weight, 2) for kab in parities(ka, 3)]  # order 2 a + b
    return torch.stack(phases, 1).flatten(0, 1)


def upsample_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """`conv(nearest 2x upsampling of x)` for a 3x3 'same' conv, computed at x's resolution.

    The same function (to float rounding) with the same weights. It pays for the decoder's last
    conv, whose few output channels (the image's) make oneDNN slow at full resolution: it reads
    an input 4x smaller and writes 4x more channels (bench/conv_last_layer.py).
    """
    bias = None if conv.bias is None else conv.bias.repeat_interleave(4)
    return F.pixel_shuffle(F.conv2d(x, upsampled_kernels(conv.weight), bias, padding=1), 2)


class ConvDecoder(nn.Module):
    """(B, filters[-1], h, w) -> logits (B, out_channels, H, W), mirroring `conv_encoder(filters)`.

    The last hidden conv's padding and the final crop come from `decoder_plan` per dimension.
    The last upsampling and the conv after it run as one `upsample_conv` (the modules stay, so a
    run's weights keep their names).
    """

    def __init__(self, filters, out_channels: int, size: tuple[int, int]):
        super().__init__()
        widths = list(filters)[::-1]
        plans = [decoder_plan(n, len(widths)) for n in size]
        self.size = tuple(size)
        self.crop = tuple(crop for _, crop in plans)
        layers: list[nn.Module] = []
        in_channels = widths[0]
        for i, c in enumerate(widths):
            last = i == len(widths) - 1
            padding = tuple(p for p, _ in plans) if last else 1
            layers += [nn.Conv2d(in_channels, c, 3, padding=padding), nn.ReLU(),
                       nn.Upsample(scale_factor=2, mode="nearest")]
            in_channels = c
        layers.append(nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        h, w = self.size
        *hidden, _, last = self.body  # ..., the last Upsample, the conv to the output channels
        features = code
        for layer in hidden:
            features = layer(features)
        return upsample_conv(features, last)[..., :h, :w]  # drop the bottom/right excess (ceil pooling's pad)


class ConvAutoencoder(Autoencoder):
    """x : (B, C, H, W) -> z : (B, filters[-1], ceil(H / 2**L), ceil(W / 2**L)) -> logits like x.

    With the article's filters=(16, 8, 8) on (1, 28, 28): z is (B, 8, 4, 4), 128 numbers.
    """

    def __init__(self, input_shape, filters=(16, 8, 8), loss="bce", name="conv"):
        super().__init__(input_shape, loss)
        filters = check_filters(name, filters)
        channels, h, w = check_image_shape(name, self.input_shape, len(filters))
        self.filters = filters
        self.code_shape = (filters[-1], pooled_sizes(h, len(filters))[-1], pooled_sizes(w, len(filters))[-1])
        self.encoder = conv_encoder(channels, filters)
        self.decoder = ConvDecoder(filters, channels, (h, w))
        keras_init(self)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


@register_model(spec("conv"))
def conv(input_shape, o):
    return ConvAutoencoder(input_shape, o.filters, o.loss, name="conv")


@register_model(spec("conv-denoise"))
def conv_denoise(input_shape, o):
    return ConvAutoencoder(input_shape, o.filters, o.loss, name="conv-denoise")
