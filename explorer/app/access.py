"""Who may reach a served dashboard: the basic-auth file, allowed hosts and
websocket origins. Free of Panel so ``latentsky serve`` validates its flags
before importing the server, and the rules are unit-tested.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from collections.abc import Sequence
from pathlib import Path

from explorer.errors import LatentskyError

#: the names of this machine as seen from itself
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def is_loopback(address: str) -> bool:
    """Whether ``address`` (an IP or ``localhost``) only listens on this machine."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def read_basic_auth(path: str | Path) -> dict[str, str]:
    """Read a basic-auth file: a JSON object ``{user: password}``.

    Parameters
    ----------
    path : path-like
        The file given to ``--basic-auth``.

    Returns
    -------
    dict
        User name -> password, at least one entry.

    Raises
    ------
    LatentskyError
        If the file is missing, unreadable, not a JSON object of non-empty
        strings, or empty.
    """
    path = Path(path)
    expected = 'expected a JSON object {"user": "password"}'
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"--basic-auth file {path} does not exist ({expected})"
        raise LatentskyError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"--basic-auth file {path} cannot be read: {exc}"
        raise LatentskyError(msg) from None
    try:
        users = json.loads(text)
    except ValueError as exc:
        msg = f"--basic-auth file {path} is not JSON ({exc}); {expected}"
        raise LatentskyError(msg) from None
    if not isinstance(users, dict) or not users:
        msg = f"--basic-auth file {path} holds no user; {expected}"
        raise LatentskyError(msg)
    for user, password in users.items():
        if not user or not isinstance(password, str) or not password:
            msg = f"--basic-auth file {path}: user {user!r} has no password; {expected}"
            raise LatentskyError(msg)
    return users


def _machine_names() -> list[str]:
    """This machine's host name, fully qualified name and their addresses."""
    names = [socket.gethostname(), socket.getfqdn()]
    for name in list(names):
        try:
            names.extend(info[4][0] for info in socket.getaddrinfo(name, None))
        except OSError:
            continue
    return names


def allowed_hosts(address: str, extra: Sequence[str] = ()) -> list[str]:
    """Host names (no port) that the dashboard answers to when bound to ``address``.

    Loopback addresses answer to the loopback names only; any other address
    to itself, this machine's names and the hosts of ``extra``
    (``--allow-origin host[:port]``).
    """
    hosts = list(LOOPBACK_NAMES)
    if not is_loopback(address):
        hosts += [address, *_machine_names()]
    hosts += [_host_of(origin) for origin in extra]
    unspecified = ("0.0.0.0", "::", "")
    return sorted({h.lower() for h in hosts if h and h not in unspecified})


def _host_of(origin: str) -> str:
    """``host`` of ``host[:port]`` (also ``[v6]:port`` and a URL)."""
    origin = re.sub(r"^[a-z]+://", "", origin.strip()).split("/")[0]
    if origin.startswith("["):
        return origin[: origin.find("]") + 1]
    return origin.rsplit(":", 1)[0] if origin.count(":") == 1 else origin


def websocket_origins(
    hosts: Sequence[str], port: int, extra: Sequence[str]
) -> list[str]:
    """Bokeh's ``allow_websocket_origin``: each host on ``port``, plus ``extra``."""
    # bokeh parses ``host:port`` with one colon only: IPv6 names cannot be listed
    named = {f"{host}:{port}" for host in hosts if ":" not in host}
    return sorted(named | set(extra))


def host_pattern(hosts: Sequence[str]) -> str:
    """A regex of the allowed hosts for tornado's ``HostMatches`` (anchored there)."""
    return "(" + "|".join(re.escape(h) for h in hosts) + ")"
