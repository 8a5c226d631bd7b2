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
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from numascope.collectors.attribution import Attributor
from numascope.collectors.families import (
    DEFAULT_FAMILIES,
    PAGE_ALLOC,
    FamilyReading,
    ProbeFamily,
    open_families,
)
from numascope.collectors.kernel_counters import KernelCounterCollector
from numascope.collectors.liveness import Liveness, RowLiveness
from numascope.collectors.names import CgroupResolver, cgroup2_mount
from numascope.collectors.page_alloc import CTX_TASK, OwnerKey, OwnerTable, PageAllocCollector
from numascope.errors import NumascopeError
from numascope.probes import bcc_loader
from numascope.probes.page_alloc import (
    DEFAULT_MAX_OWNERS,
    PageAllocLayout,
    PageAllocProbe,
    attach_page_alloc,
)
from numascope.probes.prog_stats import ProgStats, StatsSession, prog_stats
from numascope.snapshot.model import (
    AllocatorSection,
    Health,
    HostInfo,
    KernelNodeCounters,
    Locality,
    MatrixCell,
    NodeStats,
    Snapshot,
    Workload,
)
from numascope.topology import Topology, read_topology

# Rows of processes that exited this long ago are folded into "[exited processes]"
# so a host that spawns millions of processes does not grow numascope's memory.
RETIRE_AFTER_SECONDS = 300.0
# ... or sooner, oldest first, once more than this many exited processes have
# rows: a host spawning thousands of processes a second keeps memory flat.
MAX_EXITED_ROWS = 2048
# The node slot of pages whose pfn is on no node known when the probe compiled.
UNKNOWN_NODE = -1


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
    max_exited: int = MAX_EXITED_ROWS
    stats: StatsSession | None = None
    prog_stats: Callable[[int], ProgStats | None] = prog_stats
    _seq: int = 0
    _last: float = field(default_factory=time.monotonic)
    _dead_since: dict[int, float] = field(default_factory=dict)
    families: list[ProbeFamily] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # family left out -> why
    # Program id behind each attached program's fd, as first seen: a poll that
    # finds another id (or none) behind the fd knows the program went away.
    _prog_ids: dict[str, int] = field(default_factory=dict)
    _detached: dict[str, str] = field(default_factory=dict)  # program -> why
    _probe_failures: int = 0
    _pid_reuses: int = 0

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
        self.liveness = Liveness(self.proc)
        self.row_liveness = RowLiveness(self.liveness)

    def poll(self) -> Snapshot:
        started = time.monotonic()
        self._split_reused_pids(self.liveness.alive_among(self._dead_since.keys()))
        owners = OwnerTable.from_mapping({}, self.attributor.layout.count_slots)
        kernel: tuple[KernelNodeCounters, ...] | None = None
        if self.collector is not None:
            # The kernel's counters are read at the epoch flip, the moment that
            # bounds what this poll drains, so both cover the same window.
            kernel_at_flip: list[tuple[KernelNodeCounters, ...]] = []
            try:
                owners = self.collector.read(
                    at_flip=lambda: kernel_at_flip.append(self.kernel.read())
                ).table
            except Exception as exc:  # a broken map must not stop the other probes
                self._fail(PAGE_ALLOC, exc)
                owners = OwnerTable.from_mapping({}, self.attributor.layout.count_slots)
            if kernel_at_flip:
                kernel = kernel_at_flip[0]
        if kernel is None:
            kernel = self.kernel.read()
        readings = self._collect_families()
        program_stats = self._check_programs()
        alive = self.row_liveness.alive(owners.columns["tgid"], owners.serials, owners.live)
        self._retire(owners, alive, started)
        if self.collector is not None:
            # Retiring folds rows into "[exited processes]", which may be a row the
            # table read before it did not have: attribute the table as it is now
            # (a folded row has no process).
            owners = self.collector.table()
            alive = np.r_[alive, np.zeros(len(owners.keys) - len(alive), dtype=bool)]
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
            health=self._health(
                attribution.other,
                attribution.matrix,
                program_stats,
                time.monotonic() - started,
            ),
        )

    def _fail(self, family: str, exc: BaseException) -> None:
        """Stop using a family that broke mid-run; the others keep running."""
        why = f"stopped mid-run: {type(exc).__name__}: {exc}"
        print(f"numascope: probe family {family} {why}", file=sys.stderr, flush=True)
        self.failed[family] = why
        self._probe_failures += 1
        if family == PAGE_ALLOC and self.probe is not None:
            probe, self.probe, self.collector = self.probe, None, None
            _close_quietly(probe.close)
        for fam in [f for f in self.families if f.name == family]:
            self.families.remove(fam)
            _close_quietly(fam.close)

    def _collect_families(self) -> list[FamilyReading]:
        readings = []
        for fam in list(self.families):
            try:
                readings.append(fam.collect())
            except Exception as exc:
                self._fail(fam.name, exc)
        return readings

    def _check_programs(self) -> dict[int, ProgStats | None]:
        """Notice a program that went away after it attached (its fd closed, say);
        return each program's statistics by fd, read once per poll."""
        named: list[tuple[str, str, int]] = []
        if self.probe is not None:
            fds = self.probe.program_fds().items()
            named += [(PAGE_ALLOC, f"{PAGE_ALLOC}.{fn}", fd) for fn, fd in fds]
        for fam in self.families:
            named += [(fam.name, f"{fam.name}.{fn}", fd) for fn, fd in fam.program_fds().items()]
        read: dict[int, ProgStats | None] = {}
        for _family, name, fd in named:
            st = read[fd] = self.prog_stats(fd)
            if name in self._detached:
                continue
            seen = self._prog_ids.get(name)
            if st is not None and seen is None:
                self._prog_ids[name] = st.prog_id
            elif seen is not None and (st is None or st.prog_id != seen):
                why = "detached mid-run: its program is no longer behind its descriptor"
                print(f"numascope: probe {name} {why}", file=sys.stderr, flush=True)
                self._detached[name] = why
                self._probe_failures += 1
        return read

    def _split_reused_pids(self, alive: set[int]) -> None:
        """A pid seen exited at an earlier poll and alive now is a new process:
        the old one's rows are folded into "[exited processes]" (totals unchanged)
        before this poll's counts arrive, so the newcomer starts a row of its own.

        Counts of the one interval in which the pid changed hands cannot be told
        apart (the kernel keys by tgid) and go to the newcomer."""
        reused = self._dead_since.keys() & alive
        if not reused:
            return
        self._pid_reuses += len(reused)
        if self.collector is not None:
            self.collector.retire(
                k for k in self.collector.owner_keys() if k.tgid in reused and k.kind == CTX_TASK
            )
        self.attributor.forget_pids(reused)
        self.liveness.forget(reused)
        for tgid in reused:
            self._dead_since.pop(tgid, None)

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
        for name, why in self._detached.items():
            missing[name] = why
            attached.pop(name, None)
        return attached, missing, fds

    def _retire(self, owners: OwnerTable, alive: npt.NDArray[np.bool_], now: float) -> None:
        """Retire the rows of processes exited `retire_after` ago (`alive`: by row)."""
        stale: list[OwnerKey] = []
        rows = owners.rows()
        every = len(rows) == len(owners.live)  # no free rows: the columns as they are
        cols = owners.columns if every else owners.columns[rows]
        task = (cols["context"] >> 16) == CTX_TASK
        living = alive if every else alive[rows]
        if self._dead_since:  # a set of every row's tgid costs 0.3 ms at 10,000 rows
            for tgid in self._dead_since.keys() & set(cols["tgid"][~task | living].tolist()):
                self._dead_since.pop(tgid, None)
        dead = [owners.keys[row] for row in rows[task & ~living].tolist()]
        for key in dead:
            since = self._dead_since.setdefault(key.tgid, now)
            if now - since >= self.retire_after:
                stale.append(key)
        excess = len({k.tgid for k in dead}) - self.max_exited
        if excess > 0:
            oldest = sorted({k.tgid for k in dead}, key=lambda t: self._dead_since[t])[:excess]
            chosen = set(oldest)
            already = set(stale)  # a set: with thousands of exited rows a list scan is quadratic
            stale.extend(k for k in dead if k.tgid in chosen and k not in already)
        if stale and self.collector is not None:
            self.collector.retire(stale)
            self.attributor.forget_pids({k.tgid for k in stale})
            self.liveness.forget({k.tgid for k in stale})
            for key in stale:
                self._dead_since.pop(key.tgid, None)

    def _health(
        self,
        other: Workload | None,
        matrix: tuple[MatrixCell, ...],
        program_stats: Mapping[int, ProgStats | None],
        poll_seconds: float,
    ) -> Health:
        overflow_pages = overflow_events = 0
        if other is not None:
            overflow_pages, overflow_events = other.total.pages, other.total.events
        run_ns = run_count = misses = 0
        attached, missing, fds = self._programs()
        for fd in fds:
            st = program_stats.get(fd)
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
        unknown = sum(c.total_pages for c in matrix if c.page_node == UNKNOWN_NODE)
        if unknown:
            notes.append(
                f"memory outside the known node ranges ({unknown} pages): "
                "restart to re-read the topology"
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
            probe_failures=self._probe_failures,
            pid_reuses=self._pid_reuses,
            unknown_node_pages=unknown,
        )

    def close(self) -> None:
        """Detach every probe; one that fails to close does not keep the rest attached.

        The tracepoints are detached all at once first: each waits for an RCU grace
        period in the kernel, and waited for one by one they took 1.6 s here."""
        detachers = [d for fam in self.families for d in fam.detachers()]
        if self.probe is not None:
            detachers += self.probe.detachers()
        if detachers:
            with ThreadPoolExecutor(max_workers=len(detachers)) as pool:
                for done in [pool.submit(_close_quietly, d) for d in detachers]:
                    done.result()
        for fam in self.families:
            _close_quietly(fam.close)
        if self.probe is not None:
            _close_quietly(self.probe.close)
        if self.stats is not None:
            _close_quietly(self.stats.close)
        self.liveness.close()


def _close_quietly(close: Callable[[], object]) -> None:
    try:
        close()
    except Exception as exc:  # the process is ending: the kernel drops the rest with its fds
        print(f"numascope: while detaching: {type(exc).__name__}: {exc}", file=sys.stderr)


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
            probe = attach_page_alloc(
                topology, max_owners=max_owners, headers=headers, absent=absent
            )
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
        page_map=probe.page_map if probe is not None else None,
    )
    failed.update(others.failed)
    if probe is None and not others.families:
        if stats is not None:
            stats.close()
        raise NumascopeError(
            "no probe family could be attached: "
            + "; ".join(f"{n}: {why}" for n, why in failed.items())
        )
    bcc_loader.release_compiler_memory()
    return LiveSource(
        topology,
        probe,
        proc=proc,
        sysfs=sysfs,
        stats=stats,
        families=others.families,
        failed=failed,
    )
