"""The exporter's endpoint over real sockets: the request cap, keep-alive, HEAD,
gzip and a web config swapped while serving."""

from __future__ import annotations

import base64
import gzip
import http.client
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from numascope.errors import NumascopeError
from numascope.exporters.prometheus import MetricsServer, WebConfig, load_web_config
from numascope.exporters.prometheus.handler import accepts_gzip
from tests.unit.test_export_server import HASH, registry

# A request whose headers never end: the server has started it and waits for more.
HELD = b"GET /metrics HTTP/1.1\r\nHost: numascope\r\nUser-Agent: slow\r\n"


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


@contextmanager
def serving(web: WebConfig | None = None, max_requests: int = 40) -> Iterator[MetricsServer]:
    server = MetricsServer(registry(), "127.0.0.1:0", web=web, max_requests=max_requests)
    server.start()
    try:
        yield server
    finally:
        server.close()


@contextmanager
def held_requests(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections each holding a request in progress (headers unfinished)."""
    held = []
    try:
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            held.append(s)
            s.sendall(HELD)
        yield held
    finally:
        for s in held:
            s.close()


def fetch(
    port: int, method: str = "GET", path: str = "/metrics", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_request_41_of_41_held_open_gets_503() -> None:
    with serving(max_requests=40) as server, held_requests(server.port, 39) as held:
        wait_for(lambda: server.requests_in_progress == 39, "39 requests in progress")
        assert fetch(server.port)[0] == 200, "the 40th request is served"
        held.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
        held[-1].sendall(HELD)
        wait_for(lambda: server.requests_in_progress == 40, "40 requests in progress")
        status, headers, body = fetch(server.port)
        assert status == 503
        assert headers["Connection"] == "close" and headers["Retry-After"] == "1"
        assert b"--web.max-requests" in body
        assert server.requests_in_progress == 40, "a refused request is not counted"
        held.pop().close()
        wait_for(lambda: server.requests_in_progress == 39, "a held request to end")
        assert fetch(server.port)[0] == 200


def test_no_cap_with_max_requests_0() -> None:
    with serving(max_requests=0) as server, held_requests(server.port, 45):
        wait_for(lambda: server.requests_in_progress == 45, "45 requests in progress")
        assert fetch(server.port)[0] == 200


def test_a_bad_max_requests_is_one_line() -> None:
    with pytest.raises(NumascopeError, match=r"^--web\.max-requests: -1 is below 0"):
        MetricsServer(registry(), "127.0.0.1:0", max_requests=-1)


def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    with serving() as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            sockets = set()
            for path in ("/metrics", "/", "/nothing", "/metrics"):
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                assert response.version == 11 and not response.will_close
                sockets.add(id(conn.sock))
            assert len(sockets) == 1
        finally:
            conn.close()


def test_head_sends_the_headers_of_get_and_no_body() -> None:
    with serving() as server:
        for path in ("/metrics", "/", "/nothing"):
            get_status, get_headers, get_body = fetch(server.port, "GET", path)
            head_status, head_headers, head_body = fetch(server.port, "HEAD", path)
            assert head_status == get_status and head_body == b""
            assert head_headers["Content-Type"] == get_headers["Content-Type"]
            assert int(head_headers["Content-Length"]) == len(get_body) > 0


def test_gzip_when_the_client_asks() -> None:
    with serving() as server:
        status, headers, body = fetch(server.port, Accept_Encoding="gzip, deflate")
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert int(headers["Content-Length"]) == len(body)
        text = gzip.decompress(body)
        assert b"numascope_node_pages_total" in text and len(body) < len(text) / 3
        _, plain_headers, plain = fetch(server.port, Accept_Encoding="gzip;q=0")
        assert "Content-Encoding" not in plain_headers and plain.startswith(b"# HELP")
        assert "Content-Encoding" not in fetch(server.port)[1]


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("deflate, gzip;q=1.0, *;q=0.5", True),
        ("GZIP", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, identity", False),
        ("identity", False),
        ("", False),
        ("gzip;q=x", False),
        ("x-gzip", False),
    ],
)
def test_accept_encoding(header: str, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


def basic(user_password: str) -> str:
    return "Basic " + base64.b64encode(user_password.encode()).decode()


def test_a_new_web_config_applies_to_the_next_request(tmp_path: Path) -> None:
    file = tmp_path / "web.yml"
    file.write_text(f"basic_auth_users:\n  prometheus: '{HASH}'\n")
    with serving(load_web_config(file)) as server:
        assert fetch(server.port, Authorization=basic("prometheus:s3cret"))[0] == 200
        file.write_text(f"basic_auth_users:\n  grafana: '{HASH}'\n")
        server.use_web_config(load_web_config(file))
        assert fetch(server.port, Authorization=basic("prometheus:s3cret"))[0] == 401
        assert fetch(server.port, Authorization=basic("grafana:s3cret"))[0] == 200
        missing = WebConfig(tmp_path / "no.crt", tmp_path / "no.key")
        with pytest.raises(NumascopeError, match="tls_server_config: cannot load"):
            server.use_web_config(missing)
        assert fetch(server.port, Authorization=basic("grafana:s3cret"))[0] == 200
