"""A simulated user that speaks the Bokeh protocol to the real server.

Twenty headless chromium pages on the server's own two cores measure
chromium: in the browser variant of ``bench load`` the pages took 1.4 of the
2 cores and the server 0.4. A user's browser runs on the user's machine, so
the server's latency is measured here with a light client instead: one
websocket per user (the same ``/ws`` endpoint and messages as BokehJS), the
session's document pulled and kept in sync from the server's ``PATCH-DOC``
messages, and the UI events a browser would send (``mousemove``,
``selectiongeometry``, ``button_click``, a text input's value) sent as the
same JSON. A step's latency is from sending the event to the patch that shows
its result (the hover caption; the selection count *and* the grid's new
tiles; the "saved" line).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from explorer.bench.load_user import SimulatedUser

#: largest message accepted from the server (a page of cutouts is < 2 MiB)
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def register_models() -> None:
    """Import every model type a dashboard page holds (Panel's, and those the
    dashboard's own components define), so a pulled document deserialises."""
    import panel as pn

    import explorer.app.main  # noqa: F401 - defines the dashboard's components

    pn.extension()
    pn.state.location  # noqa: B018 - imports panel.models.location


def _map(**entries: Any) -> dict[str, Any]:
    """A plain mapping as BokehJS serialises it (keys kept verbatim)."""
    return {"type": "map", "entries": [[k, v] for k, v in entries.items()]}


class BokehUser:
    """One user's session on a served dashboard, without a browser.

    Parameters
    ----------
    ws_url : str
        The app's websocket, e.g. ``"ws://127.0.0.1:5006/ws"``.
    """

    def __init__(self, ws_url: str) -> None:
        from bokeh.document import Document
        from bokeh.protocol import Protocol

        self.ws_url = ws_url
        self.document = Document()
        self._protocol = Protocol()
        self._changed = asyncio.Event()
        self._outbox: list = []
        self._socket = None
        self._reader: asyncio.Task | None = None
        self.closed_reason: str | None = None

    # ------------------------------------------------------------ session
    async def open(self) -> None:
        """Connect, receive the session's document, announce it is ready."""
        from bokeh.client.websocket import WebSocketClientConnectionWrapper
        from bokeh.protocol.receiver import Receiver
        from bokeh.util.token import generate_jwt_token, generate_session_id
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        token = generate_jwt_token(generate_session_id())
        socket = await websocket_connect(
            HTTPRequest(self.ws_url),
            subprotocols=["bokeh", token],
            max_message_size=MAX_MESSAGE_BYTES,
        )
        self._socket = WebSocketClientConnectionWrapper(socket)
        self._receiver = Receiver(self._protocol)
        ack = await self._pop()
        if ack is None or ack.msgtype != "ACK":
            raise ConnectionError(f"expected ACK from {self.ws_url}, got {ack!r}")
        await self._protocol.create("PULL-DOC-REQ").send(self._socket)
        reply = await self._pop()
        # a patch the session pushed before the reply is in the reply already
        while reply is not None and reply.msgtype == "PATCH-DOC":
            reply = await self._pop()
        if reply is None or reply.msgtype != "PULL-DOC-REPLY":
            raise ConnectionError(f"no document from {self.ws_url}: {reply!r}")
        reply.push_to_document(self.document)
        self.document.models.flush_synced()
        self.document.on_change_dispatch_to(self)
        self._reader = asyncio.ensure_future(self._read())
        await self.send_event("document_ready", None)

    async def close(self) -> None:
        """Close the websocket (the server destroys the session)."""
        if self._socket is not None:
            self._socket.close(1000, "load test done")
        if self._reader is not None:
            self._reader.cancel()

    async def _pop(self):
        while True:
            fragment = await self._socket.read_message()
            if fragment is None:
                return None
            message = await self._receiver.consume(fragment)
            if message is not None:
                return message

    async def _read(self) -> None:
        while True:
            message = await self._pop()
            if message is None:
                self.closed_reason = "the server closed the connection"
                self._changed.set()
                return
            if message.msgtype == "PATCH-DOC":
                message.apply_to_document(self.document, self)
                self._changed.set()

    # ----------------------------------------------------------- sending
    def _document_patched(self, event) -> None:
        """Bokeh's hook for local changes (a widget value set by the user)."""
        if event.setter is not self:
            self._outbox.append(event)

    async def set_value(self, model, **values: Any) -> None:
        """Set properties of ``model`` as a browser widget would."""
        for name, value in values.items():
            setattr(model, name, value)
        events, self._outbox = self._outbox, []
        if events:
            await self._protocol.create("PATCH-DOC", events).send(self._socket)

    async def send_event(self, name: str, model, **values: Any) -> None:
        """Send the UI event ``name`` (e.g. ``"mousemove"``) on ``model``."""
        from bokeh.protocol.messages.patch_doc import patch_doc

        if model is not None:
            values = {"model": {"id": model.id}, **values}
        event = {
            "kind": "MessageSent",
            "msg_type": "bokeh_event",
            "msg_data": {"type": "event", "name": name, "values": _map(**values)},
        }
        message = patch_doc(patch_doc.create_header(), {}, {"events": [event]})
        await message.send(self._socket)

    async def hover(self, figure, x: float, y: float) -> None:
        """The mouse at data position (x, y) of ``figure``."""
        modifiers = _map(shift=False, ctrl=False, alt=False)
        await self.send_event(
            "mousemove", figure, x=x, y=y, sx=0.0, sy=0.0, modifiers=modifiers
        )

    async def box_select(self, figure, box: tuple[float, float, float, float]) -> None:
        """A finished box selection ``(x0, y0, x1, y1)`` in data units."""
        x0, y0, x1, y1 = box
        geometry = _map(type="rect", x0=x0, y0=y0, x1=x1, y1=y1)
        await self.send_event(
            "selectiongeometry", figure, geometry=geometry, final=True
        )

    async def click(self, button) -> None:
        """A click on a Bokeh/Panel button model."""
        await self.send_event("button_click", button)

    # ----------------------------------------------------------- waiting
    async def wait_for(self, predicate, timeout_s: float) -> None:
        """Until ``predicate()`` holds after a patch from the server.

        Raises
        ------
        TimeoutError
            After ``timeout_s`` seconds.
        ConnectionError
            If the server closed the connection.
        """
        deadline = time.perf_counter() + timeout_s
        while not predicate():
            if self.closed_reason is not None:
                raise ConnectionError(self.closed_reason)
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"no matching update within {timeout_s:.0f} s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    # ------------------------------------------------------------- models
    def find(self, kind: str, css_class: str | None = None) -> list:
        """Models of type name ``kind`` (and CSS class ``css_class``)."""
        return [
            model
            for model in self.document.models
            if type(model).__name__ == kind
            and (
                css_class is None
                or css_class in (getattr(model, "css_classes", None) or [])
            )
        ]

    def one(self, kind: str, css_class: str | None = None):
        """The one model of type ``kind`` with ``css_class`` (error if not one)."""
        found = self.find(kind, css_class)
        if len(found) != 1:
            raise LookupError(f"{len(found)} {kind} models with class {css_class!r}")
        return found[0]

    def map_figure(self):
        """The map: the figure with a box-select tool."""
        from bokeh.models import BoxSelectTool

        for model in self.find("figure"):
            if any(isinstance(tool, BoxSelectTool) for tool in model.toolbar.tools):
                return model
        raise LookupError("no figure with a box-select tool in the page")


def _count_in(text: str) -> int | None:
    """The number in the selection line "<b>1,234</b> sources selected"."""
    import re

    found = re.search(r"([\d,]+)\D*sources selected", text or "")
    return int(found.group(1).replace(",", "")) if found else None


class ClientSession(SimulatedUser):
    """One simulated user's loop: hover, box-select, save (as the browser run).

    Parameters
    ----------
    index : int
        The user's number (in cluster names).
    user : BokehUser
        Its connection.
    data : explorer.app.data.MapData
        The served map (where the sources are).
    rng : numpy.random.Generator
        Where it hovers and selects.
    step_timeout_s : float
        Longest wait for one step's result.
    """

    def __init__(self, index: int, user: BokehUser, data, rng, step_timeout_s: float):
        super().__init__(index, data, rng)
        self.user = user
        self.timeout_s = step_timeout_s

    async def open(self) -> float:
        """Connect and receive the page (seconds)."""
        start = time.perf_counter()
        await self.user.open()
        self.figure = self.user.map_figure()
        self.caption = self.user.one("HTML", "hover-caption")
        self.count = self.user.one("HTML", "selection-count")
        self.grid = self.user.one("ReactiveESM", "selection-grid").data
        (self.clear,) = [b for b in self.user.find("Button") if b.label == "Clear"]
        self.name = self.user.one("TextInput", "quick-name")
        self.button = self.user.one("Button", "quick-save")
        self.saved_line = self.user.one("HTML", "quick-saved")
        return time.perf_counter() - start

    async def hover(self) -> None:
        row = int(self.rng.integers(self.data.n))
        old = self.caption.text
        start = time.perf_counter()
        await self.user.hover(
            self.figure, float(self.data.x[row]), float(self.data.y[row])
        )
        try:
            await self.user.wait_for(lambda: self.caption.text != old, 3.0)
        except TimeoutError:
            return  # the nearest source was already shown (as the browser run)
        self.hover_s.append(time.perf_counter() - start)

    async def select(self) -> None:
        x, y = self.data.x, self.data.y
        box, expected = self.random_box(
            min(float(x.max() - x.min()), float(y.max() - y.min()))
        )
        # cleared first, so that the new page's tiles are told from the last
        await self.user.click(self.clear)
        await self.user.wait_for(
            lambda: _count_in(self.count.text) is None and not self.grid.items,
            self.timeout_s,
        )
        start = time.perf_counter()
        await self.user.box_select(self.figure, box)
        # done when the count is right and the grid shows the new page's tiles
        await self.user.wait_for(
            lambda: _count_in(self.count.text) == expected and bool(self.grid.items),
            self.timeout_s,
        )
        self.selection_s.append(time.perf_counter() - start)
        self.selection_counts.append(expected)

    async def save(self, name: str) -> None:
        await self.user.set_value(self.name, value_input=name, value=name)
        start = time.perf_counter()
        await self.user.click(self.button)
        await self.user.wait_for(lambda: name in self.saved_line.text, self.timeout_s)
        self.save_s.append(time.perf_counter() - start)
        self.saved.append(name)


async def run_count(
    url: str, data, n: int, duration_s: float, tag: str, step_timeout_s: float
) -> dict:
    """``n`` concurrent Bokeh-client users for ``duration_s`` seconds.

    Returns
    -------
    dict
        ``{"open_s": [...], "sessions": [ClientSession, ...]}``.
    """
    import numpy as np

    register_models()
    ws_url = url.replace("http://", "ws://").rstrip("/") + "/ws"
    sessions = [
        ClientSession(
            i,
            BokehUser(ws_url),
            data,
            np.random.default_rng(1000 * n + i),
            step_timeout_s,
        )
        for i in range(n)
    ]
    opened = await asyncio.gather(*(s.open() for s in sessions), return_exceptions=True)
    open_s = []
    for session, result in zip(sessions, opened, strict=True):
        if isinstance(result, BaseException):
            session.errors.append(f"open: {type(result).__name__}: {result}")
        else:
            open_s.append(result)
    live = [
        s
        for s, r in zip(sessions, opened, strict=True)
        if not isinstance(r, BaseException)
    ]
    until = time.perf_counter() + duration_s
    await asyncio.gather(*(s.work(tag, until) for s in live))
    await asyncio.gather(*(s.user.close() for s in live))
    return {"open_s": open_s, "sessions": sessions}


__all__ = ["BokehUser", "ClientSession", "run_count"]
