"""Who can reach the exporter: loopback by default; with TLS and basic auth, only
a client that presents the credentials over TLS."""

from __future__ import annotations

import argparse
import ssl
import subprocess
from pathlib import Path

from numascope.commands import export
from numascope.config import Config
from numascope.exporters.prometheus import MetricsServer, load_web_config
from tests.promtools import tool
from tests.unit.test_export_server import HASH, get, serve, start

__all__ = ["serve"]  # the fixture, shared with test_export_server


def test_the_default_listen_address_is_loopback() -> None:
    assert Config().prometheus.listen_address.startswith("127.0.0.1:")
    parser = argparse.ArgumentParser()
    export.register(parser.add_subparsers())
    args = parser.parse_args(["export"])
    assert args.listen_address is None, "no flag: the config's loopback default applies"


def test_tls_with_basic_auth_refuses_an_unauthenticated_scrape(
    serve: list[MetricsServer], tmp_path: Path
) -> None:
    subprocess.run(
        [tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(tmp_path / "tls.key"), "-out", str(tmp_path / "tls.crt")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    file = tmp_path / "web.yml"
    file.write_text(
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n"
        f"basic_auth_users:\n  prometheus: '{HASH}'\n"
    )
    address = start(serve, load_web_config(file))
    context = ssl.create_default_context(cafile=str(tmp_path / "tls.crt"))
    url = f"https://{address}/metrics"
    assert get(url, context=context)[0] == 401
    assert get(url, "prometheus:wrong", context=context)[0] == 401
    status, body = get(url, "prometheus:s3cret", context=context)
    assert status == 200 and "numascope_build_info" in body
