"""The astronomer's tools in a real browser, checked as a user would (``ui``).

Display settings (stretch in the hover cutout and the URL), the inspector
(band names, sexagesimal RA/Dec, "Show in Aladin"), the cone search (counts
against a brute-force astropy separation), the sky plot, the downloads
(contact sheet PNG, Parquet and CSV tables) and SAMP: astropy's own hub runs
in this test process, the module's ``latentsky serve`` finds it through the
standard ``SAMP_HUB`` variable, and a second client here plays TOPCAT.
"""

from __future__ import annotations

import io
import math
import re
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from playwright.sync_api import expect
from ui_helpers import (
    TIMEOUT_MS,
    hover_until_cutout,
    open_app,
    open_tab,
    source_pixels,
    text_of,
)

from explorer.samp.client import samp_module
from explorer.store import Store

pytestmark = pytest.mark.ui

#: the contact sheet's layout (explorer/app/render/sheet.py): tile, gap, caption
TILE, GAP, CAPTION_H = 96, 4, 14
#: colour of the selection points on the sky plot (#7df9ff)
CYAN = (125, 249, 255)


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def samp_hub(tmp_path_factory: pytest.TempPathFactory):
    """Astropy's SAMP hub (no web profile) with its lock file in a temporary
    folder; ``SAMP_HUB`` names it while the module runs, so the server started
    after this fixture (and only it) finds this hub, never ``~/.samp``."""
    samp = samp_module()
    lock = tmp_path_factory.mktemp("samp") / "samp.lock"
    hub = samp.SAMPHubServer(web_profile=False, lockfile=str(lock), mode="multiple")
    hub.start()
    try:
        with pytest.MonkeyPatch.context() as patch:  # inherited by Popen
            patch.setenv("SAMP_HUB", "std-lockurl:" + lock.as_uri())
            yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def server(samp_hub, server):
    """The module's ``latentsky serve`` (conftest), started once the hub runs
    and ``SAMP_HUB`` is set."""
    return server


class Topcat:
    """A SAMP client standing in for TOPCAT/Aladin: records the tables and
    Aladin scripts it is sent and who sent them."""

    def __init__(self, hub) -> None:
        samp = samp_module()
        self.client = samp.SAMPIntegratedClient(name="topcat-in-test")
        self.client.connect(hub=hub)
        self.tables: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._lock = threading.Lock()
        self.client.bind_receive_notification("table.load.votable", self._table)
        self.client.bind_receive_notification("script.aladin.send", self._script)

    def _table(self, private_key, sender_id, mtype, params, extra) -> None:
        with self._lock:
            self.tables.append((sender_id, params))

    def _script(self, private_key, sender_id, mtype, params, extra) -> None:
        with self._lock:
            self.scripts.append(params["script"])

    def wait(self, what: list, timeout_s: float = 20.0):
        """The first item of ``what`` (``self.tables`` or ``self.scripts``)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if what:
                    return what[0]
            time.sleep(0.1)
        raise AssertionError("the SAMP message never reached the test client")

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def topcat(samp_hub):
    client = Topcat(samp_hub)
    yield client
    client.close()


# ------------------------------------------------------------------- helpers
def hover_a_source(page, url: str) -> int:
    """Open the app, hover sources of the map until the sidebar shows one;
    returns its id."""
    points = source_pixels(page, open_app(page, url))
    return int(re.search(r"id (\d+)", hover_until_cutout(page, points)).group(1))


def hms_dms(ra: float, dec: float) -> str:
    """Sexagesimal ``"10h02m01.61s +00d44m52.99s"`` by integer arithmetic in
    hundredths of a second (the reference the page is checked against)."""
    cs = round(ra / 15.0 * 3600 * 100)
    hours, rest = divmod(cs, 360_000)
    minutes, rest = divmod(rest, 6000)
    text = f"{hours % 24:02d}h{minutes:02d}m{rest // 100:02d}.{rest % 100:02d}s"
    cs = round(abs(dec) * 3600 * 100)
    degrees, rest = divmod(cs, 360_000)
    minutes, rest = divmod(rest, 6000)
    sign = "-" if dec < 0 else "+"
    return (
        f"{text} {sign}{degrees:02d}d{minutes:02d}m{rest // 100:02d}.{rest % 100:02d}s"
    )


def ids_in_cone(catalog: pd.DataFrame, ra: float, dec: float, radius_arcsec: float):
    """Brute force: ids of every source within the cone (astropy separation)."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    centre = SkyCoord(ra * u.deg, dec * u.deg)
    every = SkyCoord(
        catalog["ra"].to_numpy() * u.deg, catalog["dec"].to_numpy() * u.deg
    )
    inside = centre.separation(every).to_value(u.arcsec) <= radius_arcsec
    return set(catalog["id"].to_numpy()[inside].tolist())


