"""Label-free hyper-parameter search of the encoder (``latentsky tune``).

:mod:`~explorer.tune.objective` scores a trained encoder without labels;
:mod:`~explorer.tune.search` runs the Optuna study, one short training run per
trial, through :mod:`explorer.jobs.runner` (no torch here).
"""
