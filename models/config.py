"""All training settings in one dataclass, saved (as a plain dict) in every checkpoint.

The checkpoint stores :func:`dataclasses.asdict` of :class:`TrainConfig`, so it
loads with ``torch.load(..., weights_only=True)`` and a later reader can rebuild
the exact encoder and preprocessing from it (:meth:`TrainConfig.from_dict`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

METHODS = ("simclr", "byol")
OPTIMIZERS = ("adamw", "lars")
STRETCHES = ("asinh", "none")


@dataclass
class TrainConfig:
    """Settings of one training run (model, augmentations, optimisation).

    Attributes are grouped by role; every field is a JSON-able scalar or list.
    ``bands`` and ``cutout_size`` are filled from the store at training time and
    checked again when a checkpoint is used to embed another store.
    """

    # --- method and model
    method: str = "simclr"
    width: int = 64  # ResNet-18: h has 512 dimensions
    layers: list[int] = field(default_factory=lambda: [2, 2, 2, 2])
    proj_hidden: int = 512
    proj_dim: int = 128
    pred_hidden: int = 512  # BYOL predictor
    # --- data: set from the store
    bands: list[str] = field(default_factory=list)
    cutout_size: int = 0
    # --- preprocessing (identical at train and embed time)
    crop: int = 32  # network input side in pixels
    eval_fraction: float = 0.6  # embed: centre region side / cutout side
    stretch: str = "asinh"
    stretch_softening: float = 3.0  # asinh(x / (softening * sky sigma))
    # --- augmentations (see models.augment)
    crop_min: float = 0.4  # random region side / cutout side, lower bound
    crop_max: float = 0.8  # upper bound
    aspect: float = 0.15  # log aspect-ratio jitter
    rotate: bool = True  # arbitrary angles
    flip: bool = True
    shear: float = 0.15  # radians
    translate: float = 0.08  # fraction of the cutout side
    brightness: float = 0.2  # additive, stretched units
    contrast: float = 0.2  # multiplicative, 1 +- contrast
    gain: float = 0.1  # per-band multiplicative jitter of the flux
    noise: float = 1.0  # added noise up to ``noise`` x the image's sky sigma
    # --- optimisation
    epochs: int = 10
    batch_size: int = 256
    optimizer: str = "adamw"
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    temperature: float = 0.2
    byol_tau: float = 0.99
    max_bad_steps: int = 5  # consecutive non-finite losses before aborting
    # --- runtime
    seed: int = 0
    num_workers: int = 1
    threads: int = 0  # torch CPU threads, 0 = leave torch's default

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            msg = f"method {self.method!r} is not one of {METHODS}"
            raise ValueError(msg)
        if self.optimizer not in OPTIMIZERS:
            msg = f"optimizer {self.optimizer!r} is not one of {OPTIMIZERS}"
            raise ValueError(msg)
        if self.stretch not in STRETCHES:
            msg = f"stretch {self.stretch!r} is not one of {STRETCHES}"
            raise ValueError(msg)
        if not 0 < self.crop_min <= self.crop_max:
            msg = (
                f"crop_min {self.crop_min} / crop_max {self.crop_max} must satisfy "
                "0 < min <= max"
            )
            raise ValueError(msg)
        for name in ("width", "crop", "epochs", "batch_size", "proj_dim"):
            if getattr(self, name) < 1:
                msg = f"{name} must be positive, got {getattr(self, name)}"
                raise ValueError(msg)
        if self.batch_size < 2:
            msg = f"batch_size must be >= 2 (contrastive pairs), got {self.batch_size}"
            raise ValueError(msg)
        if self.temperature <= 0:
            msg = f"temperature must be positive, got {self.temperature}"
            raise ValueError(msg)
        self.layers = [int(n) for n in self.layers]
        self.bands = [str(b) for b in self.bands]

    @property
    def embedding_dim(self) -> int:
        """Dimension of the representation ``h`` (8 x width for 4 stages)."""
        return self.width * 2 ** (len(self.layers) - 1)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (what checkpoints and config.json store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (``None`` values are ignored)."""
        return dataclasses.replace(
            self, **{k: v for k, v in changes.items() if v is not None}
        )
