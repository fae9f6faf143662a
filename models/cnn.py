"""A plain 4-stage CNN encoder: the fast default on a CPU.

Each stage is ``layers[i]`` 3x3 convolution + batch norm + ReLU blocks at
``width * 2**i`` channels; a 2x2 max-pool halves the resolution between
stages (no stride and no pooling before the first stage's convolutions, so a
32-pixel input is not aliased, seed 002). Global average pooling gives ``h``
(``8 * width`` dimensions for 4 stages). Compared with a ResNet of the same
widths it has no shortcuts and one convolution per block, which on a CPU is
where the time goes: the full-resolution stage holds most activations.
The CPU default (:data:`models.config.ARCH_DEFAULTS`) is width 16 with three
blocks per stage (128-dim ``h``): depth, not width, is what raised k-NN
accuracy on the demo survey.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from models.config import ARCH_DEFAULTS

_WIDTH, _LAYERS = ARCH_DEFAULTS["cnn"]


def conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    """3x3 convolution (same size), batch norm, ReLU."""
    return [
        nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


class PlainCNNEncoder(nn.Module):
    """Plain CNN backbone: ``(N, bands, S, S)`` -> ``h`` ``(N, width * 2**(stages-1))``.

    Parameters
    ----------
    in_channels : int
        Number of bands (any).
    width : int
        Channels of the first stage (``width * 8`` after 4 stages; default
        the CPU default of :data:`models.config.ARCH_DEFAULTS`).
    layers : sequence of int
        Convolution blocks per stage (default, like ``width``, the CPU
        default of :data:`models.config.ARCH_DEFAULTS`).

    Raises
    ------
    ValueError
        For no bands or no stages.
    """

    def __init__(
        self,
        in_channels: int,
        width: int = _WIDTH,
        layers: Sequence[int] = tuple(_LAYERS),
    ) -> None:
        super().__init__()
        if in_channels < 1 or not layers:
            msg = f"need >= 1 band and >= 1 stage, got {in_channels} and {layers}"
            raise ValueError(msg)
        blocks: list[nn.Module] = []
        c_in = in_channels
        for i, n_blocks in enumerate(layers):
            if i:
                blocks.append(nn.MaxPool2d(2))
            c_out = width * 2**i
            for _ in range(n_blocks):
                blocks += conv_block(c_in, c_out)
                c_in = c_out
        self.features = nn.Sequential(*blocks)
        self.out_dim = c_in
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Representation ``h``, ``(N, out_dim)``."""
        x = self.features(x)
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
