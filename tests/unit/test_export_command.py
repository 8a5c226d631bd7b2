"""`numascope export` and `top` as commands: the port they print, the probes they open.

tests/kernel/test_self_metrics_live.py checks on real programs that `probes:` in
the config decides which families attach.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest

from numascope.commands import export, top
from tests.promtools import STREAMS


def test_export_prints_the_port_it_bound_not_port_0() -> None:
    stream = str(STREAMS / "two_node.jsonl")
    argv = [sys.executable, "-m", "numascope", "export", "--replay", stream]
    argv += ["--web.listen-address", "127.0.0.1:0"]
    with subprocess.Popen(argv, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stderr is not None
            served = r'.* msg="serving http://127\.0\.0\.1:(\d+)/metrics"\n'
            lines: list[str] = []
            match = None
            while match is None and len(lines) < 3:  # as root, "running on as nobody" first
                lines.append(proc.stderr.readline())
                match = re.fullmatch(served, lines[-1])
            assert match, f"no serving line in {lines!r}"
            port = int(match.group(1))
            assert port != 0
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                assert r.status == 200 and b"numascope_build_info" in r.read()
        finally:
            proc.terminate()
            proc.communicate(timeout=10)


@pytest.mark.parametrize(
    ("address", "port", "tls", "url"),
    [
        ("127.0.0.1:0", 40123, False, "http://127.0.0.1:40123"),
        ("[::1]:0", 40124, True, "https://[::1]:40124"),
        (":9477", 9477, False, "http://0.0.0.0:9477"),
    ],
)
def test_served_url(address: str, port: int, tls: bool, url: str) -> None:
    assert export.served_url(address, port, tls) == url


class OpenedError(Exception):
    """Raised by the stand-in source opener: the command got as far as the probes."""


def parse(command: object, argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())  # type: ignore[attr-defined]
    return parser.parse_args(argv)


@pytest.mark.parametrize("command", [export, top], ids=["export", "top"])
def test_the_config_files_probes_reach_the_source(
    command: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("version: 1\nprobes: [page_alloc]\n")
    asked: list[tuple[str, ...] | None] = []

    def open_source(args: argparse.Namespace, config_probes: Sequence[str] | None = None) -> None:
        asked.append(None if config_probes is None else tuple(config_probes))
        raise OpenedError("stop here")

    monkeypatch.setattr(command, "open_source", open_source)
    name = command.__name__.rsplit(".", 1)[1]  # type: ignore[attr-defined]
    args = parse(command, [name, "--config", str(config)])
    with pytest.raises(OpenedError):
        args.func(args)
    assert asked == [("page_alloc",)]
