"""One SAMP client: send tables, point Aladin, receive row selections.

Tables go to the hub's clients as VOTable files written to a private
temporary directory (``file://`` URLs: TOPCAT and Aladin on the same machine
read them). Every table sent gets a ``table-id``; a ``table.select.rowList``
naming that id (rows are 0-based positions in the table we sent) is turned
back into source ids and handed to the callback registered by whoever sent
the table (:meth:`SampLink.send_table`'s ``owner``).
"""

from __future__ import annotations

import atexit
import itertools
import logging
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from explorer.errors import LatentskyError

log = logging.getLogger(__name__)

LOAD_VOTABLE = "table.load.votable"
SELECT_ROWS = "table.select.rowList"
ALADIN_SCRIPT = "script.aladin.send"
#: called with (source ids,) when rows of a table we sent are selected elsewhere
RowsCallback = Callable[[np.ndarray], None]


class SampUnavailable(LatentskyError):
    """No SAMP hub is running (or it refused us): a notice, not a crash."""


def samp_module():
    """:mod:`astropy.samp`, imported without its deprecation warning.

    astropy 8 deprecates ``astropy.samp`` in favour of ``pyvo.samp``; pyvo is
    not a dependency here and the API is the same, so the warning (an error
    under ``pytest -W error``) is silenced at this one import.
    """
    from astropy.utils.exceptions import AstropyDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyDeprecationWarning)
        from astropy import samp
    return samp


