"""Keyboard shortcuts for a panel: a small component that listens to the
page's key presses while it is on screen and sends each bound key to Python.

It also shows the keys it knows (its own help line), so the shortcuts are
documented where they work. Keys typed into a text field, or with Ctrl, Alt
or Meta held, are left to the page; a component on a hidden tab ignores
keys, so two panels can bind the same key.
"""

from __future__ import annotations

from collections.abc import Callable

import param
from panel.custom import JSComponent


class KeyboardShortcuts(JSComponent):
    """Send ``bindings``' keys to ``on_key`` while this component is visible.

    Parameters
    ----------
    bindings : dict of str to str
        ``KeyboardEvent.key`` value -> what it does (shown in the help line),
        e.g. ``{"j": "next image", "ArrowRight": "next page"}``.
    on_key : callable, optional
        Called with the key (one of ``bindings``) on the server.
    """

    bindings = param.Dict(default={}, doc="key -> description")
    last_key = param.String(default="", doc="the latest key received")

    _esm = """
    const NAMES = {ArrowLeft: "←", ArrowRight: "→", ArrowUp: "↑",
                   ArrowDown: "↓", Enter: "Enter"};
    export function render({ model, el }) {
      const help = document.createElement("div");
      help.className = "keys-help";
      function draw() {
        help.innerHTML = "";
        const title = document.createElement("span");
        title.textContent = "Keys: ";
        help.appendChild(title);
        for (const [key, what] of Object.entries(model.bindings)) {
          const k = document.createElement("kbd");
          k.textContent = NAMES[key] || key;
          help.appendChild(k);
          help.appendChild(document.createTextNode(" " + what + "  "));
        }
      }
      function typing(event) {
        const target = event.composedPath()[0];
        if (!target || !target.tagName) { return false; }
        const tag = target.tagName.toLowerCase();
        return tag === "input" || tag === "textarea" || tag === "select" ||
          target.isContentEditable;
      }
      function onKey(event) {
        if (event.ctrlKey || event.altKey || event.metaKey || typing(event)) {
          return;
        }
        if (!(event.key in model.bindings)) { return; }
        // a component on a hidden tab has no boxes: leave the key to others
        if (!help.isConnected || help.getClientRects().length === 0) { return; }
        event.preventDefault();
        model.send_msg({ key: event.key });
      }
      draw();
      model.on("bindings", draw);
      document.addEventListener("keydown", onKey);
      model.on("remove", () => document.removeEventListener("keydown", onKey));
      return help;
    }
    """

    _stylesheets = [
        """
    .keys-help { font-size: 11px; color: #9aa4b2; }
    .keys-help kbd { border: 1px solid #30363d; border-radius: 3px;
                     padding: 0 4px; background: #161b22; color: #c9d1d9;
                     font-family: monospace; }
    """
    ]

    def __init__(self, on_key: Callable[[str], None] | None = None, **params):
        super().__init__(**params)
        self.on_key = on_key

    def _handle_msg(self, msg) -> None:
        if not isinstance(msg, dict) or msg.get("key") not in self.bindings:
            return
        self.press(str(msg["key"]))

    def press(self, key: str) -> None:
        """Act on ``key`` as if it was pressed in the browser.

        Raises
        ------
        KeyError
            If ``key`` is not one of :attr:`bindings`.
        """
        if key not in self.bindings:
            msg = f"key {key!r} is not bound (bound: {sorted(self.bindings)})"
            raise KeyError(msg)
        self.last_key = key
        if self.on_key is not None:
            self.on_key(key)
