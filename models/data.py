"""Stream cutouts from a store's Zarr shards into a torch DataLoader.

Reading one shard (``explorer.store.SHARD_SOURCES`` sources, one file) at a
time is the cheap access pattern of the store; random single-source reads are
not. :class:`ShardBatches` therefore shuffles the order of shards and the
sources within each shard (and across the shard boundary through a carry-over
buffer) and yields whole batches, so the DataLoader runs with
``batch_size=None`` and its workers read while the main process trains.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from explorer.errors import DataError
from explorer.store import SHARD_SOURCES, Store, layout

#: What a DataLoader puts before a reader process's traceback when it re-raises.
_WORKER_TRACEBACK = "Original Traceback (most recent call last)"


class ShardReadError(DataError):
    """A shard of ``cutouts.zarr`` cannot be read: the store is damaged.

    A DataLoader re-raises a reader process's exception as
    ``type(exc)(text)`` where ``text`` holds the worker's whole traceback;
    this constructor keeps only the original one-line message, so that the
    user sees the rows and the file, not a traceback.
    """

    def __init__(self, message: str) -> None:
        if _WORKER_TRACEBACK in message:
            message = message.rstrip().rsplit(f"{type(self).__name__}: ", 1)[-1]
        super().__init__(message)


class ShardBatches(IterableDataset):
    """Batches of store rows and raw cutouts, read shard by shard.

    Parameters
    ----------
    root : path-like
        Store directory (opened lazily in each worker).
    batch_size : int
        Sources per yielded batch.
    rows : ndarray, optional
        Subset of store rows to use (default all), e.g. a training split.
    shuffle : bool
        Shuffle shard order and sources (training); else row order (embedding).
    drop_last : bool
        Drop the final incomplete batch (training keeps batch norm statistics sane).
    seed : int
        Base seed; combined with the epoch set by :meth:`set_epoch`.
    shard_size : int
        Sources per shard (the store's ``SHARD_SOURCES``).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        batch_size: int,
        *,
        rows: np.ndarray | None = None,
        shuffle: bool = True,
        drop_last: bool = True,
        seed: int = 0,
        shard_size: int = SHARD_SOURCES,
    ) -> None:
        super().__init__()
        self.root = str(root)
        self.batch_size = int(batch_size)
        n = Store.open(self.root).n_sources
        self.rows = (
            np.arange(n) if rows is None else np.sort(np.asarray(rows, np.int64))
        )
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.shard_size = shard_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use a different (reproducible) shuffle for ``epoch``."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n = len(self.rows)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _shards(self) -> list[np.ndarray]:
        shard_of = self.rows // self.shard_size
        cuts = np.flatnonzero(np.diff(shard_of)) + 1
        return np.split(self.rows, cuts) if len(self.rows) else []

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(rows (B,) int64, cutouts (B, bands, S, S) float32)``."""
        cutouts = Store.open(self.root).cutouts
        shards = self._shards()
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(shards)) if self.shuffle else np.arange(len(shards))
        info = get_worker_info()
        if info is not None:
            order = order[info.id :: info.num_workers]
        carry = np.zeros((0, *cutouts.shape[1:]), np.float32)
        carry_rows = np.zeros(0, np.int64)
        for k in order:
            shard_rows = shards[k]
            lo, hi = int(shard_rows[0]), int(shard_rows[-1]) + 1
            block = read_shard(cutouts, lo, hi, self.root)[shard_rows - lo]
            rows = shard_rows
            if len(carry):
                block, rows = (
                    np.concatenate([carry, block]),
                    np.concatenate([carry_rows, rows]),
                )
            if self.shuffle:
                perm = rng.permutation(len(block))
                block, rows = block[perm], rows[perm]
            n_full = len(block) // self.batch_size * self.batch_size
            for start in range(0, n_full, self.batch_size):
                sl = slice(start, start + self.batch_size)
                yield (
                    torch.from_numpy(rows[sl].copy()),
                    torch.from_numpy(block[sl].copy()),
                )
            carry, carry_rows = block[n_full:], rows[n_full:]
        if len(carry) and not (self.drop_last and len(carry) < self.batch_size):
            yield torch.from_numpy(carry_rows.copy()), torch.from_numpy(carry.copy())


def read_shard(cutouts, lo: int, hi: int, root: str) -> np.ndarray:
    """Rows ``lo..hi-1`` of the cutouts as float32, or a one-line ShardReadError."""
    try:
        return np.asarray(cutouts[lo:hi], dtype=np.float32)
    # a damaged chunk fails in the codec (zstd, crc32c, blosc) with whatever
    # error type that codec raises: every one of them means the same thing here
    except Exception as exc:  # noqa: BLE001
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        msg = (
            f"{root}/{layout.CUTOUTS}: the shard of rows {lo}..{hi - 1} cannot be "
            f"read ({type(exc).__name__}: {detail[:200]}); the store is damaged: "
            "run `latentsky check --deep` and rebuild it with `latentsky ingest`"
        )
        raise ShardReadError(msg) from exc


def make_loader(
    dataset: ShardBatches,
    num_workers: int,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader over whole batches (``batch_size=None``) with reader workers."""
    return DataLoader(
        dataset,
        batch_size=None,
        num_workers=num_workers,
        pin_memory=pin_memory,
        prefetch_factor=2 if num_workers else None,
        persistent_workers=False,
    )
