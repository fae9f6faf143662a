"""All training settings in one dataclass, saved (as a plain dict) in every checkpoint.

The checkpoint stores :func:`dataclasses.asdict` of :class:`TrainConfig`, so it
loads with ``torch.load(..., weights_only=True)`` and a later reader can rebuild
the exact encoder and preprocessing from it (:meth:`TrainConfig.from_dict`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

METHODS = ("simclr", "byol")
#: ``auto`` follows the device: ``cnn`` on a CPU, ``resnet`` (ResNet-18) on CUDA
ARCHS = ("auto", "cnn", "resnet")
#: architecture -> (width, layers) used when ``width``/``layers`` are left unset
ARCH_DEFAULTS: dict[str, tuple[int, list[int]]] = {
    # plain 4-stage CNN, 16 -> 128 channels, three convolutions per stage: deeper
    # and narrower than the earlier (32, [1, 1, 1, 1]), better in k-NN accuracy
    # at about its speed (`latentsky bench ssl`, contestant "shallow")
    "cnn": (16, [3, 3, 3, 3]),
    "resnet": (64, [2, 2, 2, 2]),  # ResNet-18
}
#: batch size by device type when ``batch_size`` is left unset (0)
BATCH_DEFAULTS = {"cpu": 256, "cuda": 512}
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
    arch: str = "auto"  # see ARCHS; resolved by for_device() when training starts
    width: int = 0  # 0 = ARCH_DEFAULTS of the architecture (h has 8 x width dims)
    layers: list[int] = field(default_factory=list)  # [] = ARCH_DEFAULTS
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
    batch_size: int = 0  # 0 = BATCH_DEFAULTS of the device
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
    preload: bool = True  # hold the training cutouts in memory when they fit
    threads: int = 0  # torch CPU threads, 0 = the cores this process may use

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            msg = f"method {self.method!r} is not one of {METHODS}"
            raise ValueError(msg)
        if self.optimizer not in OPTIMIZERS:
            msg = f"optimizer {self.optimizer!r} is not one of {OPTIMIZERS}"
            raise ValueError(msg)
        if self.arch not in ARCHS:
            msg = f"arch {self.arch!r} is not one of {ARCHS}"
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
        for name in ("crop", "epochs", "proj_dim"):
            if getattr(self, name) < 1:
                msg = f"{name} must be positive, got {getattr(self, name)}"
                raise ValueError(msg)
        if self.width < 0:
            msg = f"width must be positive (or 0 = by architecture), got {self.width}"
            raise ValueError(msg)
        if self.batch_size == 1 or self.batch_size < 0:
            msg = (
                f"batch_size must be >= 2 (contrastive pairs) or 0 = by device, "
                f"got {self.batch_size}"
            )
            raise ValueError(msg)
        if self.temperature <= 0:
            msg = f"temperature must be positive, got {self.temperature}"
            raise ValueError(msg)
        self.layers = [int(n) for n in self.layers]
        self.bands = [str(b) for b in self.bands]

    @property
    def embedding_dim(self) -> int:
        """Dimension of the representation ``h`` (8 x width for 4 stages).

        An unresolved config (``arch="auto"``) counts as the CPU choice.
        """
        c = self if self.is_resolved else self.for_device("cpu")
        return c.width * 2 ** (len(c.layers) - 1)

    @property
    def is_resolved(self) -> bool:
        """Architecture, width and layers are all set (what a checkpoint stores)."""
        return self.arch != "auto" and self.width > 0 and bool(self.layers)

    def for_device(self, device_type: str, threads: int | None = None) -> TrainConfig:
        """The concrete settings for a device: architecture, size, batch, threads.

        Parameters
        ----------
        device_type : str
            ``"cpu"`` or ``"cuda"`` (``torch.device.type``).
        threads : int, optional
            CPU threads to use when ``threads`` is 0 (default: the cores this
            process may run on).

        Returns
        -------
        TrainConfig
            A copy with ``arch`` (``cnn`` on a CPU, ``resnet`` on CUDA when
            ``auto``), ``width``/``layers`` from :data:`ARCH_DEFAULTS` when
            unset, ``batch_size`` from :data:`BATCH_DEFAULTS` when 0 and
            ``threads`` from the cores when 0.
        """
        arch = self.arch
        if arch == "auto":
            arch = "resnet" if device_type == "cuda" else "cnn"
        width, layers = ARCH_DEFAULTS[arch]
        return dataclasses.replace(
            self,
            arch=arch,
            width=self.width or width,
            layers=list(self.layers or layers),
            batch_size=self.batch_size or BATCH_DEFAULTS.get(device_type, 256),
            threads=self.threads or threads or available_cores(),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (what checkpoints and config.json store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are ignored.

        A dict without ``arch`` comes from a checkpoint written before the
        architecture was a setting: those were all ResNets.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in data.items() if k in names}
        kept.setdefault("arch", "resnet")
        return cls(**kept)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (``None`` values are ignored)."""
        return dataclasses.replace(
            self, **{k: v for k, v in changes.items() if v is not None}
        )


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else ``os.cpu_count``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
