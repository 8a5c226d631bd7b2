"""The exporter's HTTP side: landing page, paths, basic auth, TLS, web config errors."""

from __future__ import annotations

import base64
import logging
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from prometheus_client.registry import CollectorRegistry

from numascope.config import Config
from numascope.errors import NumascopeError
from numascope.exporters.prometheus import (
    MetricsServer,
    Poller,
    ScrapeState,
    SnapshotCollector,
    WebConfig,
    load_web_config,
    parse_listen_address,
)
from numascope.pipeline.pacer import Pacer
from numascope.pipeline.poller import PacedPoller
from numascope.snapshot.model import Snapshot
from tests.fixtures import export_streams
from tests.promtools import tool

HASH = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()


def registry() -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    state = ScrapeState(export_streams.two_node(1), Config())
    reg.register(SnapshotCollector(lambda: state))
    return reg


@pytest.fixture
def serve() -> Iterator[list[MetricsServer]]:
    servers: list[MetricsServer] = []
    yield servers
    for s in servers:
        s.close()


def start(
    servers: list[MetricsServer], web: WebConfig | None = None, path: str = "/metrics"
) -> str:
    server = MetricsServer(registry(), "127.0.0.1:0", path, web)
    server.start()
    servers.append(server)
    return f"127.0.0.1:{server.port}"


def get(
    url: str, auth: str | None = None, context: ssl.SSLContext | None = None
) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if auth is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_landing_page_metrics_path_and_404(serve: list[MetricsServer]) -> None:
    address = start(serve, path="/numa")
    status, body = get(f"http://{address}/")
    assert status == 200 and 'href="/numa"' in body
    status, body = get(f"http://{address}/numa")
    assert status == 200 and "numascope_node_pages_total" in body
    assert get(f"http://{address}/metrics")[0] == 404


def test_basic_auth(serve: list[MetricsServer], tmp_path: Path) -> None:
    file = tmp_path / "web.yml"
    file.write_text(f"basic_auth_users:\n  prometheus: '{HASH}'\n")
    address = start(serve, load_web_config(file))
    assert get(f"http://{address}/metrics")[0] == 401
    assert get(f"http://{address}/metrics", "prometheus:wrong")[0] == 401
    assert get(f"http://{address}/metrics", "nobody:s3cret")[0] == 401
    for _ in range(2):  # the second time from the cache of verified credentials
        status, body = get(f"http://{address}/metrics", "prometheus:s3cret")
        assert status == 200 and "numascope_build_info" in body


def test_tls(serve: list[MetricsServer], tmp_path: Path) -> None:
    subprocess.run(
        [
            tool("openssl"),
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(tmp_path / "tls.key"),
            "-out",
            str(tmp_path / "tls.crt"),
        ],
        check=True,
        capture_output=True,
    )
    file = tmp_path / "web.yml"
    file.write_text("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n")
    address = start(serve, load_web_config(file))
    context = ssl.create_default_context(cafile=str(tmp_path / "tls.crt"))
    status, body = get(f"https://{address}/metrics", context=context)
    assert status == 200 and "numascope_node_pages_total" in body
    with pytest.raises(OSError):  # plain HTTP to a TLS port: the connection is dropped
        get(f"http://{address}/metrics")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tls_server_config:\n  cert_file: a\n", "web.yml:2: tls_server_config.key_file: missing"),
        ("basic_auth_users:\n  me: plaintext\n", "web.yml:2: basic_auth_users.me: not a bcrypt"),
        ("tls_config:\n  a: b\n", "web.yml:1: tls_config: unknown field"),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n",
            "web.yml:4: tls_server_config.client_ca_file: not supported",
        ),
        ("basic_auth_users: [1]\n", "web.yml:1: basic_auth_users: expected a mapping"),
        ("a: [\n", "web.yml:2:"),
    ],
)
def test_a_bad_web_config_is_one_line_naming_line_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    file = tmp_path / "web.yml"
    file.write_text(text)
    with pytest.raises(NumascopeError) as info:
        load_web_config(file)
    assert str(info.value).startswith(f"{tmp_path}/{message}")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("address", "parsed"),
    [
        ("127.0.0.1:9477", ("127.0.0.1", 9477)),
        ("[::1]:9", ("::1", 9)),
        (":9477", ("0.0.0.0", 9477)),
    ],
)
def test_listen_address(address: str, parsed: tuple[str, int]) -> None:
    assert parse_listen_address(address) == parsed


@pytest.mark.parametrize("address", ["9477", "host:", "host:99999", "host:x"])
def test_bad_listen_address(address: str) -> None:
    with pytest.raises(NumascopeError, match=r"--web\.listen-address"):
        parse_listen_address(address)


class Flaky:
    def __init__(self) -> None:
        self.calls = 0

    def poll(self) -> Snapshot:
        self.calls += 1
        if self.calls == 2:
            raise OSError("map read failed")
        return export_streams.two_node(self.calls)

    def close(self) -> None:
        pass


def test_a_failed_poll_keeps_the_last_snapshot_and_is_counted(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # configure_logging (run by an export in this process) stops propagation to the root.
    monkeypatch.setattr(logging.getLogger("numascope"), "propagate", True)
    caplog.set_level(logging.ERROR, logger="numascope.export")
    poller = Poller(PacedPoller(Flaky(), Pacer(1.0)))
    poller.poll_once()
    poller.poll_once()
    latest = poller.latest
    assert latest is not None and latest.seq == 1
    assert poller.counts == (2, 1)
    assert "map read failed" in caplog.text
    poller.poll_once()
    latest = poller.latest
    assert latest is not None and latest.seq == 3
