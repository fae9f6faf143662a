"""Scores of a representation against the hidden labels, for ``bench ssl``.

k-NN accuracy (k = 10, cosine) both 5-fold cross-validated over every source
and on one held-out split (the split the supervised reference is trained on),
per-kind recall, a logistic-regression probe, and Spearman's rho.
"""

from __future__ import annotations

import numpy as np

K = 10
FOLDS = 5


def split_rows(
    labels: np.ndarray, test_fraction: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test row split (classes with one member go to train).

    Parameters
    ----------
    labels : ndarray
        ``(N,)`` class labels.
    test_fraction : float
        Fraction of the splittable rows held out.
    seed : int
        Seed of the split.

    Returns
    -------
    train, test : ndarray
        Sorted, disjoint row indices covering all ``N`` rows.
    """
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels))
    values, counts = np.unique(labels, return_counts=True)
    solo = np.isin(labels, values[counts < 2])
    train, test = train_test_split(
        rows[~solo], test_size=test_fraction, random_state=seed, stratify=labels[~solo]
    )
    return np.sort(np.concatenate([train, rows[solo]])), np.sort(test)


def knn_accuracy(
    features: np.ndarray,
    labels: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    k: int = K,
) -> float:
    """Accuracy of a cosine k-NN classifier fit on ``train``, scored on ``test``.

    Parameters
    ----------
    features : ndarray
        ``(N, D)`` features.
    labels : ndarray
        ``(N,)`` class labels.
    train, test : ndarray
        Row indices (:func:`split_rows`).
    k : int
        Neighbours voting.

    Returns
    -------
    float
        Fraction of ``test`` rows classified correctly.
    """
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=k, metric="cosine")
    clf.fit(features[train], labels[train])
    return float(clf.score(features[test], labels[test]))


def knn_cv(
    features: np.ndarray, labels: np.ndarray, k: int = K, seed: int = 0
) -> dict[str, object]:
    """5-fold cross-validated cosine k-NN: pooled accuracy and recall per kind.

    Parameters
    ----------
    features : ndarray
        ``(N, D)`` features.
    labels : ndarray
        ``(N,)`` class labels. Classes with a single member cannot be
        cross-validated and are left out; a class with fewer than 5 members
        reduces the folds to its size.
    k : int
        Neighbours voting.
    seed : int
        Seed of the stratified folds.

    Returns
    -------
    dict
        ``{"knn_accuracy": float, "recall": {kind: float}}``.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    values, counts = np.unique(labels, return_counts=True)
    keep = np.isin(labels, values[counts >= 2])
    features, labels = np.asarray(features)[keep], np.asarray(labels)[keep]
    folds = int(max(2, min(FOLDS, counts[counts >= 2].min())))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    clf = KNeighborsClassifier(n_neighbors=k, metric="cosine")
    predicted = cross_val_predict(clf, np.asarray(features, np.float32), labels, cv=cv)
    right = predicted == labels
    recall = {
        str(kind): float(right[labels == kind].mean()) for kind in np.unique(labels)
    }
    return {"knn_accuracy": float(right.mean()), "recall": recall}


def linear_accuracy(
    features: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray
) -> float:
    """Accuracy of a logistic-regression probe on standardised features.

    Parameters and return value as :func:`knn_accuracy`.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(features[train])
    clf = LogisticRegression(max_iter=3000)
    clf.fit(scaler.transform(features[train]), labels[train])
    return float(clf.score(scaler.transform(features[test]), labels[test]))


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation of two equally long sequences (NaN if < 3)."""
    from scipy.stats import spearmanr

    if len(a) < 3:
        return float("nan")
    return float(spearmanr(a, b).statistic)
