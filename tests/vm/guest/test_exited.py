"""Processes that exit before numascope's next poll keep their pages."""

from __future__ import annotations

import os

import pytest

from numascope.collectors.live import LiveSource
from tests.vm.guest.checks import RecordProperty, report, workload_row
from tests.vm.guest.window import Window, agree, agree_on_node_totals, measure
from tests.vm.guest.workloads import Finished, dd_touch, pages, run_in_cgroup
from tests.vm.topologies import GuestTopology

pytestmark = pytest.mark.guest

RUNS = 8
MIB = 8


@pytest.mark.topologies("two_node")
def test_processes_exiting_between_polls_are_attributed(
    live: LiveSource, guest: GuestTopology, record_property: RecordProperty
) -> None:
    # Remote from node 1's CPU onto node 0, one after another on the same CPU: each
    # run pushes the previous one out of the CPU's cached slot, and the last one is
    # still cached there when numascope polls, after every run has exited.
    def run_all() -> list[Finished]:
        return [
            run_in_cgroup(
                f"exited_{i}", dd_touch(MIB, "--cpunodebind=1", "--membind=0"), cpu_node=1
            )
            for i in range(RUNS)
        ]

    window, runs = measure(live, run_all)
    first = Window(window.before, window.polls[:1])
    for dd in runs:
        assert not os.path.exists(f"/proc/{dd.pid}"), f"pid {dd.pid} had not exited"
        row = workload_row(first, dd)
        assert row.total.pages_by_node.get(0, 0) >= pages(MIB), (dd.pid, row.total)
    rows = [workload_row(window, dd) for dd in runs]
    theirs = sum(r.total.events_by_node.get(0, 0) for r in rows)
    lines = agree_on_node_totals(window, guest.node_ids, RUNS * pages(MIB))
    lines.append(
        agree(
            "their events on node 0 / node 0 other_node",
            theirs,
            window.kernel(0, "other_node"),
            RUNS * pages(MIB),
        )
    )
    report(record_property, rows[-1], lines)
