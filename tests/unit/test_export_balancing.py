"""The exporter's per-process NUMA balancing series: bounded, and adding up."""

from __future__ import annotations

import dataclasses

from numascope.snapshot.balancing import BalancingSection, ProcessBalancing
from tests.fixtures import export_streams
from tests.promtools import promtool
from tests.unit.test_export_metrics import samples, scrape_stream

LIMIT = 50  # the default workload budget (prometheus.workload-limit)


def _section(step: int, count: int) -> BalancingSection:
    """`count` processes; process i has had (i + 1) * step pages migrated so far."""
    rows = tuple(
        ProcessBalancing(
            pid=100 + i,
            name=f"worker-{i}",
            current_node=0,
            preferred_node=0,
            pages_migrated=(i + 1) * step,
            pages_migrated_delta=i + 1,
            total_faults=10,
        )
        for i in range(count)
    )
    return BalancingSection(processes=rows)


def test_per_process_migrated_pages_stay_bounded_count_from_zero_and_add_up() -> None:
    base = export_streams.two_node(1)
    steps = (1, 3, 4)
    stream = [
        dataclasses.replace(base, seq=s, time=base.time + s, balancing=_section(s, 80))
        for s in steps
    ]
    text = scrape_stream(stream)
    promtool("check", "metrics", stdin=text)
    series = samples(text, "numascope_numa_balancing_process_migrated_pages_total")
    assert len(series) == LIMIT + 1, "the named processes and other"
    assert '{pid="",workload="other"}' in series
    # A series counts from the step that named it, not the process's whole past
    # (which increase() would never see): summed with "other" they are the growth
    # of every process's count since the first step.
    grew = sum((i + 1) * (steps[-1] - steps[0]) for i in range(80))
    assert sum(series.values()) == grew
    assert series['{pid="179",workload="worker-79"}'] == 80 * (steps[-1] - steps[0])
    assert not any('workload="worker-0"' in k for k in series)
