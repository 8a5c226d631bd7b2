"""Allocator internals per node: per-CPU page lists, high orders, compaction.

Reads the allocator probe's per-CPU counters and, when the page-allocation
probe runs too, its per-CPU allocation and failure counters and its high-order
call sites. Every map here is cumulative (never cleared), so each figure is a
running total and a delta (numascope.collectors.counts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path

from numascope.collectors.counts import CountTracker
from numascope.collectors.kernel_counters import read_vmstat
from numascope.collectors.maps import MapTables, SymbolTables
from numascope.collectors.names import decode_comm
from numascope.probes.page_alloc import PageAllocLayout
from numascope.snapshot.model import ORDER_CLASSES
from numascope.snapshot.sections import (
    AllocatorNode,
    AllocatorSection,
    HighOrderSite,
    PageCacheCpu,
    PageCacheNode,
)

COMPACTION_VMSTAT = ("compact_stall", "compact_fail", "compact_success", "compact_daemon_wake")
TOP_SITES = 20
# A stack taken on the raw tracepoint starts with three tracing frames (the
# program, bpf_trace_run, the tracepoint's iterator) and then four or five of
# the allocator's own before the caller: twelve keep the caller and its caller.
FRAMES_KEPT = 12


@dataclass
class AllocatorCollector:
    """`allocator_tables`: the allocator probe's bcc object (None if not attached);
    `page_tables`: the page-allocation probe's (None if not attached)."""

    allocator_tables: MapTables
    page_tables: SymbolTables | None
    layout: PageAllocLayout
    cpu_node: Mapping[int, int]
    max_nid: int
    _: KW_ONLY
    proc: Path = Path("/proc")
    _counts: CountTracker = field(default_factory=CountTracker, init=False)
    _frames: dict[int, tuple[str, ...]] = field(default_factory=dict, init=False)

    def read(self) -> AllocatorSection:
        node_ids = self.layout.node_ids
        cpu_pages = self._per_cpu_pages()
        nodes_pcp = []
        cpus = []
        pcp = self._pcp_by_cpu()
        for node_slot, node in enumerate(node_ids):
            sums = {name: sum(c[name][node_slot] for c in pcp) for name in _PCP_FIELDS}
            alloc = sum(pages[node_slot] for pages in cpu_pages)
            nodes_pcp.append(
                PageCacheNode(
                    node=node,
                    alloc_pages=self._counts.count(("alloc", node), alloc),
                    **{
                        name: self._counts.count((name, node), value)
                        for name, value in sums.items()
                    },
                )
            )
        for cpu in range(max(len(pcp), len(cpu_pages))):
            fields = pcp[cpu] if cpu < len(pcp) else None
            locked = sum(fields["refill_pages"]) + sum(fields["direct_pages"]) if fields else 0
            drained = sum(fields["drained_pages"]) if fields else 0
            alloc = sum(cpu_pages[cpu]) if cpu < len(cpu_pages) else 0
            cpus.append(
                PageCacheCpu(
                    cpu=cpu,
                    node=self.cpu_node.get(cpu, 0),
                    alloc_pages=self._counts.count(("cpu-alloc", cpu), alloc),
                    zone_locked_pages=self._counts.count(("cpu-locked", cpu), locked),
                    drained_pages=self._counts.count(("cpu-drained", cpu), drained),
                )
            )
        vmstat = read_vmstat(self.proc)
        return AllocatorSection(
            nodes=self._nodes(),
            page_cache=tuple(nodes_pcp),
            page_cache_cpus=tuple(cpus),
            high_order_sites=self._sites(),
            compaction={
                name: self._counts.count(("vmstat", name), vmstat.get(name, 0))
                for name in COMPACTION_VMSTAT
            },
        )

    def _pcp_by_cpu(self) -> list[dict[str, Sequence[int]]]:
        if self.allocator_tables is None:
            return []
        return [
            {name: list(getattr(value, name)) for name in _PCP_FIELDS}
            for value in self.allocator_tables["pcp"][0]
        ]

    def _per_cpu_pages(self) -> list[Sequence[int]]:
        if self.page_tables is None:
            return []
        return [list(state.cpu_pages) for state in self.page_tables["cpu_state"][0]]

    def _nodes(self) -> tuple[AllocatorNode, ...]:
        failed_by_node: dict[int, list[int]] = {}
        if self.page_tables is not None:
            for cpu, state in enumerate(self.page_tables["cpu_state"][0]):
                acc = failed_by_node.setdefault(self.cpu_node.get(cpu, 0), [0] * 4)
                for i, value in enumerate(state.failed):
                    acc[i] += value
        wakes: dict[int, int] = {}
        if self.allocator_tables is not None:
            table = self.allocator_tables["kcompactd_wakes"]
            for node in self.layout.node_ids:
                if node < self.max_nid:
                    wakes[node] = sum(int(v) for v in table[node])
        out = []
        for node in self.layout.node_ids:
            failed = failed_by_node.get(node, [0] * 4)
            out.append(
                AllocatorNode(
                    node=node,
                    failed_by_order={
                        cls: self._counts.count(("failed", node, cls), failed[i])
                        for i, cls in enumerate(ORDER_CLASSES)
                    },
                    kcompactd_wakes=self._counts.count(("kcompactd", node), wakes.get(node, 0)),
                )
            )
        return tuple(out)

    def _sites(self) -> tuple[HighOrderSite, ...]:
        if self.page_tables is None:
            return ()
        rows = []
        for k, v in self.page_tables["sites"].items():
            rows.append((int(v.pages), k, v))
        rows.sort(key=lambda r: r[0], reverse=True)
        out = []
        for _, k, v in rows[:TOP_SITES]:
            node, _ = self.layout.split(int(k.page_slot) * self.layout.order_classes)
            key = ("site", int(k.stack_id), int(k.tgid), int(k.order_class), int(k.page_slot))
            tgid = int(k.tgid)
            out.append(
                HighOrderSite(
                    workload_key=f"pid:{tgid}" if tgid else "kernel",
                    workload_name=decode_comm(bytes(v.comm).split(b"\0", 1)[0]) or "?",
                    order_class=ORDER_CLASSES[int(k.order_class) & 3],
                    node=node,
                    frames=self._resolve(int(k.stack_id)),
                    events=self._counts.count((*key, "events"), int(v.events)),
                    pages=self._counts.count((*key, "pages"), int(v.pages)),
                    pid=tgid or None,
                )
            )
        return tuple(out)

    def _resolve(self, stack_id: int) -> tuple[str, ...]:
        """Kernel frames of a stack id, innermost first (cached: stacks never change)."""
        if stack_id < 0 or self.page_tables is None:
            return ()
        cached = self._frames.get(stack_id)
        if cached is not None:
            return cached
        frames: list[str] = []
        try:
            for address in self.page_tables["site_stacks"].walk(stack_id):
                symbol = self.page_tables.ksym(address, show_offset=False)
                frames.append(
                    symbol.decode(errors="replace") if isinstance(symbol, bytes) else str(symbol)
                )
                if len(frames) >= FRAMES_KEPT:
                    break
        except (KeyError, OSError):
            pass
        self._frames[stack_id] = resolved = tuple(frames)
        return resolved


_PCP_FIELDS = ("refill_pages", "direct_pages", "direct_events", "drained_pages")
