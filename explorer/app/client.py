"""A Bokeh-protocol client of a served dashboard: a user without a browser.

One websocket per user (the same ``/ws`` endpoint and messages as BokehJS):
the session's document is pulled and kept in sync from the server's
``PATCH-DOC`` messages, and the UI events a browser would send
(``mousemove``, ``selectiongeometry``, ``button_click``, a text input's value)
are sent as the same JSON. Used by ``latentsky bench load``
(:mod:`explorer.bench.load_client`); it lives in the app package, the only
one that speaks Panel and Bokeh.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

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
        # TCP_NODELAY, as browsers set it: Bokeh writes a message as several
        # websocket frames, and with Nagle's algorithm the frames after the
        # first waited for the server's delayed ACK (~45 ms of a 65 ms hover
        # round trip on loopback; 20 ms without)
        socket.protocol.set_nodelay(True)
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


__all__ = ["BokehUser", "register_models"]
