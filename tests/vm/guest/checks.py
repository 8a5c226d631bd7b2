"""Checks shared by the guest scenarios: the workload's own row, and misses."""

from __future__ import annotations

from collections.abc import Callable

from numascope.snapshot.model import Workload
from tests.vm.guest.window import Window
from tests.vm.guest.workloads import Finished

RecordProperty = Callable[[str, object], None]


def workload_row(window: Window, finished: Finished, comm: str = "dd") -> Workload:
    """The workload's row, checked for its pid, comm, cgroup and exit."""
    row = window.process(finished.pid)
    assert row.name == comm, f"pid {finished.pid} is named {row.name!r}, not {comm!r}"
    assert row.cgroup == finished.cgroup, f"pid {finished.pid} in cgroup {row.cgroup!r}"
    assert not row.alive, f"pid {finished.pid} exited but numascope shows it alive"
    group = window.cgroup(finished.cgroup)
    assert group.total.pages >= row.total.pages, (group.total, row.total)
    return row


def kernel_misses(window: Window, nodes: tuple[int, ...]) -> int:
    """numastat numa_miss over the window: pages that missed their policy's node."""
    return sum(window.kernel(n, "numa_miss") for n in nodes)


def report(record_property: RecordProperty, row: Workload, lines: list[str]) -> None:
    """Keep the figures with the result, so the host can print them."""
    by_node = ", ".join(f"node {n}: {p}" for n, p in sorted(row.total.pages_by_node.items()))
    record_property("workload", f"pid {row.pid} {row.name} {row.cgroup}: pages {by_node}")
    record_property("kernel", "; ".join(lines))
