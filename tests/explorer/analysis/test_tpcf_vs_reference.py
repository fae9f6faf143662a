"""The fast TPCF score is the N_R -> infinity limit of the TreeCorr reference.

The reference draws an explicit Gaussian random catalogue (N_R = 5 N_D) per
run, so its score scatters from draw to draw; the fast score (analytic RR)
must sit within a few standard errors of the mean over draws, on the exact
(tree) and on the FFT-grid DD path. Three draws underestimated that scatter
at 20 000 points (std 0.007, against 0.019 over 6 TreeCorr draws and 0.026
over 100 grid-counted ones), which is why the benchmark once reported a
2.2-sigma disagreement.
"""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import tpcf

N_DRAWS = 6


@pytest.fixture(scope="module")
def clustered() -> np.ndarray:
    # > FINITE_N_MAX points: the analytic RR (not the matched randoms) is used.
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (4, 8))
    return np.concatenate([rng.normal(c, 1, (275, 8)) for c in centres])


@pytest.fixture(scope="module")
def reference(clustered):
    pytest.importorskip("treecorr")
    from explorer.bench.tpcf_reference import reference_spread

    return reference_spread(clustered, n_draws=N_DRAWS, seed=0)["natural"]


@pytest.mark.slow
@pytest.mark.parametrize("exact_max", [tpcf.EXACT_MAX, 0])
def test_fast_score_within_reference_standard_error(clustered, reference, exact_max):
    fast = tpcf.tpcf_score(clustered, exact_max=exact_max)
    se = reference["std"] / np.sqrt(N_DRAWS)
    assert fast.score > 1.0  # clustered data: a real signal to agree on
    assert abs(fast.score - reference["mean"]) < 3.0 * se
