"""Self-supervised losses, one file each: NT-Xent, BYOL, supervised contrastive."""

from models.losses.byol import byol_loss
from models.losses.nt_xent import nt_xent
from models.losses.supcon import supcon_loss

__all__ = ["byol_loss", "nt_xent", "supcon_loss"]
