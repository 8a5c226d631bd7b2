"""The HTTP(S) server: landing page at `/`, metrics at the telemetry path.

Each connection is served on a thread of its own (handler.py); TLS is set up per
connection with the context current at accept(), so a new certificate read on
SIGHUP serves every connection made after it.
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
from http.server import ThreadingHTTPServer
from typing import Any

from prometheus_client.registry import CollectorRegistry

from numascope.errors import NumascopeError
from numascope.exporters.prometheus.handler import Handler, RequestCap
from numascope.exporters.prometheus.webconfig import WebConfig

# As node_exporter's --web.max-requests: enough for several Prometheus servers and
# a few people with curl, few enough that a storm cannot start a thread per caller.
DEFAULT_MAX_REQUESTS = 40


def parse_listen_address(address: str) -> tuple[str, int]:
    """'host:port' or '[v6]:port' -> (host, port); one-line error otherwise."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise NumascopeError(f"--web.listen-address: {address!r} is not host:port")
    host = host.removeprefix("[").removesuffix("]")
    return host or "0.0.0.0", int(port_text)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many scrapers connecting at once must queue in the kernel, not be refused.
    request_queue_size = 128
    registry: CollectorRegistry
    telemetry_path: str
    web: WebConfig
    tls: ssl.SSLContext | None
    cap: RequestCap

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        context = self.tls
        if context is None:
            return sock, address
        # No handshake here: it runs in the connection's thread (Handler.setup).
        wrapped = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return wrapped, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that drops the connection or fails the TLS handshake is not
        # worth a traceback in the journal; anything else is.
        if not isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class MetricsServer:
    """Serves `registry` on `address` in a background thread until `close()`."""

    def __init__(
        self,
        registry: CollectorRegistry,
        address: str,
        telemetry_path: str = "/metrics",
        web: WebConfig | None = None,
        max_requests: int = DEFAULT_MAX_REQUESTS,
    ) -> None:
        if not telemetry_path.startswith("/") or telemetry_path == "/":
            raise NumascopeError(
                f"--web.telemetry-path: {telemetry_path!r} must start with / and not be /"
            )
        if max_requests < 0:
            raise NumascopeError(f"--web.max-requests: {max_requests} is below 0 (0: no limit)")
        host, port = parse_listen_address(address)
        _Server.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._httpd = _Server((host, port), Handler)
        except OSError as exc:
            raise NumascopeError(f"--web.listen-address {address}: {exc.strerror}") from None
        self._httpd.registry = registry
        self._httpd.telemetry_path = telemetry_path
        self._httpd.cap = RequestCap(max_requests)
        try:
            self.use_web_config(web or WebConfig())
        except NumascopeError:
            self._httpd.server_close()
            raise
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="numascope-http", daemon=True
        )

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self._httpd.server_address[1])

    @property
    def requests_in_progress(self) -> int:
        """Requests started (first byte received) and not yet answered."""
        return self._httpd.cap.in_progress

    def use_web_config(self, web: WebConfig) -> None:
        """Serve with `web` from the next request on, its TLS files read now.

        A certificate or key that cannot be loaded raises NumascopeError and
        leaves the config in use untouched.
        """
        context = web.ssl_context() if web.tls else None
        self._httpd.tls = context
        self._httpd.web = web

    def start(self) -> None:
        """Start answering, in a background thread."""
        self._thread.start()

    def close(self) -> None:
        """Stop answering and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