class SampLink:
    """A lazily connected SAMP client of the latentsky server.

    Parameters
    ----------
    name : str
        Client name shown by the hub (``samp.name``).
    hub_params : dict, optional
        Hub lock-file parameters (tests); default: the hub that astropy
        finds (``SAMP_HUB`` or ``~/.samp``).
    """

    def __init__(self, name: str = "latentsky", hub_params: dict | None = None):
        self.name = name
        self.hub_params = hub_params
        self._client = None
        self._lock = threading.RLock()
        self._dir: Path | None = None
        self._counter = itertools.count(1)
        #: table-id -> (ids in table row order, owner key)
        self._tables: dict[str, tuple[np.ndarray, Any]] = {}
        self._callbacks: dict[Any, RowsCallback] = {}

    # ------------------------------------------------------------ connection
    @property
    def connected(self) -> bool:
        """Whether the client is registered with a running hub."""
        client = self._client
        return client is not None and client.is_connected

    def connect(self) -> None:
        """Register with the hub (no-op when connected).

        Raises
        ------
        SampUnavailable
            If no hub is running or registration fails.
        """
        samp = samp_module()
        with self._lock:
            if self.connected:
                return
            client = samp.SAMPIntegratedClient(
                name=self.name,
                description="latentsky: latent-space explorer of survey images",
                metadata={"samp.description.text": "latent-space explorer"},
            )
            try:
                client.connect(hub_params=self.hub_params)
            except (samp.SAMPHubError, samp.SAMPClientError, OSError) as exc:
                msg = (
                    "no SAMP hub is running: start TOPCAT or Aladin (they run "
                    f"one), then try again ({exc})"
                )
                raise SampUnavailable(msg) from exc
            for bind in (client.bind_receive_call, client.bind_receive_notification):
                bind(SELECT_ROWS, self._receive_rows)
            self._client = client
            log.info("connected to the SAMP hub as %s", self.name)

    def close(self) -> None:
        """Disconnect and delete the temporary table files."""
        with self._lock:
            client, self._client = self._client, None
            if client is not None and client.is_connected:
                try:
                    client.disconnect()
                except Exception:  # a hub gone first: nothing left to tell it
                    log.debug("SAMP disconnect failed", exc_info=True)
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None
            self._tables.clear()

    def clients(self, mtype: str | None = None) -> dict[str, str]:
        """``{client id: name}`` of the hub's other clients (that take ``mtype``)."""
        self.connect()
        client = self._client
        ids = (
            list(client.get_subscribed_clients(mtype))
            if mtype
            else client.get_registered_clients()
        )
        names = {}
        for cid in ids:
            meta = client.get_metadata(cid)
            names[cid] = str(meta.get("samp.name", cid))
        return names

    # --------------------------------------------------------------- sending
    def send_table(
        self,
        table: pd.DataFrame,
        name: str,
        *,
        owner: Any = None,
        recipient: str | None = None,
    ) -> str:
        """Send ``table`` as a VOTable (``table.load.votable``).

        Parameters
        ----------
        table : DataFrame
            Rows to send; its ``id`` column maps rows sent back to sources.
        name : str
            Table name shown by the receiver.
        owner : hashable, optional
            Key of the :meth:`on_rows` callback that receives row selections
            of this table.
        recipient : str, optional
            A client id; default every subscribed client.

        Returns
        -------
        str
            The ``table-id`` of the message.

        Raises
        ------
        SampUnavailable
            No hub, or no client takes tables.
        """
        from explorer.store.export import write_table

        if "id" not in table.columns:
            msg = "a table sent over SAMP needs an 'id' column"
            raise ValueError(msg)
        self.connect()
        with self._lock:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="latentsky-samp-"))
                self._dir.chmod(0o755)
            table_id = f"latentsky-{next(self._counter)}"
            path = self._dir / f"{table_id}.vot"
            write_table(table, path, "votable", {"name": name})
            path.chmod(0o644)
            ids = table["id"].to_numpy(dtype=np.int64)
            self._tables[table_id] = (ids, owner)
        message = {
            "samp.mtype": LOAD_VOTABLE,
            "samp.params": {"url": path.as_uri(), "table-id": table_id, "name": name},
        }
        self._notify(message, recipient, LOAD_VOTABLE)
        log.info("sent %d rows over SAMP as %s", len(table), table_id)
        return table_id

    def point_at(self, ra: float, dec: float, recipient: str | None = None) -> None:
        """Move Aladin to ``(ra, dec)`` degrees (``script.aladin.send``)."""
        self.connect()
        script = f"{float(ra):.7f} {float(dec):+.7f}"
        message = {"samp.mtype": ALADIN_SCRIPT, "samp.params": {"script": script}}
        self._notify(message, recipient, ALADIN_SCRIPT)

    def _notify(self, message: dict, recipient: str | None, mtype: str) -> None:
        client = self._client
        if recipient is not None:
            client.notify(recipient, message)
            return
        if not client.get_subscribed_clients(mtype):
            msg = f"no SAMP client takes {mtype} (is TOPCAT or Aladin running?)"
            raise SampUnavailable(msg)
        client.notify_all(message)

    # ------------------------------------------------------------- receiving
    def on_rows(self, owner: Any, callback: RowsCallback | None) -> None:
        """Register (or with None remove) the row-selection callback of ``owner``."""
        with self._lock:
            if callback is None:
                self._callbacks.pop(owner, None)
            else:
                self._callbacks[owner] = callback

    def ids_of_rows(self, table_id: str, rows) -> np.ndarray:
        """Source ids of 0-based ``rows`` of table ``table_id`` we sent.

        Raises
        ------
        KeyError
            If we never sent ``table_id``.
        ValueError
            If a row is not in the table.
        """
        ids, _ = self._tables[table_id]
        rows = np.asarray([int(r) for r in rows], dtype=np.int64)
        bad = rows[(rows < 0) | (rows >= len(ids))]
        if len(bad):
            msg = f"row {int(bad[0])} is not in table {table_id} of {len(ids)} rows"
            raise ValueError(msg)
        return ids[rows]

    def _receive_rows(self, private_key, sender_id, *args) -> None:
        # a call is (msg_id, mtype, params, extra), a notification (mtype,
        # params, extra): the same handler serves both
        msg_id = args[0] if len(args) == 4 else None
        params = args[-2]
        try:
            self._deliver(params)
            status = {"samp.status": "samp.ok", "samp.result": {}}
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("ignoring SAMP row selection from %s: %s", sender_id, exc)
            status = {
                "samp.status": "samp.error",
                "samp.error": {"samp.errortxt": str(exc)},
            }
        if msg_id is not None and self._client is not None:
            self._client.reply(msg_id, status)

    def _deliver(self, params: dict) -> None:
        table_id = str(params["table-id"])
        ids = self.ids_of_rows(table_id, params.get("row-list", []))
        with self._lock:
            owner = self._tables[table_id][1]
            callbacks = (
                [self._callbacks[owner]]
                if owner in self._callbacks
                else list(self._callbacks.values())
            )
        for callback in callbacks:
            callback(ids)


_LINK: SampLink | None = None
_LINK_LOCK = threading.Lock()


def samp_link() -> SampLink:
    """The server's one :class:`SampLink` (created on first use, closed at exit)."""
    global _LINK
    with _LINK_LOCK:
        if _LINK is None:
            _LINK = SampLink()
            atexit.register(_LINK.close)
        return _LINK
