"""`--config` on live commands: bad files fail in one line, SIGHUP reloads between polls."""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from numascope.commands.policy_options import add_config_option, open_policy, say_notes
from numascope.config import ConfigError
from numascope.snapshot.model import HostInfo, Locality, Snapshot, Workload, WorkloadKind


@pytest.fixture(autouse=True)
def restore_sighup() -> Iterator[None]:
    previous = signal.getsignal(signal.SIGHUP)
    yield
    signal.signal(signal.SIGHUP, previous)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_config_option(parser)
    return parser.parse_args(list(argv))


def remote_snapshot(seq: int) -> Snapshot:
    loc = Locality({1: 500}, {1: 500}, 0, 500, 0, 500)
    work = Workload("pid:7", WorkloadKind.PROCESS, "app", loc, loc, pid=7)
    return Snapshot(seq, float(seq), 1.0, "test", HostInfo(), (), processes=(work,))


def test_bad_config_is_one_located_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("rules: [{name: a}]\n")
    with pytest.raises(ConfigError) as caught:
        open_policy(parse("--config", str(path)))
    assert str(caught.value) == f"{path}:1:9: rules[0]: missing required key 'placement'"


def test_sighup_reload_between_polls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("thresholds: {min-pages: 100000}\n")
    step = open_policy(parse("--config", str(path)), replay=True)

    def judge(snapshot: Snapshot) -> Snapshot:
        return say_notes(step.apply(snapshot)).snapshot

    assert judge(remote_snapshot(1)).findings == ()
    path.write_text("thresholds: {min-pages: [\n")
    os.kill(os.getpid(), signal.SIGHUP)
    assert judge(remote_snapshot(2)).findings == ()
    err = capsys.readouterr().err
    assert err.startswith(f"numascope: {path}:2:1: ")
    assert err.rstrip().endswith("keeping the previous policy")
    path.write_text("thresholds: {min-pages: 1}\n")
    os.kill(os.getpid(), signal.SIGHUP)
    assert len(judge(remote_snapshot(3)).findings) == 1
    assert capsys.readouterr().err == f"numascope: policy reloaded from {path}\n"
