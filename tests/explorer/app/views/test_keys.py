"""The keyboard-shortcut component on the server side."""

from __future__ import annotations

import pytest

from explorer.app.views.keys import KeyboardShortcuts


def test_bound_keys_reach_the_callback_and_others_do_not():
    pressed = []
    keys = KeyboardShortcuts(on_key=pressed.append, bindings={"j": "next"})
    keys._handle_msg({"key": "j"})  # as the browser sends it
    keys._handle_msg({"key": "x"})  # not bound: ignored
    keys._handle_msg("j")  # not a message of ours
    assert pressed == ["j"] and keys.last_key == "j"
    with pytest.raises(KeyError, match="'x' is not bound"):
        keys.press("x")
