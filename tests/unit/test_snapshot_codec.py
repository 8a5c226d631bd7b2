from __future__ import annotations

import pytest

from numascope.errors import NumascopeError
from numascope.snapshot.codec import snapshot_from_json, snapshot_to_json
from numascope.snapshot.model import (
    Finding,
    Health,
    HostInfo,
    Locality,
    NodeStats,
    Severity,
    Snapshot,
    Workload,
    WorkloadKind,
)
from numascope.snapshot.sections import Count, IrqStats


def sample() -> Snapshot:
    loc = Locality({0: 10, 1: 5}, {0: 10, 1: 5}, 10, 5, 10, 5)
    return Snapshot(
        seq=3,
        time=1.5,
        interval=1.0,
        source="bpf",
        host=HostInfo("h", "6.1", "linux"),
        nodes=(NodeStats(0, loc, loc, {"0": 15}, (0, 1), 10, 5),),
        processes=(Workload("pid:1", WorkloadKind.PROCESS, "a\\xff\nb", loc, loc, 1, "/x"),),
        irqs=(IrqStats(24, "virtio0", 1, (0,), {0: Count(5, 1)}),),
        findings=(Finding("pid:1", "a", "r", "remote", Severity.WARNING, "m", 1, {"k": [1]}),),
        health=Health(probes_attached=("kmem:mm_page_alloc",), probes_missing={"x": "y"}),
    )


def test_round_trip_is_exact() -> None:
    snap = sample()
    line = snapshot_to_json(snap)
    assert "\n" not in line
    assert snapshot_from_json(line) == snap


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{", "not JSON"),
        ("[]", "expected an object"),
        ('{"seq": 1}', "missing field"),
        (snapshot_to_json(sample()).replace('"seq":3', '"seq":"3"'), "snapshot.seq: expected int"),
        (snapshot_to_json(sample()).replace('"warning"', '"dire"'), "unknown value"),
    ],
)
def test_bad_input_names_the_field(line: str, message: str) -> None:
    with pytest.raises(NumascopeError, match=message):
        snapshot_from_json(line)
