"""The colour bar / legend decision of a map colour field (no Panel)."""

from __future__ import annotations

import numpy as np

from explorer.app import data as mapdata
from explorer.app.render.legend import MAX_LEGEND, field_legend
from explorer.app.render.map import MapRenderer, style_for


def legend(field, values, names=None):
    values = np.asarray(values, dtype=np.float64)
    return field_legend(field, values, style_for(field, values), names)


def test_a_constant_field_names_its_value_and_has_no_bar():
    found = legend("n_masked", [0, 0, 0, 0])
    assert found.kind == "constant" and not found.show_bar
    assert "n_masked = 0 for every source" in found.text
    with_nan = legend("n_masked", [2.5, np.nan, 2.5])
    assert "= 2.5" in with_nan.text and "1 without a value" in with_nan.text


def test_a_constant_field_is_drawn_in_one_colour_without_a_1e9_range():
    values = np.zeros(50)
    style = style_for("n_masked", values)
    assert style["opts"]["clim"] == (-0.5, 0.5)
    rng = np.random.default_rng(0)
    x, y = rng.random(50), rng.random(50)
    image, limits = MapRenderer(x, y, values, style, 40, 30).render((0, 1), (0, 1))
    assert limits == (-0.5, 0.5)
    drawn = image[(image >> 24) > 0]
    assert drawn.size and len(np.unique(drawn)) == 1  # the middle of the palette


def test_an_empty_field_says_so():
    found = legend("mag_u", [np.nan, np.nan])
    assert found.kind == "empty" and not found.show_bar
    assert "no source has a value" in found.text
    assert legend(mapdata.COUNT, []).kind == "empty"


def test_no_saved_clusters_is_a_notice_not_a_red_band():
    found = legend(mapdata.SAVED_CLUSTER, [-1, -1, -1], names=[])
    assert found.kind == "empty" and not found.show_bar
    assert "no saved clusters yet" in found.text


def test_saved_clusters_are_a_legend_with_their_names_and_colours():
    values = np.array([0, 1, -1, 1])
    cmap = style_for(mapdata.SAVED_CLUSTER, values)["opts"]["cmap"]
    found = legend(mapdata.SAVED_CLUSTER, values, names=["rings", "arcs"])
    assert found.kind == "categories" and not found.show_bar
    assert found.entries == (
        ("rings", cmap[1]),
        ("arcs", cmap[2]),
        ("in no saved cluster", cmap[0]),
    )
    html = found.html()
    assert "rings" in html and cmap[2] in html


def test_auto_clusters_say_no_cluster_and_many_categories_keep_a_bar():
    found = legend("cluster", [0, 2, -1])
    labels = [label for label, _ in found.entries]
    assert labels == ["cluster 0", "cluster 2", "no cluster"]
    many = legend("cluster", np.arange(MAX_LEGEND + 1))
    assert many.kind == "bar" and many.show_bar and "13 categories" in many.text


def test_a_varying_field_and_the_count_keep_their_bar():
    assert legend("mag_r", [20.0, 21.5, 22.0]).kind == "bar"
    assert legend(mapdata.COUNT, [1.0, 1.0]).kind == "bar"  # ones, not constant
