"""A real Prometheus holds the residence gauges to what docs/residence.md says: the
named processes and `other` add up to every read process, per node and kind, and
the documented queries return data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import streams
from tests.fixtures.residence_stream import memory_moved
from tests.promtools import exporter, prometheus

pytestmark = pytest.mark.kernel

ADDS_UP = (
    "sum by (node, kind) (numascope_resident_bytes)"
    " - on (node, kind) numascope_resident_processes_bytes"
)


def test_resident_bytes_add_up_through_prometheus(tmp_path: Path) -> None:
    stream = streams.write_stream(tmp_path / "memory.jsonl", memory_moved(30))
    with (
        exporter("--replay", str(stream), "--interval", "0.2", log=tmp_path / "x.log") as at,
        prometheus(tmp_path, {"numascope": [at]}) as server,
    ):
        differences = server.wait_for(ADDS_UP, seconds=60)
        assert differences, "no residence series were scraped"
        # node 0 and 1: anon, file, shared where some process has them
        assert {(r["metric"]["node"], r["metric"]["kind"]) for r in differences} >= {
            ("0", "anon"),
            ("1", "anon"),
            ("0", "file"),
        }
        assert all(float(r["value"][1]) == 0 for r in differences), differences
        by_node = server.query(
            'sum by (workload, node) (numascope_resident_bytes{workload!="other"})'
        )
        assert {r["metric"]["workload"] for r in by_node} == {"dd", "hugeuser"}
        moved = server.query("numascope_resident_moved_ratio > 0.5")
        assert [(r["metric"]["workload"], float(r["value"][1])) for r in moved] == [("dd", 0.84)]
