"""The FreeBSD live source over a stand-in process printing recorded dtrace output."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from numascope.collectors.freebsd.live import DtraceSource, read_live_topology
from numascope.errors import NumascopeError

FIXTURES = Path(__file__).parent.parent / "fixtures"


def recorded_sysctl(argv: Sequence[str]) -> str:
    assert argv[:2] == ["sysctl", "-i"]
    return (FIXTURES / "freebsd" / "sysctl-2domain.txt").read_text()


def test_live_source_yields_each_interval_then_says_dtrace_ended() -> None:
    topology = read_live_topology(recorded_sysctl)
    assert topology.topology.node_ids == (0, 1)
    process = subprocess.Popen(
        ["cat", str(FIXTURES / "dtrace" / "two-intervals.txt")],
        stdout=subprocess.PIPE,
        text=True,
    )
    source = DtraceSource(topology, process, ("vm_phys_alloc_pages",), {"x": "absent"})
    first, second = source.poll(), source.poll()
    assert first.host.platform == "freebsd" and second.seq == 2
    assert first.node_ids == (0, 1)
    assert first.health.probes_missing == {"x": "absent"}
    assert first.health.probes_attached == ("vm_phys_alloc_pages",)
    with pytest.raises(NumascopeError, match="dtrace exited"):
        source.poll()
    source.close()
