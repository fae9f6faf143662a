"""Display settings, inspector, sky and share views without a browser."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from astropy.io import votable
from PIL import Image

from explorer.app.render.images import DisplaySettings
from explorer.app.state import AppState
from explorer.store import Store


@pytest.fixture
def state(analysed_store_copy):
    return AppState(Store.open(analysed_store_copy))


def test_display_settings_follow_the_params_and_the_url(state):
    bands = list(state.store.bands)
    state.param.update(stretch="asinh", interval="zscale", rgb_bands=bands[::-1][:3])
    assert state.display == DisplaySettings(
        "asinh", "zscale", 99.5, tuple(bands[::-1][:3])
    )
    query = state.url_query()
    assert query["stretch"] == "asinh" and query["interval"] == "zscale"
    assert query["rgb"] == ",".join(bands[::-1][:3])
    fresh = AppState(state.store)
    fresh.apply_url_query({**query, "pct": "98"})
    assert fresh.display == DisplaySettings(
        "asinh", "zscale", 98.0, tuple(bands[::-1][:3])
    )
    fresh.apply_url_query({"rgb": "x,y,z", "pct": "7", "stretch": "gamma"})
    assert fresh.display.percentile == 98.0 and fresh.display.stretch == "asinh"
    # a band not in the store falls back to the default mapping, with a notice
    fresh.rgb_bands = ["nope", bands[0], bands[0]]
    assert fresh.display.rgb is None and fresh.notification["level"] == "warning"


def test_cache_keys_follow_the_display(state):
    source = int(state.store.ids[0])
    state.stretch = "linear"  # Lupton has no per-band interval
    first = state.images.png(source, state.display, 64)
    state.interval = "zscale"
    assert state.images.png(source, state.display, 64) != first


def test_display_view_maps_channels(state):
    from explorer.app.views.display import AUTO, DisplayView

    view = DisplayView(state)
    bands = list(state.store.bands)
    view._channels[0].value = bands[0]
    assert state.rgb_bands[0] == bands[0] and len(state.rgb_bands) == 3
    for widget in view._channels:
        widget.value = AUTO
    assert state.rgb_bands == [] and state.display.rgb is None


def test_inspector_shows_each_band_scale_bar_and_row(state):
    from explorer.app.views.inspector import InspectorView, scale_bar

    view = InspectorView(state)
    source = int(state.store.ids[3])
    state.inspected_id = source
    columns = view._bands.objects
    names = [column[0].object for column in columns]
    assert names == [f"<b>{band}</b>" for band in state.store.bands]
    figures = [column[1] for column in columns]
    assert [f.object.title.text for f in figures] == list(state.store.bands)
    glyph = figures[0].object.renderers[0]
    np.testing.assert_array_equal(
        glyph.data_source.data["image"][0], state.store.cutout(source)[0]
    )
    assert f"source {source}" in view._header.object
    assert "h" in view._header.object and "°" in view._header.object
    assert "<td>id</td>" in view._row.object
    assert Image.open(io.BytesIO(view._composite.object)).size == (200, 200)
    # 0.25″/px on 64 px: the longest nice bar under 40% (25.6 px) is 5″ = 20 px
    assert scale_bar(64, 0.25) == (20.0, "5″")
    assert scale_bar(32, None) == (8.0, "8 px")


def test_cone_search_becomes_the_selection(state):
    from explorer.app.views.sky import SkyView, footprint_image

    view = SkyView(state)
    catalog = state.store.catalog
    ra, dec = float(catalog["ra"].iat[5]), float(catalog["dec"].iat[5])
    view._query.value = f"{ra} {dec} 0.5arcsec"
    ids = view.search()
    assert ids.tolist() == [int(catalog["id"].iat[5])]
    assert state.selection_ids.tolist() == ids.tolist()
    assert state.selection_geometry["kind"] == "cone"
    # a cone is on the sky, not the map: no outline is drawn there (the map
    # view redraws its outline on every selection; this once raised)
    from explorer.app.render.map import outline

    assert outline(state.selection_geometry) == ([], [])
    assert outline({"kind": "samp", "coords": []}) == ([], [])
    assert "1</b> sources" in view._result.object
    view._query.value = "somewhere 3arcsec"
    assert view.search() is None and "cannot read a sky position" in view._result.object
    foot = footprint_image(np.array([10.0, 10.0, 20.0]), np.array([0.0, 0.0, 5.0]))
    assert np.nansum(np.expm1(foot["image"])) == pytest.approx(3)


def test_share_view_downloads_the_selection(state):
    from explorer.app.views.samp import ShareView

    view = ShareView(state)
    assert view._download(view.table_bytes, "table") is None  # empty: a notice
    assert "selection is empty" in state.notification["text"]
    ids = state.store.ids[:4]
    state.select_ids(ids)
    view._format.value = "votable"
    parsed = votable.parse_single_table(io.BytesIO(view.table_bytes())).to_table()
    assert sorted(parsed["id"].tolist()) == sorted(int(i) for i in ids)
    view._format.value = "parquet"
    assert view._table.filename == "selection.parquet"
    back = pd.read_parquet(io.BytesIO(view.table_bytes()))
    assert {"ra", "dec", "map_x", "map_y", "tag", "saved_clusters"} <= set(back)
    sheet = Image.open(io.BytesIO(view.sheet_bytes()))
    assert sheet.size == (4 + 2 * 100, 4 + 2 * 114)  # 4 tiles of 96 px, 2 x 2


def test_share_view_without_a_hub_is_a_notice(state, tmp_path, monkeypatch):
    from explorer.app.views.samp import ShareView
    from explorer.samp import client

    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:file://{tmp_path}/none.lock")
    monkeypatch.setattr(client, "_LINK", client.SampLink())
    view = ShareView(state)
    state.select_ids(state.store.ids[:2])
    assert view.send() is None
    assert "no SAMP hub is running" in state.notification["text"]
