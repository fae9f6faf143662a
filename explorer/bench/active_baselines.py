"""The baselines of ``latentsky bench active`` that the active queue must beat.

- :func:`gp_views`: a Protege-style hunt (Lochner & Rudnick 2024): a Gaussian
  process regressor on PCA features of the embedding predicting the label,
  and an upper-confidence-bound acquisition ``mean + kappa * std``, started
  from the top ``GP_INIT`` of the anomaly ranking (Protege starts from a
  labelled random sample, which at a 100-view budget would only handicap it).
- :func:`science_views`: the review queue's fixed ``science`` ranking (the
  anomaly score without flagged artefacts).
"""

from __future__ import annotations

import numpy as np

#: Views the GP baseline takes from the anomaly ranking before it has a model.
GP_INIT = 5
GP_COMPONENTS = 16
GP_KAPPA = 1.0


def gp_views(
    vectors: np.ndarray, score: np.ndarray, tags, budget: int, refit_every: int = 1
) -> np.ndarray:
    """The Protege-style baseline's viewing order (module docstring).

    The GP (constant x RBF + white noise, hyperparameters by maximum
    likelihood, as sklearn fits them, every ``refit_every`` labels; kept
    fixed in between) regresses 1 for interesting, 0 otherwise, on
    standardised PCA features.
    """
    import warnings

    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    from explorer.active.simulate import density_views

    feats = PCA(GP_COMPONENTS, random_state=0).fit_transform(vectors)
    feats /= feats.std(axis=0, keepdims=True)
    y_all = (np.asarray(tags) == "interesting").astype(np.float64)
    viewed = list(density_views(score, min(GP_INIT, budget)))
    kernel = ConstantKernel(0.1) * RBF(3.0) + WhiteKernel(0.05)
    while len(viewed) < budget:
        refit = (len(viewed) - GP_INIT) % refit_every == 0
        gp = GaussianProcessRegressor(
            kernel, optimizer="fmin_l_bfgs_b" if refit else None, random_state=0
        )
        rows = np.asarray(viewed)
        with warnings.catch_warnings():
            # hyperparameters at their bounds (all labels 0) are expected early
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(feats[rows], y_all[rows])
        kernel = gp.kernel_
        mean, std = gp.predict(feats, return_std=True)
        acquisition = mean + GP_KAPPA * std
        acquisition[rows] = -np.inf
        viewed.append(int(np.argmax(acquisition)))
    return np.asarray(viewed[:budget], dtype=np.int64)


def science_views(data: dict, budget: int) -> np.ndarray:
    """The review queue's ``science`` mode: the ranking without flagged artefacts."""
    from explorer.active.simulate import density_views

    keep = np.flatnonzero(data["artefact_score"] < 0.5)
    return keep[density_views(data["anomaly_score"][keep], budget)]
