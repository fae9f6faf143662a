"""Ingest, embed and analyse as ``dask.distributed`` tasks (--dask, --scheduler).

No scheduler of our own: the work is split into tasks over the store's own
partitions and handed to a ``dask.distributed`` client
(:func:`explorer.distributed.cluster.dask_client`), either a ``LocalCluster``
started for the command (``--dask local:N``) or an existing scheduler
(``--scheduler ADDRESS``, whose workers must see the same file system).

==========  ============================================  =======================
command     tasks (one per ...)                            stays in the lead
==========  ============================================  =======================
ingest      Zarr shard of ``cutouts.zarr`` (1 024          the catalogue (one
            sources): read, NaN-fill, write it into the    write), the manifest,
            building directory                             the rename onto the
                                                           store
embed       block of shards: encode with the checkpoint,   ``embeddings.npy``
            loaded once per worker process                 (memmap, blocks written
                                                           in row order),
                                                           config.json
analyse     partition of rows: k-NN graph against the      index build, pixel PCA
            saved ``index.faiss``; pixel scan (PCA         fit, LOF and ranks,
            projection, residual, artefact flags);         clusters, the UMAP fit
            pixel-space k-NN; UMAP placement by            on a sample, t-SNE/PCA
            ``MapProjector.transform``                     maps, map consistency
==========  ============================================  =======================

Modules: :mod:`.cluster` (the client), :mod:`.ingest`, :mod:`.embed`,
:mod:`.analyse` (+ :mod:`.partitions`, the worker side of the analysis).
"""