def cone_search(page, query: str, radius: str) -> int:
    """Type ``query`` in the Sky tab's cone search and press Enter; the count
    it reports once the result names ``radius`` (e.g. ``"r = 30″"``)."""
    open_tab(page, "Sky")
    box = page.get_by_placeholder(re.compile("sexagesimal|arcsec"))
    box.fill(query)
    box.press("Enter")
    result = text_of(page, "cone-result")
    expect(result).to_contain_text(f"r = {radius}", timeout=TIMEOUT_MS)
    text = result.text_content()
    assert "sources within" in text, text
    return int(text.split()[0].replace(",", ""))


def selection_count(page) -> int:
    open_tab(page, "Selection")
    count = text_of(page, "selection-count")
    expect(count).to_contain_text("selected", timeout=TIMEOUT_MS)
    return int(count.text_content().split()[0].replace(",", ""))


def grid_ids(page) -> set[int]:
    tiles = page.locator(".selection-grid figure.tile")
    tiles.first.wait_for(timeout=TIMEOUT_MS)
    return {int(t.get_attribute("data-id")) for t in tiles.all()}


def wide_cone(catalog: pd.DataFrame) -> tuple[str, set[int]]:
    """A 25′ cone in sexagesimal around the source nearest the footprint's
    middle, and the ids brute force finds in it (a dozen or so)."""
    middle = np.hypot(
        catalog["ra"] - catalog["ra"].median(), catalog["dec"] - catalog["dec"].median()
    )
    row = catalog.iloc[int(np.argmin(middle.to_numpy()))]
    ra, dec = float(row["ra"]), float(row["dec"])
    centre = hms_dms(ra, dec)
    # the centre as typed (rounded to 0.01 s) is the centre brute force uses
    from astropy.coordinates import SkyCoord

    typed = SkyCoord(centre, frame="icrs")
    expected = ids_in_cone(catalog, typed.ra.deg, typed.dec.deg, 25 * 60)
    assert 4 <= len(expected) <= 48, "the test wants a cone of a few sources"
    return f"{centre} 25arcmin", expected


def download(page, button_text: str):
    open_tab(page, "Export & SAMP")
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        page.get_by_role("button", name=button_text).click()
    done = info.value
    return done.suggested_filename, Path(done.path()).read_bytes()


# --------------------------------------------------------------------- tests
def test_stretch_changes_hover_cutout_and_is_in_url(page, server):
    hover_a_source(page, server.url)
    image = page.locator(".hover-cutout img").first
    before = image.get_attribute("src")
    assert before.startswith("data:image/png")
    stretch = page.get_by_label("Stretch")
    assert stretch.input_value() == "lupton"
    stretch.select_option("asinh")
    expect(image).not_to_have_attribute("src", before, timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => location.search.includes('stretch=asinh')", timeout=TIMEOUT_MS
    )
    after = image.get_attribute("src")
    assert after.startswith("data:image/png")
    # the link remembers it: a fresh page on this URL opens with asinh
    page.goto(page.url)
    page.get_by_title("Box Select").first.wait_for(timeout=TIMEOUT_MS)
    expect(page.get_by_label("Stretch")).to_have_value("asinh", timeout=TIMEOUT_MS)


def test_inspector_shows_bands_sexagesimal_and_points_aladin(
    page, server, served_store, topcat
):
    source_id = hover_a_source(page, server.url)
    page.get_by_role("button", name="Inspect").click()
    header = text_of(page, "inspector-header")
    expect(header).to_contain_text(f"source {source_id}", timeout=TIMEOUT_MS)
    store = Store.open(served_store)
    names = page.locator(".inspector-band-name div")
    expect(names).to_have_count(len(store.bands), timeout=TIMEOUT_MS)
    assert [n.text_content() for n in names.all()] == [str(b) for b in store.bands]
    expect(page.locator(".inspector-bands .bk-Canvas")).to_have_count(len(store.bands))
    row = store.catalog.set_index("id").loc[source_id]
    ra, dec = float(row["ra"]), float(row["dec"])
    text = header.text_content()
    assert hms_dms(ra, dec) in text
    assert f"{ra:.5f}°" in text and f"{dec:+.5f}°" in text
    # "Show in Aladin" moves the SAMP client standing in for Aladin
    page.get_by_role("button", name="Show in Aladin").click()
    script = topcat.wait(topcat.scripts)
    got_ra, got_dec = (float(v) for v in script.split())
    assert abs(got_ra - ra) < 1e-6 and abs(got_dec - dec) < 1e-6


