"""Batched, float-safe augmentations of multi-band cutouts (seeds 000 and 002).

Everything works on whole batches of float tensors ``(N, bands, S, S)`` on any
device, drawing randomness from an explicit :class:`torch.Generator` so a run is
reproducible. One module per job: :mod:`~models.augment.preprocess` (sky
level/noise, linearising, stretch), :mod:`~models.augment.geometry` (one affine
resampling), :mod:`~models.augment.photometry` (gain, noise, contrast) and
:mod:`~models.augment.views` (the training view and the embed-time input).
"""

from models.augment.geometry import (
    affine_theta,
    centre_view,
    random_affine,
    random_flip,
    random_resized_crop,
    random_rot90,
    resized_crop_theta,
    rotate,
    warp,
)
from models.augment.photometry import (
    random_brightness_contrast,
    random_gain,
    random_noise,
)
from models.augment.preprocess import (
    BORDER,
    MAD_TO_SIGMA,
    asinh_stretch,
    linearise,
    sky_stats,
)
from models.augment.views import Preprocess, TwoViews, ViewAugment

__all__ = [
    "BORDER",
    "MAD_TO_SIGMA",
    "Preprocess",
    "TwoViews",
    "ViewAugment",
    "affine_theta",
    "asinh_stretch",
    "centre_view",
    "linearise",
    "random_affine",
    "random_brightness_contrast",
    "random_flip",
    "random_gain",
    "random_noise",
    "random_resized_crop",
    "random_rot90",
    "resized_crop_theta",
    "rotate",
    "sky_stats",
    "warp",
]
