"""A measurement window: numascope's snapshots and the kernel's counters over the
same stretch of time, and the comparisons every guest scenario makes.

numascope polls once before the workload and a few times after, so counts still
cached in per-CPU slots are drained. The kernel's numastat deltas come in the
very same snapshots (LiveSource reads them in each poll), so both sides cover
the same window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from numascope.collectors.live import LiveSource
from numascope.snapshot.model import Snapshot, Workload

T = TypeVar("T")

SETTLE_POLLS = 3
AGREEMENT = 0.01  # numascope and the kernel agree within 1%


@dataclass(frozen=True)
class Window:
    before: Snapshot
    polls: tuple[Snapshot, ...]

    @property
    def after(self) -> Snapshot:
        return self.polls[-1]

    def kernel(self, node: int, counter: str) -> int:
        """A numastat counter's increase on `node` over the window."""
        return sum(k.delta.get(counter, 0) for s in self.polls for k in s.kernel if k.node == node)

    def node_events(self, node: int) -> tuple[int, int]:
        """numascope's (local, remote) allocation events served by `node`."""
        start = next(n for n in self.before.nodes if n.node == node)
        end = next(n for n in self.after.nodes if n.node == node)
        return (
            end.total.local_events - start.total.local_events,
            end.total.remote_events - start.total.remote_events,
        )

    def matrix_events(self, cpu_node: int, page_node: int) -> int:
        """Allocation events by CPUs of `cpu_node` served by `page_node`."""

        def events(snapshot: Snapshot) -> int:
            for cell in snapshot.matrix:
                if (cell.cpu_node, cell.page_node) == (cpu_node, page_node):
                    return cell.total_events
            return 0

        return events(self.after) - events(self.before)

    def process(self, pid: int) -> Workload:
        row = self.after.process(f"pid:{pid}")
        assert row is not None, f"pid {pid} is not in numascope's report; it has " + ", ".join(
            f"{w.key} {w.name} {w.total.pages}p" for w in self.after.processes[:30]
        )
        return row

    def cgroup(self, path: str) -> Workload:
        for row in self.after.cgroups:
            if row.key == f"cgroup:{path}":
                return row
        raise AssertionError(
            f"cgroup {path} is not in numascope's report; it has "
            + ", ".join(w.key for w in self.after.cgroups)
        )


def measure(source: LiveSource, action: Callable[[], T]) -> tuple[Window, T]:
    """Poll, run `action`, then poll until per-CPU caches are drained."""
    before = source.poll()
    result = action()
    polls = []
    for _ in range(SETTLE_POLLS):
        time.sleep(0.2)
        polls.append(source.poll())
    return Window(before, tuple(polls)), result


def agree(what: str, ours: int, kernels: int, scale: int) -> str:
    """One comparison as text; raises when numascope and the kernel differ by more
    than 1% of the larger of the kernel's count and the workload's size (`scale`),
    so a counter that should stay near zero may carry a little background noise."""
    allowed = AGREEMENT * max(kernels, scale)
    line = f"{what}: numascope {ours}, kernel {kernels}"
    assert abs(ours - kernels) <= allowed, f"{line}: differ by more than {allowed:.0f}"
    return line


def agree_on_node_totals(window: Window, nodes: tuple[int, ...], scale: int) -> list[str]:
    """Every node's local and remote events against numastat local_node/other_node."""
    lines = []
    for node in nodes:
        local, remote = window.node_events(node)
        lines.append(
            agree(f"node {node} local_node", local, window.kernel(node, "local_node"), scale)
        )
        lines.append(
            agree(f"node {node} other_node", remote, window.kernel(node, "other_node"), scale)
        )
    return lines
