"""Self-supervised encoders (SimCLR, BYOL), training and embedding. Imports torch.

Training, one module per job: ``config`` (the one settings dataclass),
``augment/`` (preprocess, geometry, photometry, views), ``encoder``,
``losses/`` (one file per loss), ``methods`` (SimCLR/BYOL strategies),
``optim`` (LARS, schedules), ``epoch`` (:func:`~models.epoch.train_one_epoch`),
``train`` (the run: resume, checkpoints), ``finetune``, ``checkpoint``,
``data`` (shard-wise loading), ``device``, ``errors``.
"""
