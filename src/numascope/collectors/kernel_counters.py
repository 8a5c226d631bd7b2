"""The kernel's own NUMA counters: per-node numastat and /proc/vmstat.

numascope checks itself against these, and shows them where BPF cannot run.
Semantics (see the kernel's Documentation/admin-guide/numastat.rst):
  numa_hit / numa_miss / numa_foreign  judged against the policy's preferred node
  local_node / other_node              judged against the allocating CPU's node
all counted on the node that supplied the page, one per allocation event (an
order-3 allocation counts once), frozen while sysctl vm.numa_stat is 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path

from numascope.snapshot.model import KernelNodeCounters

NUMASTAT_KEYS = (
    "numa_hit",
    "numa_miss",
    "numa_foreign",
    "interleave_hit",
    "local_node",
    "other_node",
)


def parse_key_values(text: str) -> dict[str, int]:
    """Parse "name value" lines (numastat, vmstat); malformed lines are skipped."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                values[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return values


def read_numastat(node: int, *, sysfs: Path = Path("/sys")) -> dict[str, int]:
    path = sysfs / "devices/system/node" / f"node{node}" / "numastat"
    try:
        return parse_key_values(path.read_text())
    except OSError:
        return {}


def read_vmstat(proc: Path = Path("/proc")) -> dict[str, int]:
    try:
        return parse_key_values((proc / "vmstat").read_text())
    except OSError:
        return {}


@dataclass
class KernelCounterCollector:
    """Per-node numastat totals and deltas since the previous read."""

    node_ids: tuple[int, ...]
    _: KW_ONLY
    sysfs: Path = Path("/sys")
    _previous: dict[int, Mapping[str, int]] = field(default_factory=dict, init=False)

    def read(self) -> tuple[KernelNodeCounters, ...]:
        out = []
        for node in self.node_ids:
            total = read_numastat(node, sysfs=self.sysfs)
            before = self._previous.get(node, total)
            delta = {k: v - before.get(k, v) for k, v in total.items()}
            self._previous[node] = total
            out.append(KernelNodeCounters(node=node, total=total, delta=delta))
        return tuple(out)
