"""Build Snapshots from parsed DTrace intervals: FreeBSD domains as nodes,
processes as workloads, the page daemon as reclaim, interrupt events as irqs.

DTrace prints what each interval added; running totals live here and only go up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from numascope.collectors.freebsd.domainset import policy_word
from numascope.collectors.freebsd.dtrace_output import Interval, parse_intervals
from numascope.collectors.freebsd.uma import UmaZones
from numascope.collectors.group_sums import subtract
from numascope.collectors.tally import LocalityTally
from numascope.snapshot.model import (
    ORDER_CLASSES,
    Health,
    HostInfo,
    Locality,
    MatrixCell,
    NodeStats,
    Snapshot,
    Workload,
    WorkloadKind,
    order_class,
)
from numascope.snapshot.sections import AllocatorSection, Count, IrqStats, ReclaimNode
from numascope.topology_freebsd import FreebsdTopology

# `irq120: nvme0:io0` -> device nvme0; software interrupts (swi) have no device.
_DEVICE_IN_NAME = re.compile(r"\b([A-Za-z_][A-Za-z_-]*?\d+)\b")


def _count(total: dict[object, float], key: object, delta: float) -> Count:
    total[key] = total.get(key, 0) + delta
    return Count(total=total[key], delta=delta)


@dataclass
class FreebsdSnapshotBuilder:
    """Turns one Interval after another into Snapshots (keeps the running totals)."""

    topo: FreebsdTopology
    host: HostInfo = field(default_factory=lambda: HostInfo(platform="freebsd"))
    probes_attached: tuple[str, ...] = ()
    probes_missing: dict[str, str] = field(default_factory=dict)
    _seq: int = field(default=0, init=False)
    _last_ns: int | None = field(default=None, init=False)
    _workloads: dict[str, LocalityTally] = field(default_factory=dict, init=False)
    _names: dict[str, tuple[str, int]] = field(default_factory=dict, init=False)
    _nodes: dict[int, LocalityTally] = field(default_factory=dict, init=False)
    _orders: dict[int, list[int]] = field(default_factory=dict, init=False)
    _matrix: dict[tuple[int, int], list[int]] = field(default_factory=dict, init=False)
    _previous: dict[str, Locality] = field(default_factory=dict, init=False)
    _counts: dict[object, float] = field(default_factory=dict, init=False)
    # pages per (workload, domainset policy): a workload shows the policy most of its pages had
    _policy_pages: dict[str, dict[int, int]] = field(default_factory=dict, init=False)
    _uma: UmaZones = field(default_factory=UmaZones, init=False)

    def page_domain(self, segind: int) -> int:
        return self.topo.seg_domain.get(segind, -1)

    def build(self, interval: Interval) -> Snapshot:
        self._seq += 1
        seconds = (interval.time_ns - self._last_ns) / 1e9 if self._last_ns else 0.0
        self._last_ns = interval.time_ns
        events = interval.table("alloc")
        pages = interval.table("pages")
        matrix_delta: dict[tuple[int, int], list[int]] = {}
        for key in set(events) | set(pages):
            pid, cpu_dom, segind, policy, name = key
            assert isinstance(pid, int) and isinstance(cpu_dom, int) and isinstance(segind, int)
            assert isinstance(policy, int)
            page_dom = self.page_domain(segind)
            n_pages, n_events = pages.get(key, 0), events.get(key, 0)
            local = page_dom == cpu_dom
            wkey = f"pid:{pid}"
            self._names[wkey] = (str(name), pid)
            by_policy = self._policy_pages.setdefault(wkey, {})
            by_policy[policy] = by_policy.get(policy, 0) + max(n_pages, n_events)
            self._workloads.setdefault(wkey, LocalityTally()).add(
                page_dom, n_pages, n_events, local
            )
            if page_dom >= 0:
                node = self._nodes.setdefault(page_dom, LocalityTally())
                node.add(cpu_dom, n_pages, n_events, local)
            cell = matrix_delta.setdefault((cpu_dom, page_dom), [0, 0])
            cell[0] += n_pages
            cell[1] += n_events
        for segind, hist in interval.runs.items():
            orders = self._orders.setdefault(self.page_domain(segind), [0] * len(ORDER_CLASSES))
            for bucket, count in hist.items():
                # quantize buckets are powers of two: bucket 2**k holds runs of 2**k..2**(k+1)-1
                orders[order_class(max(bucket, 1).bit_length() - 1)] += bucket * count
        return Snapshot(
            seq=self._seq,
            time=interval.time_ns / 1e9,
            interval=seconds,
            source="dtrace",
            host=self.host,
            nodes=self._node_stats(),
            matrix=self._matrix_cells(matrix_delta),
            processes=self._processes(),
            reclaim=self._reclaim(interval),
            irqs=self._irqs(interval),
            allocator=self._allocator(interval),
            health=Health(
                probes_attached=self.probes_attached,
                probes_missing=dict(self.probes_missing),
                notes=tuple(interval.notes),
            ),
        )

    def _delta(self, key: str, total: Locality) -> Locality:
        delta = subtract(total, self._previous.get(key))
        self._previous[key] = total
        return delta

    def _node_stats(self) -> tuple[NodeStats, ...]:
        out = []
        for node in self.topo.topology.nodes:
            total = self._nodes.get(node.id, LocalityTally()).locality()
            orders = self._orders.get(node.id, [0] * len(ORDER_CLASSES))
            out.append(
                NodeStats(
                    node=node.id,
                    total=total,
                    delta=self._delta(f"node:{node.id}", total),
                    pages_by_order=dict(zip(ORDER_CLASSES, orders, strict=True)),
                    cpus=node.cpus,
                    mem_total_bytes=node.mem_total_bytes,
                    mem_free_bytes=node.mem_free_bytes,
                )
            )
        return tuple(out)

    def _matrix_cells(self, delta: dict[tuple[int, int], list[int]]) -> tuple[MatrixCell, ...]:
        for key, (p, e) in delta.items():
            cell = self._matrix.setdefault(key, [0, 0])
            cell[0] += p
            cell[1] += e
        return tuple(
            MatrixCell(c, p, tp, delta.get((c, p), [0, 0])[0], te, delta.get((c, p), [0, 0])[1])
            for (c, p), (tp, te) in sorted(self._matrix.items())
        )

    def _processes(self) -> tuple[Workload, ...]:
        out = []
        for key, totals in self._workloads.items():
            name, pid = self._names[key]
            total = totals.locality()
            # pid 0 is FreeBSD's kernel process: its threads are kernel threads.
            kind = WorkloadKind.KTHREAD if pid == 0 else WorkloadKind.PROCESS
            policies = self._policy_pages.get(key, {})
            policy = max(policies, key=lambda p: policies[p]) if policies else 0
            out.append(
                Workload(
                    key,
                    kind,
                    name,
                    total,
                    self._delta(key, total),
                    pid=pid,
                    mempolicy=policy_word(policy),
                )
            )
        return tuple(out)

    def _allocator(self, interval: Interval) -> AllocatorSection | None:
        zones = self._uma.update(interval.table("uma"))
        return AllocatorSection(slab_caches=zones) if zones else None

    def _reclaim(self, interval: Interval) -> tuple[ReclaimNode, ...]:
        wake = interval.table("pdwake")
        scan_ns = interval.table("pdns")
        target = interval.table("pdtarget")
        freed = interval.table("pdfreed")
        laundered = interval.table("launder")
        out = []
        for node in self.topo.topology.nodes:
            d = node.id
            ns = sum(v for k, v in scan_ns.items() if k[0] == d)
            out.append(
                ReclaimNode(
                    node=d,
                    kswapd_wakeups=_count(self._counts, ("pdwake", d), wake.get((d,), 0)),
                    kswapd_awake_seconds=_count(self._counts, ("pdns", d), ns / 1e9),
                    # the inactive scan's target stands in for pages scanned (see pagedaemon.d)
                    pages_scanned=_count(self._counts, ("pdtarget", d), target.get((d,), 0)),
                    pages_reclaimed=_count(self._counts, ("pdfreed", d), freed.get((d,), 0)),
                    laundered_pages=_count(self._counts, ("launder", d), laundered.get((d,), 0)),
                    free_bytes=node.mem_free_bytes,
                )
            )
        return tuple(out)

    def _irqs(self, interval: Interval) -> tuple[IrqStats, ...]:
        counts = interval.table("irq")
        filter_ns = interval.table("irqns")
        thread_ns = interval.table("ithreadns")
        events: dict[tuple[int, str], dict[int, tuple[int, int]]] = {}
        bound: dict[tuple[int, str], int] = {}
        for table, slot in ((counts, 0), (filter_ns, 1), (thread_ns, 1)):
            for (irq, cpu, dom, name), value in table.items():
                assert isinstance(irq, int) and isinstance(cpu, int) and isinstance(dom, int)
                ev = events.setdefault((irq, str(name)), {})
                c, n = ev.get(dom, (0, 0))
                ev[dom] = (c + value, n) if slot == 0 else (c, n + value)
                bound[(irq, str(name))] = cpu
        for key in self._counts:
            if isinstance(key, tuple) and key[0] == "irq":
                events.setdefault((key[1], key[2]), {})
        out = []
        for (irq, name), by_dom in sorted(events.items()):
            count_by_node = {}
            seconds_by_node = {}
            doms = set(by_dom) | {
                k[3] for k in self._counts if isinstance(k, tuple) and k[:3] == ("irq", irq, name)
            }
            for dom in sorted(doms):
                c, ns = by_dom.get(dom, (0, 0))
                count_by_node[dom] = _count(self._counts, ("irq", irq, name, dom), c)
                seconds_by_node[dom] = _count(self._counts, ("irqs", irq, name, dom), ns / 1e9)
            cpu = bound.get((irq, name), -1)
            out.append(
                IrqStats(
                    irq=irq,
                    name=name,
                    device_node=self._device_domain(name),
                    affinity=(cpu,) if 0 <= cpu < 65535 else (),
                    count_by_node=count_by_node,
                    seconds_by_node=seconds_by_node,
                )
            )
        return tuple(out)

    def _device_domain(self, name: str) -> int:
        for device in _DEVICE_IN_NAME.findall(name.partition(":")[2]):
            if device in self.topo.device_domain:
                return self.topo.device_domain[device]
        return -1


def snapshots_from_dtrace(
    lines: Iterable[str], topo: FreebsdTopology, source: str = "dtrace"
) -> Iterator[Snapshot]:
    """Snapshots from recorded (or live) DTrace output, one per complete interval."""
    builder = FreebsdSnapshotBuilder(topo)
    for interval in parse_intervals(lines, source):
        yield builder.build(interval)
