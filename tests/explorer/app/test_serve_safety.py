"""Serving safely: loopback by default, auth for other addresses, Host and
origin checks, the upload limit, clean stop on signals, and a broken optional
part (annotations, one version) degrading instead of failing a page."""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from explorer.app.access import allowed_hosts, is_loopback, read_basic_auth
from explorer.errors import DataError, LatentskyError

LATENTSKY = str(Path(sys.executable).with_name("latentsky"))
#: a served page shows this once the views are built
TIMEOUT_MS = 60_000


def _serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LATENTSKY, "serve", *args], capture_output=True, text=True, timeout=timeout
    )


# ------------------------------------------------------------ access rules
def test_loopback_addresses():
    assert is_loopback("127.0.0.1")
    assert is_loopback("localhost")
    assert is_loopback("::1")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.20")


def test_loopback_serving_answers_only_to_loopback_names():
    hosts = allowed_hosts("127.0.0.1")
    assert "localhost" in hosts and "127.0.0.1" in hosts
    assert socket.gethostname().lower() not in hosts or socket.gethostname() in (
        "localhost",
    )
    assert "evil.example" not in hosts
    assert "lab.example" in allowed_hosts("127.0.0.1", ["lab.example:8080"])


def test_other_address_answers_to_it_and_the_host_name():
    hosts = allowed_hosts("10.1.2.3")
    assert "10.1.2.3" in hosts
    assert socket.gethostname().lower() in hosts
    assert "0.0.0.0" not in allowed_hosts("0.0.0.0")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("", "is not JSON"),
        ("{}", "holds no user"),
        ("[1, 2]", "holds no user"),
        ('{"ann": ""}', "has no password"),
        ('{"ann": 3}', "has no password"),
    ],
)
def test_bad_basic_auth_file_is_one_line(tmp_path, content, expected):
    path = tmp_path / "users.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(LatentskyError, match=expected) as info:
        read_basic_auth(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_basic_auth_file_is_read(tmp_path):
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"ann": "s3cret"}))
    assert read_basic_auth(path) == {"ann": "s3cret"}


def test_no_auth_warns(capsys):
    from explorer.commands.serve import _access

    args = argparse.Namespace(address="0.0.0.0", basic_auth=None, no_auth=True)
    assert _access(args) is None
    assert "without a login" in capsys.readouterr().err


def test_other_address_without_auth_is_refused(analysed_store):
    done = _serve(str(analysed_store), "--address", "0.0.0.0")
    assert done.returncode == 2, done.stderr
    assert "--basic-auth FILE" in done.stderr and "--no-auth" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_missing_basic_auth_file_is_refused(analysed_store, tmp_path):
    missing = tmp_path / "nobody.json"
    done = _serve(str(analysed_store), "--address", "0.0.0.0", "--basic-auth", missing)
    assert done.returncode == 2
    assert f"{missing} does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_port_in_use_is_refused(analysed_store):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _serve(str(analysed_store), "--port", str(port), "--no-warmup")
    assert done.returncode == 2, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------ upload limit
def test_upload_over_the_limit_is_refused_before_parsing():
    from explorer.app.upload import MAX_UPLOAD_BYTES, parse_fits_cutout

    assert MAX_UPLOAD_BYTES == 16 * 2**20
    too_big = b"SIMPLE  =" + b" " * MAX_UPLOAD_BYTES
    with pytest.raises(
        DataError, match=r"big\.fits is 16\.0 MiB, larger than the 16 MiB"
    ):
        parse_fits_cutout(too_big, ["g", "r", "z"], 32, "big.fits")


def test_upload_at_the_limit_is_parsed():
    from astropy.io import fits

    from explorer.app.upload import MAX_UPLOAD_BYTES, parse_fits_cutout

    buffer = fits.HDUList([fits.PrimaryHDU(np.ones((3, 32, 32), np.float32))])
    import io

    raw = io.BytesIO()
    buffer.writeto(raw)
    data = raw.getvalue()
    assert len(data) <= MAX_UPLOAD_BYTES
    assert parse_fits_cutout(data, ["g", "r", "z"], 32).shape == (1, 3, 32, 32)


