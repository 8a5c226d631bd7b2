"""The kernel's own NUMA counters: per-node numastat, /proc/vmstat, and the
migration counters of /proc/vmstat and nodeN/vmstat.

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

from numascope.collectors.counts import CountTracker
from numascope.snapshot.migration import KERNEL_COUNTERS, KernelMigrationCounters
from numascope.snapshot.model import KernelNodeCounters


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


def read_node_vmstat(node: int, *, sysfs: Path = Path("/sys")) -> dict[str, int]:
    path = sysfs / "devices/system/node" / f"node{node}" / "vmstat"
    try:
        return parse_key_values(path.read_text())
    except OSError:
        return {}


@dataclass
class MigrationCounterCollector:
    """The kernel's migration counters (`KERNEL_COUNTERS`), host-wide from
    /proc/vmstat and per node from nodeN/vmstat where the kernel keeps them
    there (promotion and demotion); a counter the kernel lacks is left out.

    Totals count from the first read (the collector's baseline), as the probe's
    do, so the two can be set side by side."""

    node_ids: tuple[int, ...]
    _: KW_ONLY
    sysfs: Path = Path("/sys")
    proc: Path = Path("/proc")
    _counts: CountTracker = field(default_factory=CountTracker, init=False)
    _baseline: dict[tuple[int | None, str], int] = field(default_factory=dict, init=False)

    def read(self) -> tuple[KernelMigrationCounters, ...]:
        out = [self._counters(None, read_vmstat(self.proc))]
        for node in self.node_ids:
            values = read_node_vmstat(node, sysfs=self.sysfs)
            if any(k in values for k in KERNEL_COUNTERS):
                out.append(self._counters(node, values))
        return tuple(out)

    def _counters(self, node: int | None, values: Mapping[str, int]) -> KernelMigrationCounters:
        counters = {}
        for name in KERNEL_COUNTERS:
            if name in values:
                since = values[name] - self._baseline.setdefault((node, name), values[name])
                counters[name] = self._counts.count((node, name), since)
        return KernelMigrationCounters(node, counters)
