"""`numascope export` itself: the request cap and SIGHUP re-reading the web config
and the TLS certificate, over real sockets and real TLS."""

from __future__ import annotations

import base64
import http.client
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import bcrypt
import pytest

from tests.promtools import free_port, tool
from tests.unit.test_export_endpoint import held_requests

STREAM = Path(__file__).parents[1] / "fixtures" / "streams" / "two_node.jsonl"


class Exporter:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log

    def output(self) -> str:
        return self.log.read_text()

    def wait_output(self, needle: str, count: int = 1) -> str:
        """The log once `needle` appears `count` times in it."""
        deadline = time.monotonic() + 60
        while self.output().count(needle) < count:
            if self.process.poll() is not None:
                pytest.fail(f"numascope export exited: {self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"numascope export never printed {needle!r}: {self.output()}")
            time.sleep(0.05)
        return self.output()


@contextmanager
def exporter(tmp_path: Path, *args: str) -> Iterator[Exporter]:
    port = free_port()
    log = tmp_path / "export.log"
    with log.open("wb") as out:
        argv = [sys.executable, "-m", "numascope", "export", "--replay", str(STREAM)]
        argv += ["--interval", "0.2", "--web.listen-address", f"127.0.0.1:{port}"]
        process = subprocess.Popen(
            [*argv, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        running = Exporter(process, port, log)
        running.wait_output("serving")
        yield running
    finally:
        process.terminate()
        process.wait(timeout=30)


def status_of(port: int, auth: str = "", context: ssl.SSLContext | None = None) -> int:
    if context is None:
        conn: http.client.HTTPConnection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}
    try:
        conn.request("GET", "/metrics", headers=headers if auth else {})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_export_answers_request_41_of_41_held_open_with_503(tmp_path: Path) -> None:
    with exporter(tmp_path, "--web.max-requests", "40") as running:
        with held_requests(running.port, 41) as held:
            # Whichever of the 41 the server counts last is refused, and only that one:
            # a cap of 39 would refuse two, a cap of 41 none.
            refused: list[socket.socket] = []
            deadline = time.monotonic() + 15
            while not refused and time.monotonic() < deadline:
                refused = select.select(held, [], [], 0.1)[0]
            assert refused, "none of 41 requests held open was refused"
            answer = refused[0].recv(4096)
            assert answer.startswith(b"HTTP/1.1 503 ") and b"--web.max-requests" in answer
            time.sleep(1.5)  # a refusal is sent once its headers stop (1 s)
            assert select.select(held, [], [], 0)[0] == refused, "more than one was refused"
            assert status_of(running.port) == 503
        deadline = time.monotonic() + 10
        while status_of(running.port) != 200:
            assert time.monotonic() < deadline, "the slots were never given back"
            time.sleep(0.02)


def make_certificate(folder: Path) -> bytes:
    """A fresh self-signed certificate for 127.0.0.1 as tls.crt/tls.key; its PEM."""
    subprocess.run(
        [tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / "tls.key"),
         "-out", str(folder / "tls.crt")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return (folder / "tls.crt").read_bytes()


def trusting(pem: bytes) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=pem.decode())


def web_config(user: str, password: str) -> str:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return (
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n"
        f"basic_auth_users:\n  {user}: '{hashed}'\n"
    )


def test_sighup_rereads_the_web_config_and_the_certificate(tmp_path: Path) -> None:
    first = make_certificate(tmp_path)
    file = tmp_path / "web.yml"
    file.write_text(web_config("prometheus", "s3cret"))
    with exporter(tmp_path, "--web.config.file", str(file)) as running:
        port = running.port
        assert status_of(port, "prometheus:s3cret", trusting(first)) == 200

        second = make_certificate(tmp_path)
        file.write_text(web_config("grafana", "n3w"))
        os.kill(running.process.pid, signal.SIGHUP)
        running.wait_output('msg="web config reloaded"')
        assert status_of(port, "grafana:n3w", trusting(second)) == 200
        assert status_of(port, "prometheus:s3cret", trusting(second)) == 401
        with pytest.raises(ssl.SSLCertVerificationError):
            status_of(port, "grafana:n3w", trusting(first))

        file.write_text("basic_auth_users:\n  grafana: plaintext\n")
        os.kill(running.process.pid, signal.SIGHUP)
        log = running.wait_output("kept the old web config")
        line = next(x for x in log.splitlines() if "kept the old web config" in x)
        assert f"{file}:2: basic_auth_users.grafana: not a bcrypt hash" in line
        assert "Traceback" not in log
        assert status_of(port, "grafana:n3w", trusting(second)) == 200

        (tmp_path / "tls.key").write_text("not a key\n")
        file.write_text(web_config("grafana", "n3w"))
        os.kill(running.process.pid, signal.SIGHUP)
        log = running.wait_output("kept the old web config", count=2)
        line = [x for x in log.splitlines() if "kept the old web config" in x][1]
        assert "tls_server_config: cannot load" in line
        assert status_of(port, "grafana:n3w", trusting(second)) == 200
        assert running.process.poll() is None
