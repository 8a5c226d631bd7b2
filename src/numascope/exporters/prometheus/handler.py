"""One HTTP connection: the request cap, basic auth, gzip, HEAD and keep-alive.

The server around it (server.py) gives each connection a thread; this module
decides what each request on it gets.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import html
import io
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol, cast

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from numascope import __version__
from numascope.exporters.prometheus.basic_auth import ChecksBusyError
from numascope.exporters.prometheus.webconfig import WebConfig

# A client that opens a connection and says nothing, or keeps an idle keep-alive
# connection, must not hold a thread forever.
REQUEST_TIMEOUT_SECONDS = 30.0

# How long a refused request may take to finish sending its headers. They are read
# (and dropped) so that closing the connection does not reset it before the client
# has read the 503.
REFUSED_READ_SECONDS = 1.0
REFUSED_READ_BYTES = 65536

# Metrics text is so repetitive that level 1 gets most of gzip's ratio for a
# fraction of the CPU of the default level 9.
GZIP_LEVEL = 1


class RequestCap:
    """Counts requests in progress; refuses one beyond `limit` (0: no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._count = 0
        self._lock = threading.Lock()

    @property
    def in_progress(self) -> int:
        """Requests started and not yet answered."""
        return self._count

    def enter(self) -> bool:
        """Count one more request, or False (and count nothing) when at the limit."""
        with self._lock:
            if self.limit and self._count >= self.limit:
                return False
            self._count += 1
            return True

    def leave(self) -> None:
        """One counted request is done."""
        with self._lock:
            self._count -= 1


class Endpoint(Protocol):
    """What a connection reads from its server (server.py's _Server)."""

    registry: CollectorRegistry
    telemetry_path: str
    web: WebConfig
    cap: RequestCap


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding value allows gzip (`gzip;q=0` does not)."""
    for item in header.split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        if coding.lower() not in ("gzip", "*"):
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def landing_page(telemetry_path: str) -> bytes:
    """The page at `/`: what this is and where the metrics are."""
    path = html.escape(telemetry_path)
    return (
        "<!DOCTYPE html><html><head><title>numascope exporter</title></head><body>"
        f"<h1>numascope exporter {html.escape(__version__)}</h1>"
        "<p>NUMA memory locality: which process, cgroup or interrupt gets memory "
        "from which node.</p>"
        f'<p><a href="{path}">Metrics</a></p></body></html>\n'
    ).encode()


def refusal(limit: int) -> bytes:
    """The whole 503 response, written without the usual machinery."""
    body = (
        f"numascope: {limit} requests already in progress (--web.max-requests); try again later\n"
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Retry-After: 1\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    return head + body


class Handler(BaseHTTPRequestHandler):
    """Serves `/` and the telemetry path over one (keep-alive) connection."""

    server: Any  # an Endpoint; typed loosely because socketserver declares it
    timeout = REQUEST_TIMEOUT_SECONDS
    protocol_version = "HTTP/1.1"
    server_version = f"numascope/{__version__}"
    # The answer goes out in a few writes; none of them should wait for an ACK.
    disable_nagle_algorithm = True
    _counted = False  # whether this connection's current request holds a slot

    @property
    def endpoint(self) -> Endpoint:
        endpoint: Endpoint = self.server
        return endpoint

    def setup(self) -> None:
        super().setup()
        # The TLS handshake runs here, in the connection's own thread, not in accept().
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()

    def handle_one_request(self) -> None:
        # A request is in progress from its first byte: a client that sends its
        # headers slowly holds a thread as surely as a slow scrape does.
        try:
            # socketserver's rfile is buffered (rbufsize -1): a BufferedReader.
            started = cast(io.BufferedReader, self.rfile).peek(1)
        except OSError:
            started = b""
        if not started:
            self.close_connection = True
            return
        cap = self.endpoint.cap
        if not cap.enter():
            self._refuse(cap.limit)
            return
        self._counted = True
        try:
            super().handle_one_request()
        finally:
            self._leave_cap()

    def _leave_cap(self) -> None:
        if self._counted:
            self._counted = False
            self.endpoint.cap.leave()

    def _refuse(self, limit: int) -> None:
        self.close_connection = True
        # Drop what the client sends of its request until the blank line ends its
        # headers, for a second and 64 KiB at most whatever the client's pace.
        rfile = cast(io.BufferedReader, self.rfile)
        deadline = time.monotonic() + REFUSED_READ_SECONDS
        total, tail = 0, b""
        with contextlib.suppress(OSError):
            while total < REFUSED_READ_BYTES:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.connection.settimeout(left)
                chunk = rfile.read1(4096)
                if not chunk:
                    break
                total += len(chunk)
                window = tail + chunk
                if b"\r\n\r\n" in window or b"\n\n" in window:
                    break
                tail = window[-3:]
        with contextlib.suppress(OSError):  # the client gave up first
            self.wfile.write(refusal(limit))

    def do_GET(self) -> None:
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self._serve(with_body=False)

    def _serve(self, with_body: bool) -> None:
        endpoint = self.endpoint
        try:
            authorized = self._authorized(endpoint.web)
        except ChecksBusyError:
            self._reply(
                503,
                "text/plain; charset=utf-8",
                b"numascope: too many password checks waiting; try again later\n",
                with_body,
                ("Retry-After", "1"),
            )
            return
        if not authorized:
            self._reply(
                401,
                "text/plain; charset=utf-8",
                b"Unauthorized\n",
                with_body,
                ("WWW-Authenticate", 'Basic realm="numascope"'),
            )
            return
        path = self.path.split("?", 1)[0]
        if path == endpoint.telemetry_path:
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._reply(200, content_type, encoder(endpoint.registry), with_body)
        elif path == "/":
            page = landing_page(endpoint.telemetry_path)
            self._reply(200, "text/html; charset=utf-8", page, with_body)
        else:
            self._reply(404, "text/plain; charset=utf-8", b"not found\n", with_body)

    def _authorized(self, web: WebConfig) -> bool:
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

    def _reply(
        self,
        status: int,
        content_type: str,
        body: bytes,
        with_body: bool,
        *headers: tuple[str, str],
    ) -> None:
        # HEAD answers with the headers GET would send, Content-Length included.
        gzipped = accepts_gzip(self.headers.get("Accept-Encoding", ""))
        if gzipped:
            body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept-Encoding")
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        for name, value in headers:
            self.send_header(name, value)
        # The request leaves the count before its last byte goes out: a client that
        # has read its whole answer and asks again at once must not be refused for
        # the request it has just seen answered.
        if with_body and body:
            self.end_headers()
            self.wfile.write(body[:-1])
            self._leave_cap()
            self.wfile.write(body[-1:])
        else:
            self._leave_cap()
            self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a scrape every few seconds would flood the journal