def test_cone_search_counts_as_astropy_and_sky_plot_draws_it(
    page, server, served_store
):
    catalog = Store.open(served_store).catalog
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    # a source with a neighbour within 30″, so the cone holds more than itself
    sky = SkyCoord(catalog["ra"].to_numpy() * u.deg, catalog["dec"].to_numpy() * u.deg)
    first, second, _, _ = sky.search_around_sky(sky, 30 * u.arcsec)
    pairs = first[first != second]
    row = catalog.iloc[int(pairs[0]) if len(pairs) else 0]
    ra, dec = float(row["ra"]), float(row["dec"])
    expected = ids_in_cone(catalog, round(ra, 6), round(dec, 6), 30.0)
    open_app(page, server.url)
    n_found = cone_search(page, f"{ra:.6f} {dec:+.6f} 30arcsec", "30″")
    assert n_found == len(expected) >= 1
    assert selection_count(page) == len(expected)
    assert grid_ids(page) == expected
    # a sexagesimal cone of a dozen sources, then the sky plot shows them
    query, expected = wide_cone(catalog)
    assert cone_search(page, query, "25′") == len(expected)
    plot = page.locator(".sky-plot .bk-Canvas").first
    plot.wait_for(timeout=TIMEOUT_MS)
    for _ in range(40):
        pixels = np.asarray(Image.open(io.BytesIO(plot.screenshot())).convert("RGB"))
        close = np.abs(pixels.astype(int) - CYAN).max(axis=-1) < 40
        if close.sum() >= len(expected):
            break
        page.wait_for_timeout(250)
    else:
        raise AssertionError("the sky plot shows no selected sources")
    assert selection_count(page) == len(expected)


def test_downloads_contact_sheet_and_tables(page, server, served_store):
    catalog = Store.open(served_store).catalog
    query, expected = wide_cone(catalog)
    open_app(page, server.url)
    assert cone_search(page, query, "25′") == len(expected)
    name, data = download(page, "Contact sheet (PNG)")
    n = len(expected)
    columns = math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    size = (GAP + columns * (TILE + GAP), GAP + rows * (TILE + CAPTION_H + GAP))
    sheet = Image.open(io.BytesIO(data))
    assert name.endswith(".png") and sheet.format == "PNG" and sheet.size == size
    by_id = catalog.set_index("id")
    for fmt, suffix in (("parquet", ".parquet"), ("csv", ".csv")):
        page.get_by_label("Format").select_option(fmt)
        name, data = download(page, "Download table")
        assert name.endswith(suffix), name
        if fmt == "parquet":
            table = pd.read_parquet(io.BytesIO(data))
        else:
            table = pd.read_csv(io.BytesIO(data), comment="#")
        assert set(table["id"].tolist()) == expected and len(table) == n
        np.testing.assert_allclose(
            table["ra"], by_id.loc[table["id"], "ra"], rtol=0, atol=1e-9
        )
        assert {"dec", "map_x", "map_y", "anomaly_score", "tag"} <= set(table.columns)


def test_samp_send_and_row_selection_back(page, server, served_store, topcat):
    from astropy.table import Table

    catalog = Store.open(served_store).catalog
    query, expected = wide_cone(catalog)
    open_app(page, server.url)
    assert cone_search(page, query, "25′") == len(expected)
    open_tab(page, "Export & SAMP")
    page.get_by_role("button", name="Send to TOPCAT/Aladin").click()
    sender, params = topcat.wait(topcat.tables)
    table = Table.read(unquote(urlparse(params["url"]).path), format="votable")
    sent = np.asarray(table["id"], dtype=np.int64)
    assert set(sent.tolist()) == expected and len(sent) == len(expected)
    assert str(table["ra"].unit) == "deg"
    # TOPCAT selects rows 0 and 2 of that table and tells latentsky
    rows = [0, 2]
    topcat.client.notify(
        sender,
        {
            "samp.mtype": "table.select.rowList",
            "samp.params": {
                "table-id": params["table-id"],
                "url": params["url"],
                "row-list": [str(r) for r in rows],
            },
        },
    )
    open_tab(page, "Selection")
    count = text_of(page, "selection-count")
    expect(count).to_contain_text(f"{len(rows)} sources selected", timeout=TIMEOUT_MS)
    assert grid_ids(page) == {int(sent[r]) for r in rows}
