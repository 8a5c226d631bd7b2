"""Snapshot sources: the live kernel through BPF, or the kernel's counters alone.

A source's `poll()` returns the next immutable Snapshot; views call it at their
interval (from a worker thread, in the TUI) and never touch the kernel otherwise.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from numascope.collectors.attribution import Attributor
from numascope.collectors.families import (
    DEFAULT_FAMILIES,
    PAGE_ALLOC,
    FamilyReading,
    ProbeFamily,
    open_families,
)
from numascope.collectors.kernel_counters import KernelCounterCollector
from numascope.collectors.names import CgroupResolver, cgroup2_mount, live_pids
from numascope.collectors.page_alloc import CTX_TASK, OwnerKey, OwnerTable, PageAllocCollector
from numascope.errors import NumascopeError
from numascope.probes import bcc_loader
from numascope.probes.page_alloc import (
    DEFAULT_MAX_OWNERS,
    PageAllocLayout,
    PageAllocProbe,
    attach_page_alloc,
)
from numascope.probes.prog_stats import StatsSession, prog_stats
from numascope.snapshot import (
    AllocatorSection,
    Health,
    HostInfo,
    KernelNodeCounters,
    Locality,
    NodeStats,
    Snapshot,
    Workload,
)
from numascope.topology import Topology, read_topology

# Rows of processes that exited this long ago are folded into "[exited processes]"
# so a host that spawns millions of processes does not grow numascope's memory.
RETIRE_AFTER_SECONDS = 300.0


class SnapshotSource(Protocol):
    def poll(self) -> Snapshot: ...

    def close(self) -> None: ...


def merge_allocator(readings: Iterable[FamilyReading]) -> AllocatorSection | None:
    """The allocator family's section, with the slab family's caches in it."""
    readings = list(readings)
    section = next((r.allocator for r in readings if r.allocator is not None), None)
    slab = tuple(c for r in readings for c in r.slab)
    if slab:
        section = dataclasses.replace(section or AllocatorSection(), slab_caches=slab)
    return section


def host_info() -> HostInfo:
    return HostInfo(
        hostname=socket.gethostname(),
        kernel=platform.release(),
        platform=platform.system().lower(),
    )


@dataclass
class LiveSource:
    """Page-allocation attribution from the BPF probe, checked against numastat,
    plus whichever other probe families (reclaim, IRQ) were attached."""

    topology: Topology
    probe: PageAllocProbe | None
    proc: Path = Path("/proc")
    sysfs: Path = Path("/sys")
    retire_after: float = RETIRE_AFTER_SECONDS
    stats: StatsSession | None = None
    _seq: int = 0
    _last: float = field(default_factory=time.monotonic)
    _dead_since: dict[int, float] = field(default_factory=dict)
    families: list[ProbeFamily] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # family left out -> why

    def __post_init__(self) -> None:
        layout = self.probe.layout if self.probe else PageAllocLayout(self.topology.node_ids)
        self.collector = (
            PageAllocCollector(self.probe.tables, self.probe.layout) if self.probe else None
        )
        self.attributor = Attributor(
            self.topology,
            layout,
            proc=self.proc,
            sysfs=self.sysfs,
            cgroups=CgroupResolver(cgroup2_mount(self.proc)),
        )
        self.kernel = KernelCounterCollector(self.topology.node_ids, self.sysfs)
        self.kernel.read()  # baseline: the first snapshot's kernel deltas start now

    def poll(self) -> Snapshot:
        started = time.monotonic()
        owners = OwnerTable.from_mapping({}, self.attributor.layout.count_slots)
        if self.collector is not None:
            # The kernel's counters are read at the epoch flip, the moment that
            # bounds what this poll drains, so both cover the same window.
            kernel_at_flip: list[tuple[KernelNodeCounters, ...]] = []
            owners = self.collector.read(
                at_flip=lambda: kernel_at_flip.append(self.kernel.read())
            ).table
            kernel = kernel_at_flip[0]
        else:
            kernel = self.kernel.read()
        readings = [f.collect() for f in self.families]
        alive = live_pids(self.proc)
        self._retire(owners, alive, started)
        attribution = self.attributor.attribute_table(owners, alive, started)
        self._seq += 1
        interval = started - self._last
        self._last = started
        return Snapshot(
            seq=self._seq,
            time=time.time(),
            interval=interval,
            source="bpf",
            host=host_info(),
            nodes=attribution.nodes,
            matrix=attribution.matrix,
            processes=attribution.processes,
            cgroups=attribution.cgroups,
            kernel=kernel,
            reclaim=tuple(n for r in readings for n in r.reclaim),
            direct_reclaim=tuple(d for r in readings for d in r.direct_reclaim),
            irqs=tuple(i for r in readings for i in r.irqs),
            softirqs=tuple(s for r in readings for s in r.softirqs),
            allocator=merge_allocator(readings),
            health=self._health(attribution.processes, time.monotonic() - started),
        )

    def _programs(self) -> tuple[dict[str, str], dict[str, str], list[int]]:
        """Attached tracepoints, missing ones (why), and program fds, of every family."""
        attached: dict[str, str] = {}
        missing: dict[str, str] = {f"{n} (family)": why for n, why in self.failed.items()}
        fds: list[int] = []
        if self.probe is not None:
            attached.update({f"{PAGE_ALLOC}.{k}": v for k, v in self.probe.attached.items()})
            missing.update(self.probe.missing)
            fds.extend(self.probe.program_fds().values())
        for fam in self.families:
            attached.update({f"{fam.name}.{k}": v for k, v in fam.attached.items()})
            missing.update(fam.missing)
            fds.extend(fam.program_fds().values())
        return attached, missing, fds

    def _retire(self, owners: OwnerTable, alive: set[int], now: float) -> None:
        stale: list[OwnerKey] = []
        rows = owners.rows()
        cols = owners.columns[rows]
        task = (cols["context"] >> 16) == CTX_TASK
        living = np.isin(cols["tgid"], np.fromiter(alive, dtype=np.int64, count=len(alive)))
        for tgid in self._dead_since.keys() & set(cols["tgid"][~task | living].tolist()):
            self._dead_since.pop(tgid, None)
        for row in rows[task & ~living].tolist():
            key = owners.keys[row]
            since = self._dead_since.setdefault(key.tgid, now)
            if now - since >= self.retire_after:
                stale.append(key)
        if stale and self.collector is not None:
            self.collector.retire(stale)
            self.attributor.forget({f"pid:{k.tgid}" for k in stale})
            for key in stale:
                self._dead_since.pop(key.tgid, None)

    def _health(self, processes: tuple[Workload, ...], poll_seconds: float) -> Health:
        overflow_pages = overflow_events = 0
        for w in processes:
            if w.key == "other":
                overflow_pages, overflow_events = w.total.pages, w.total.events
        run_ns = run_count = misses = 0
        attached, missing, fds = self._programs()
        for fd in fds:
            st = prog_stats(fd)
            if st is not None:
                run_ns += st.run_time_ns
                run_count += st.run_count
                misses += st.recursion_misses
        notes = []
        if overflow_events and self.probe is not None:
            notes.append(
                f"owner map full ({self.probe.max_owners} entries): "
                f"{overflow_events} allocations counted under 'other'"
            )
        return Health(
            probes_attached=tuple(sorted(set(attached.values()))),
            probes_missing=missing,
            overflow_pages=overflow_pages,
            overflow_events=overflow_events,
            recursion_misses=misses,
            map_capacity=self.probe.max_owners if self.probe else 0,
            map_peak_entries=self.collector.peak_entries if self.collector else 0,
            poll_seconds=poll_seconds,
            bpf_run_ns=run_ns,
            bpf_run_count=run_count,
            notes=tuple(notes),
        )

    def close(self) -> None:
        for fam in self.families:
            fam.close()
        if self.probe is not None:
            self.probe.close()
        if self.stats is not None:
            self.stats.close()


@dataclass
class KernelCounterSource:
    """Per-node totals from numastat only: no processes, no privileges needed."""

    topology: Topology
    sysfs: Path = Path("/sys")
    reason: str = ""
    _seq: int = 0
    _last: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.kernel = KernelCounterCollector(self.topology.node_ids, self.sysfs)
        self._base: dict[int, Mapping[str, int]] = {c.node: c.total for c in self.kernel.read()}

    def poll(self) -> Snapshot:
        now = time.monotonic()
        counters = self.kernel.read()
        nodes = []
        for c in counters:
            base = self._base.get(c.node, {})
            since_start = {k: v - base.get(k, 0) for k, v in c.total.items()}
            total = Locality(
                local_events=since_start.get("local_node", 0),
                remote_events=since_start.get("other_node", 0),
            )
            delta = Locality(
                local_events=c.delta.get("local_node", 0),
                remote_events=c.delta.get("other_node", 0),
            )
            node = self.topology.node(c.node)
            nodes.append(
                NodeStats(
                    node=c.node,
                    total=total,
                    delta=delta,
                    cpus=node.cpus,
                    mem_total_bytes=node.mem_total_bytes,
                    mem_free_bytes=node.mem_free_bytes,
                )
            )
        self._seq += 1
        interval, self._last = now - self._last, now
        notes = ("kernel counters only: " + self.reason,) if self.reason else ()
        return Snapshot(
            seq=self._seq,
            time=time.time(),
            interval=interval,
            source="kernel-counters",
            host=host_info(),
            nodes=tuple(nodes),
            kernel=counters,
            health=Health(notes=notes),
        )

    def close(self) -> None:
        pass


def open_live_source(
    max_owners: int = DEFAULT_MAX_OWNERS,
    headers: str | None = None,
    sysfs: Path = Path("/sys"),
    proc: Path = Path("/proc"),
    measure_overhead: bool = True,
    probes: Iterable[str] = DEFAULT_FAMILIES,
    tracefs: Path = bcc_loader.TRACEFS,
    absent: Iterable[str] = (),
) -> LiveSource:
    """Attach the probe families named in `probes` and return a source ready to poll.

    A family that cannot attach is left out (one line on stderr, and in the
    snapshots' health); only when none attaches is that an error. `tracefs`
    (where tracepoint formats are read) and `absent` (tracepoints to treat as
    missing) let a test play a kernel that lacks some tracepoints.
    """
    names = tuple(probes)
    absent = frozenset(absent)
    topology = read_topology(sysfs)
    stats = StatsSession() if measure_overhead and os.geteuid() == 0 else None
    failed: dict[str, str] = {}
    probe = None
    if PAGE_ALLOC in names:
        try:
            probe = attach_page_alloc(topology, max_owners=max_owners, headers=headers)
        except NumascopeError as exc:
            if len(names) == 1:
                raise
            failed[PAGE_ALLOC] = str(exc)
            print(f"numascope: probe family {PAGE_ALLOC} left out: {exc}", file=sys.stderr)
    others = open_families(
        [n for n in names if n != PAGE_ALLOC],
        topology,
        headers,
        sysfs,
        proc,
        tracefs,
        absent,
        page_tables=probe.tables if probe is not None else None,
    )
    failed.update(others.failed)
    if probe is None and not others.families:
        if stats is not None:
            stats.close()
        raise NumascopeError(
            "no probe family could be attached: "
            + "; ".join(f"{n}: {why}" for n, why in failed.items())
        )
    return LiveSource(
        topology,
        probe,
        proc=proc,
        sysfs=sysfs,
        stats=stats,
        families=others.families,
        failed=failed,
    )