def test_websocket_limit_fits_the_largest_upload():
    from explorer.app.server import WEBSOCKET_MAX_MESSAGE_BYTES
    from explorer.app.upload import MAX_UPLOAD_BYTES

    base64_size = 4 * ((MAX_UPLOAD_BYTES + 2) // 3)
    assert WEBSOCKET_MAX_MESSAGE_BYTES > base64_size


# ------------------------------------------------------------ damaged version
def test_damaged_current_version_is_left_out(two_version_store, tmp_path):
    from explorer.app.main import create_app, damaged_versions, extension
    from explorer.store import Store

    extension()

    root = tmp_path / "store"
    shutil.copytree(two_version_store, root)
    embeddings = root / "versions" / "v2" / "embeddings.npy"
    embeddings.write_bytes(embeddings.read_bytes()[:1000])
    damaged = damaged_versions(Store.open(root))
    assert list(damaged) == ["v2"]
    app = create_app(root, sync_url=False)
    assert app.state.version == "v1"
    assert app.state.param.version.objects == ["v1"]
    assert "v2" in app.state.notification["text"]
    assert "left out" in app.state.notification["text"]


# ------------------------------------------------------------ real server
def _get(port: int, host: str, path: str = "/") -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.slow
def test_foreign_host_header_is_refused(analysed_store, start_server):
    server = start_server(analysed_store, "--no-warmup")
    status, _, _ = _get(server.port, f"127.0.0.1:{server.port}")
    assert status == 200
    status, _, _ = _get(server.port, f"localhost:{server.port}")
    assert status == 200
    for forged in (f"evil.example:{server.port}", "evil.example", "127.0.0.1.nip.io"):
        status, _, body = _get(server.port, forged)
        assert status == 403, forged
        assert b"unknown host" in body
    status, _, _ = _get(server.port, "evil.example", "/static/extensions/x.js")
    assert status == 403


@pytest.mark.slow
def test_basic_auth_guards_the_page(analysed_store, start_server, tmp_path):
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"ann": "s3cret"}))
    server = start_server(analysed_store, "--no-warmup", "--basic-auth", str(users))
    status, headers, _ = _get(server.port, f"127.0.0.1:{server.port}")
    assert status == 302
    assert "login" in headers["Location"]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_server_within_2_s(analysed_store, start_server, signum):
    server = start_server(analysed_store, "--no-warmup")
    server.process.send_signal(signum)
    start = time.monotonic()
    try:
        code = server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{signal.Signals(signum).name} did not stop the server in 10 s")
    seconds = time.monotonic() - start
    assert code == 0, server.log_text()[-2000:]
    assert seconds < 2.0, f"stopped after {seconds:.1f} s"
    log = server.log_text()
    assert f"{signal.Signals(signum).name}: stopping" in log
    assert "Traceback" not in log


@pytest.mark.ui
def test_broken_annotations_degrade_the_clusters_tab(
    page, analysed_store_copy, start_server
):
    (analysed_store_copy / "annotations.sqlite").write_bytes(b"not a database" * 100)
    server = start_server(analysed_store_copy)
    page.goto(server.url)
    page.get_by_title("Box Select").first.wait_for(timeout=TIMEOUT_MS)
    page.locator(".bk-tab", has_text="Clusters").first.click()
    notice = page.locator(".clusters-unavailable")
    notice.wait_for(timeout=TIMEOUT_MS)
    assert "saved clusters unavailable:" in notice.inner_text()
    # the rest works: the anomaly queue still shows its cutouts
    page.locator(".bk-tab", has_text="Anomalies").first.click()
    page.locator(".anomaly-status").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)
    log = server.log_text()
    assert "saved clusters unavailable" in log
    assert "Traceback" not in log
