"""A capture written by an older numascope stays readable: the checked-in 1.0 file."""

from __future__ import annotations

import pytest

from numascope.capture.file import read_capture
from numascope.capture.replay import open_replay
from numascope.cli import main
from tests.fixtures.capture_files import V1_0_CAPTURE


def test_version_1_0_capture_reads_with_its_dd_workload() -> None:
    capture = read_capture(V1_0_CAPTURE)
    assert capture.version == "1.0"
    assert capture.header.numascope_version == "0.1.0"
    assert capture.header.topology is not None and capture.header.topology.node_ids == (0,)
    assert "vm.numa_stat" in capture.header.sysctls
    assert capture.header.numastat_after and capture.header.vmstat_after
    assert len(capture.snapshots) == capture.trailer.snapshots == 3
    dd = [w for w in capture.snapshots[-1].processes if w.name == "dd"]
    assert dd and dd[0].total.pages >= 16384  # bs=64M: 16384 pages of 4 KiB


def test_version_1_0_capture_replays_to_its_last_snapshot() -> None:
    source = open_replay(V1_0_CAPTURE)
    seqs = [source.poll().seq for _ in range(4)]
    assert seqs == [1, 2, 3, 3]
    assert source.finished


def test_version_1_0_capture_reports(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(V1_0_CAPTURE)]) == 0
    text = capsys.readouterr().out
    assert "## Top workloads" in text
    assert "| dd | process (exited) |" in text
