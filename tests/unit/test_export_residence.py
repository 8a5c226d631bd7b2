"""The residence gauges: named processes plus `other` add up to every read process."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from numascope.config import Config
from numascope.snapshot.model import Snapshot
from tests.fixtures.export_streams import two_node
from tests.promtools import promtool
from tests.unit.test_export_metrics import scrape


def _series(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        m = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            out.append((labels, float(m.group(2))))
    return out


def _by_node_kind(text: str, name: str) -> dict[tuple[str, str], float]:
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for labels, value in _series(text, name):
        sums[labels["node"], labels["kind"]] += value
    return dict(sums)


@pytest.mark.parametrize("limit", [1, 2, 50])
def test_resident_bytes_add_up_to_every_read_process(limit: int) -> None:
    snap: Snapshot = two_node(3)
    config = Config.model_validate({"prometheus": {"workload-limit": limit}})
    text = scrape(snap, config)
    promtool("check", "metrics", stdin=text)
    named = {labels["workload"] for labels, _ in _series(text, "numascope_resident_bytes")}
    expected = {"membound", "polite", "other"} if limit >= 2 else {"membound", "other"}
    assert named == expected
    total = _by_node_kind(text, "numascope_resident_bytes")
    assert total == _by_node_kind(text, "numascope_resident_processes_bytes")
    assert snap.residence is not None
    assert sum(total.values()) == snap.residence.all_processes().total


def test_staleness_and_moved_share_are_served() -> None:
    text = scrape(two_node(3))
    assert "numascope_resident_oldest_read_seconds 3.0" in text
    moved = dict(
        (labels["workload"], v) for labels, v in _series(text, "numascope_resident_moved_ratio")
    )
    assert moved == {"membound": 0.6, "polite": 0.0}
