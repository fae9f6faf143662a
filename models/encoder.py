"""ResNet encoder for small multi-band cutouts, the projector/predictor heads, and
:func:`build_model` (ResNet or the plain CNN of :mod:`models.cnn`).

A ResNet-18 layout (four stages of two basic blocks, widths w, 2w, 4w, 8w) with
the stem adapted to small astronomical cutouts: a 3x3 convolution
with stride 1 and no max-pool, so the first layers do not alias ("stripe") a
32-pixel input. Global average pooling gives the representation ``h``
(``8 * width`` dimensions, 512 at width 64); a 2-layer MLP projector maps it to
``z`` (128 dimensions) where the contrastive loss lives. Only ``h`` is used
downstream. No torchvision.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from models.cnn import PlainCNNEncoder
from models.config import TrainConfig


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNetEncoder(nn.Module):
    """ResNet backbone: ``(N, bands, S, S)`` -> ``h`` ``(N, width * 2**(stages-1))``.

    Parameters
    ----------
    in_channels : int
        Number of bands (any).
    width : int
        Channels of the first stage (64 for a standard ResNet-18).
    layers : sequence of int
        Basic blocks per stage (``[2, 2, 2, 2]`` = ResNet-18).
    """

    def __init__(
        self, in_channels: int, width: int = 64, layers: Sequence[int] = (2, 2, 2, 2)
    ) -> None:
        super().__init__()
        if in_channels < 1:
            msg = f"in_channels must be >= 1, got {in_channels}"
            raise ValueError(msg)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        stages = []
        c_in = width
        for i, n_blocks in enumerate(layers):
            c_out = width * 2**i
            blocks = [BasicBlock(c_in, c_out, 1 if i == 0 else 2)]
            blocks += [BasicBlock(c_out, c_out) for _ in range(n_blocks - 1)]
            stages.append(nn.Sequential(*blocks))
            c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.out_dim = c_in
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # zero-init the last BN of each block: every block starts as identity
        for m in self.modules():
            if isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Representation ``h``, ``(N, out_dim)``."""
        x = self.stages(self.stem(x))
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)


class MLPHead(nn.Module):
    """Linear -> BatchNorm -> ReLU -> Linear (SimCLR projector, BYOL predictor)."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden, bias=False),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SSLModel(nn.Module):
    """Encoder plus projector; ``forward`` returns ``(h, z)``.

    ``arch`` is ``"resnet"`` (:class:`ResNetEncoder`) or ``"cnn"``
    (:class:`models.cnn.PlainCNNEncoder`); the state dict keys are
    ``encoder.*`` and ``projector.*`` for both.
    """

    def __init__(
        self,
        in_channels: int,
        width: int = 64,
        layers: Sequence[int] = (2, 2, 2, 2),
        proj_hidden: int = 512,
        proj_dim: int = 128,
        arch: str = "resnet",
    ) -> None:
        super().__init__()
        if arch not in ENCODERS:
            msg = f"arch {arch!r} is not one of {sorted(ENCODERS)}"
            raise ValueError(msg)
        self.encoder = ENCODERS[arch](in_channels, width, layers)
        self.projector = MLPHead(self.encoder.out_dim, proj_hidden, proj_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return h, self.projector(h)


ENCODERS: dict[str, type[nn.Module]] = {
    "resnet": ResNetEncoder,
    "cnn": PlainCNNEncoder,
}


def build_model(config: TrainConfig) -> SSLModel:
    """The :class:`SSLModel` described by ``config`` (``bands`` must be set).

    An unresolved config (``arch="auto"``, unset width) builds the CPU choice
    (:meth:`TrainConfig.for_device`); training resolves it for its device first.
    """
    if not config.bands:
        raise ValueError("config.bands is empty: set it from the store before building")
    if not config.is_resolved:
        config = config.for_device("cpu")
    return SSLModel(
        len(config.bands),
        config.width,
        config.layers,
        config.proj_hidden,
        config.proj_dim,
        config.arch,
    )
