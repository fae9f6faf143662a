"""The map's top-anomaly glyphs hold exactly the top-k ids."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.app.render.glyphs import glyph_columns, top_anomaly_rows


def test_top_rows_by_hand():
    scores = np.array([0.1, 0.9, np.nan, 0.5, 0.9, 0.7])
    ids = np.array([10, 30, 5, 40, 20, 60])
    # 0.9 twice: id 20 before id 30; NaN never chosen
    assert top_anomaly_rows(scores, ids, 3).tolist() == [4, 1, 5]
    assert top_anomaly_rows(scores, ids, 10).tolist() == [4, 1, 5, 3, 0]
    assert top_anomaly_rows(scores, ids, 0).tolist() == []
    # a float32 map column (ranked without a float64 copy) and integer scores
    assert top_anomaly_rows(scores.astype(np.float32), ids, 3).tolist() == [4, 1, 5]
    assert top_anomaly_rows(np.array([3, 1, 3]), np.array([9, 8, 7]), 2).tolist() == [
        2,
        0,
    ]


def test_top_rows_equal_a_full_sort_on_random_scores_with_ties():
    rng = np.random.default_rng(5)
    n = 50_000
    scores = np.round(rng.exponential(size=n), 2)  # many ties
    scores[rng.integers(0, n, 500)] = np.nan
    ids = rng.permutation(n) + 1
    rows = top_anomaly_rows(scores, ids, 200)
    finite = np.flatnonzero(~np.isnan(scores))
    expected = finite[np.lexsort((ids[finite], -scores[finite]))][:200]
    assert rows.tolist() == expected.tolist()
    columns = glyph_columns(ids * 0.5, ids * 2.0, ids, scores, rows)
    assert set(columns["id"].tolist()) == set(ids[expected].tolist())
    assert columns["rank"].tolist() == list(range(1, 201))
    np.testing.assert_array_equal(columns["x"], ids[expected] * 0.5)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="must be equal"):
        top_anomaly_rows(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match=">= 0"):
        top_anomaly_rows(np.ones(3), np.ones(3), -1)
