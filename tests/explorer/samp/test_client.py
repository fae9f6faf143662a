"""SampLink against astropy's own hub, with a second client acting as TOPCAT."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

from explorer.samp.client import SampLink, SampUnavailable, samp_module


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a SAMP message")
        time.sleep(0.05)


@pytest.fixture
def hub(tmp_path):
    samp = samp_module()
    server = samp.SAMPHubServer(
        web_profile=False, lockfile=str(tmp_path / "samp.lock"), mode="multiple"
    )
    server.start()
    yield server
    server.stop()


class FakeTopcat:
    """A SAMP client that records tables and Aladin scripts it receives."""

    def __init__(self, hub) -> None:
        samp = samp_module()
        self.client = samp.SAMPIntegratedClient(name="topcat-in-test")
        self.client.connect(hub=hub)
        self.tables: list[dict] = []
        self.scripts: list[str] = []
        self.lock = threading.Lock()
        self.client.bind_receive_notification("table.load.votable", self._table)
        self.client.bind_receive_notification("script.aladin.send", self._script)

    def _table(self, private_key, sender_id, mtype, params, extra) -> None:
        with self.lock:
            self.tables.append(params)

    def _script(self, private_key, sender_id, mtype, params, extra) -> None:
        with self.lock:
            self.scripts.append(params["script"])

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def topcat(hub):
    client = FakeTopcat(hub)
    yield client
    client.close()


def sources() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.array([101, 205, 309, 412], dtype=np.int64),
            "ra": [150.1, 150.2, 359.9, 0.05],
            "dec": [2.2, 2.3, -1.0, 1.0],
            "cluster_name": ["a", "a", "b", "b"],
        }
    )


def test_table_reaches_topcat_and_rows_sent_back_become_ids(hub, topcat):
    from astropy.table import Table

    link = SampLink(hub_params=hub.params)
    received: list[np.ndarray] = []
    link.on_rows("session-1", received.append)
    try:
        table_id = link.send_table(sources(), "selection", owner="session-1")
        wait_until(lambda: topcat.tables)
        params = topcat.tables[0]
        assert params["table-id"] == table_id and params["name"] == "selection"
        table = Table.read(params["url"], format="votable")
        assert table["id"].tolist() == [101, 205, 309, 412]
        np.testing.assert_allclose(table["ra"], [150.1, 150.2, 359.9, 0.05])
        np.testing.assert_allclose(table["dec"], [2.2, 2.3, -1.0, 1.0])
        assert str(table["ra"].unit) == "deg"

        # TOPCAT selects rows 1 and 3 of our table and broadcasts them back
        message = {
            "samp.mtype": "table.select.rowList",
            "samp.params": {
                "table-id": table_id,
                "url": params["url"],
                "row-list": ["3", "1"],
            },
        }
        topcat.client.notify_all(message)
        wait_until(lambda: received)
        assert received[0].tolist() == [412, 205]

        # as a call too: we reply samp.ok
        reply = topcat.client.call_and_wait(
            link._client.get_public_id(), message, timeout="5"
        )
        assert reply["samp.status"] == "samp.ok"
        wait_until(lambda: len(received) == 2)
    finally:
        link.close()
    assert not link.connected


def test_point_at_sends_an_aladin_script(hub, topcat):
    link = SampLink(hub_params=hub.params)
    try:
        link.point_at(150.1, -2.25)
        wait_until(lambda: topcat.scripts)
        assert topcat.scripts == ["150.1000000 -2.2500000"]
    finally:
        link.close()


def test_rows_of_an_unknown_table_or_out_of_range_are_refused(hub):
    link = SampLink(hub_params=hub.params)
    try:
        link.connect()
        with pytest.raises(KeyError):
            link.ids_of_rows("never-sent", [0])
        link._tables["t"] = (np.array([7, 8]), None)
        with pytest.raises(ValueError, match="row 2 is not in table t of 2 rows"):
            link.ids_of_rows("t", [2])
    finally:
        link.close()


def test_no_hub_is_a_clear_notice(tmp_path, monkeypatch):
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:file://{tmp_path}/missing.lock")
    link = SampLink()
    with pytest.raises(SampUnavailable, match="no SAMP hub is running"):
        link.send_table(sources(), "x")
    assert not link.connected


def test_no_client_for_tables_is_a_clear_notice(hub):
    link = SampLink(hub_params=hub.params)
    try:
        with pytest.raises(SampUnavailable, match="no SAMP client takes"):
            link.send_table(sources(), "x")
    finally:
        link.close()
