"""The HTTP(S) server: landing page at `/`, metrics at the telemetry path."""

from __future__ import annotations

import base64
import binascii
import html
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from numascope import __version__
from numascope.errors import NumascopeError
from numascope.exporters.prometheus.webconfig import WebConfig

# A client that opens a connection and says nothing must not hold a thread forever.
REQUEST_TIMEOUT_SECONDS = 30.0


def parse_listen_address(address: str) -> tuple[str, int]:
    """'host:port' or '[v6]:port' -> (host, port); one-line error otherwise."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise NumascopeError(f"--web.listen-address: {address!r} is not host:port")
    host = host.removeprefix("[").removesuffix("]")
    return host or "0.0.0.0", int(port_text)


def _landing_page(telemetry_path: str) -> bytes:
    path = html.escape(telemetry_path)
    return (
        "<!DOCTYPE html><html><head><title>numascope exporter</title></head><body>"
        f"<h1>numascope exporter {html.escape(__version__)}</h1>"
        "<p>NUMA memory locality: which process, cgroup or interrupt gets memory "
        "from which node.</p>"
        f'<p><a href="{path}">Metrics</a></p></body></html>\n'
    ).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    registry: CollectorRegistry
    telemetry_path: str
    web: WebConfig

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that drops the connection or fails the TLS handshake is not
        # worth a traceback in the journal; anything else is.
        if not isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT_SECONDS
    server_version = f"numascope/{__version__}"

    def setup(self) -> None:
        super().setup()
        # The TLS handshake runs here, in the request's own thread, not in accept().
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()

    def do_GET(self) -> None:
        if not self._authorized():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="numascope"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = self.path.split("?", 1)[0]
        if path == self.server.telemetry_path:
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._reply(200, content_type, encoder(self.server.registry))
        elif path == "/":
            body = _landing_page(self.server.telemetry_path)
            self._reply(200, "text/html; charset=utf-8", body)
        else:
            self._reply(404, "text/plain; charset=utf-8", b"not found\n")

    def _authorized(self) -> bool:
        web = self.server.web
        if not web.users:
            return True
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return bool(sep) and web.authorized(user, password)

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a scrape every few seconds would flood the journal


class MetricsServer:
    """Serves `registry` on `address` in a background thread until `close()`."""

    def __init__(
        self,
        registry: CollectorRegistry,
        address: str,
        telemetry_path: str = "/metrics",
        web: WebConfig | None = None,
    ) -> None:
        if not telemetry_path.startswith("/") or telemetry_path == "/":
            raise NumascopeError(
                f"--web.telemetry-path: {telemetry_path!r} must start with / and not be /"
            )
        host, port = parse_listen_address(address)
        _Server.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._httpd = _Server((host, port), _Handler)
        except OSError as exc:
            raise NumascopeError(f"--web.listen-address {address}: {exc.strerror}") from None
        self._httpd.registry = registry
        self._httpd.telemetry_path = telemetry_path
        self._httpd.web = web or WebConfig()
        if self._httpd.web.tls:
            context = self._httpd.web.ssl_context()
            self._httpd.socket = context.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="numascope-http", daemon=True
        )

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self._httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
