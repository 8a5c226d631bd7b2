"""Read the interrupt probe's per-CPU counters into per-node IRQ and softirq stats.

Each CPU's counters are charged to that CPU's node. The IRQ's name, handlers,
affinity and device node come from procfs/sysfs (roots are parameters) and are
re-read every INFO_SECONDS: affinity changes while numascope runs, and IRQs come
and go with devices, but a host with hundreds of MSI vectors would spend
milliseconds a poll re-reading what rarely changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any

from numascope.collectors.counts import CountTracker
from numascope.collectors.expiring import Expiring
from numascope.collectors.irq_info import (
    IrqInfo,
    pci_irq_devices,
    read_interrupts,
    read_irq_info,
)
from numascope.collectors.maps import MapTables
from numascope.collectors.names import softirq_name
from numascope.probes.irq import NR_SOFTIRQS, IrqLayout
from numascope.snapshot.sections import Count, IrqStats, SoftirqStats

# How long what procfs and sysfs say of an IRQ is used before it is read again:
# an affinity moved by irqbalance or an operator shows within this.
INFO_SECONDS = 10.0


def per_node(per_cpu: Any, cpu_node: Mapping[int, int]) -> dict[int, tuple[int, int]]:
    """(count, ns) per node from one slot's per-CPU values (index = CPU number)."""
    out: dict[int, tuple[int, int]] = {}
    for cpu, v in enumerate(per_cpu):
        if not v.count:
            continue
        node = cpu_node.get(cpu, -1)
        count, ns = out.get(node, (0, 0))
        out[node] = (count + v.count, ns + v.ns)
    return out


@dataclass
class IrqCollector:
    tables: MapTables
    layout: IrqLayout
    cpu_node: Mapping[int, int]
    _: KW_ONLY
    proc: Path = Path("/proc")
    sysfs: Path = Path("/sys")
    info_seconds: float = INFO_SECONDS
    clock: Callable[[], float] = time.monotonic
    _counts: CountTracker = field(default_factory=CountTracker, init=False)
    _info: dict[tuple[int, str], Expiring[IrqInfo]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._pci: Expiring[dict[int, Path]] = Expiring(self.info_seconds)

    def read(self) -> tuple[tuple[IrqStats, ...], tuple[SoftirqStats, ...]]:
        return self._irqs(), self._softirqs()

    def raw_counts(self, irq: int) -> dict[int, int]:
        """Handler runs per node for `irq`, straight from the map (for checks)."""
        return {
            n: c for n, (c, _) in per_node(self.tables["irq_stats"][irq], self.cpu_node).items()
        }

    def _irqs(self) -> tuple[IrqStats, ...]:
        table = self.tables["irq_stats"]
        lines = read_interrupts(self.proc)
        now = self.clock()
        out = []
        for irq in sorted(i for i in lines if i < self.layout.irq_overflow_slot):
            by_node = per_node(table[irq], self.cpu_node)
            if not by_node:
                continue
            info = self._irq_info(irq, lines[irq].description, now)
            counts: dict[int, Count] = {}
            seconds: dict[int, Count] = {}
            for node, (count, ns) in sorted(by_node.items()):
                # Every handler on a shared line is traced once per interrupt.
                counts[node] = self._counts.count(("irq", irq, node), count / info.handlers)
                seconds[node] = self._counts.count(("irqs", irq, node), ns / 1e9)
            out.append(
                IrqStats(
                    irq=irq,
                    name=info.name,
                    device_node=info.device_node,
                    affinity=info.affinity,
                    count_by_node=counts,
                    seconds_by_node=seconds,
                )
            )
        return tuple(out)

    def _irq_info(self, irq: int, description: str, now: float) -> IrqInfo:
        """What procfs and sysfs say of `irq`, read at most every info_seconds."""
        kept = self._info.get((irq, description))
        if kept is None:
            kept = self._info[(irq, description)] = Expiring(self.info_seconds)

        def read() -> IrqInfo:
            pci = self._pci.get(now, lambda: pci_irq_devices(self.sysfs))
            return read_irq_info(
                irq, proc=self.proc, sysfs=self.sysfs, pci=pci, description=description
            )

        return kept.get(now, read)

    def _softirqs(self) -> tuple[SoftirqStats, ...]:
        table = self.tables["softirq_stats"]
        out = []
        for vec in range(NR_SOFTIRQS + 1):
            by_node = per_node(table[vec], self.cpu_node)
            if not by_node:
                continue
            name = softirq_name(vec) if vec < NR_SOFTIRQS else "other"
            counts = {n: self._counts.count(("sirq", vec, n), c) for n, (c, _) in by_node.items()}
            seconds = {
                n: self._counts.count(("sirqs", vec, n), ns / 1e9) for n, (_, ns) in by_node.items()
            }
            out.append(SoftirqStats(vector=name, count_by_node=counts, seconds_by_node=seconds))
        return tuple(out)
