"""The live source: every attached probe family, read alike, as one snapshot.

A source's `poll()` returns the next immutable Snapshot; views call it at their
interval (from a worker thread, in the TUI) and never touch the kernel otherwise.
Each family is collected the same way and dropped the same way when it breaks;
the rows per owner that a family keeps (page allocations) are retired and
attributed here, checked against the kernel's numastat counters.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from numascope.collectors.attribution import Attributor
from numascope.collectors.balancing import BalancingCollector
from numascope.collectors.exited_owners import MAX_EXITED_ROWS, RETIRE_AFTER_SECONDS, ExitedOwners
from numascope.collectors.family_ledger import FamilyLedger
from numascope.collectors.kernel_counters import KernelCounterCollector
from numascope.collectors.kernel_source import host_info
from numascope.collectors.liveness import Liveness, RowLiveness
from numascope.collectors.names import CgroupResolver, cgroup2_mount
from numascope.collectors.owner_table import OwnerTable
from numascope.collectors.probe_families import (
    DEFAULT_FAMILIES,
    FamilyContext,
    FamilyReading,
    OwnerLedger,
    ProbeFamily,
    open_families,
)
from numascope.collectors.program_watch import ProgramWatch
from numascope.errors import ProbeUnavailableError, first_reason
from numascope.probes import bcc_loader
from numascope.probes.page_alloc import DEFAULT_MAX_OWNERS, PageAllocLayout
from numascope.probes.prog_stats import SAMPLED, ProgStats, StatsSession, prog_stats
from numascope.snapshot.model import Health, MatrixCell, ProgramCost, Snapshot, Workload
from numascope.snapshot.sections import AllocatorSection
from numascope.topology import Topology, read_topology

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


class LiveSource:
    """Snapshots from the attached probe families, checked against numastat."""

    def __init__(
        self,
        topology: Topology,
        families: Iterable[ProbeFamily] = (),
        *,
        proc: Path = Path("/proc"),
        sysfs: Path = Path("/sys"),
        retire_after: float = RETIRE_AFTER_SECONDS,
        max_exited: int = MAX_EXITED_ROWS,
        stats: StatsSession | None = None,
        prog_stats: Callable[[int], ProgStats | None] = prog_stats,
        failed: Mapping[str, str] | None = None,
    ) -> None:
        self.topology = topology
        self.families = list(families)
        self.failed = dict(failed or {})  # family left out or stopped -> why
        self.stats = stats
        self.attributor = Attributor(
            topology,
            PageAllocLayout(topology.node_ids),
            proc=proc,
            sysfs=sysfs,
            cgroups=CgroupResolver(cgroup2_mount(proc)),
        )
        self.kernel = KernelCounterCollector(topology.node_ids, sysfs=sysfs)
        self.kernel.read()  # baseline: the first snapshot's kernel deltas start now
        self.balancing = BalancingCollector(
            topology.node_ids, [n.id for n in topology.nodes if n.cpuless], proc=proc, sysfs=sysfs
        )
        self.liveness = Liveness(proc)
        self.row_liveness = RowLiveness(self.liveness)
        self.exited = ExitedOwners(
            self.attributor, self.liveness, retire_after=retire_after, max_exited=max_exited
        )
        # Each family's latest read (duration, success) and failures, for the health.
        self.family_health = FamilyLedger()
        self.family_health.expect([*(f.name for f in self.families), *self.failed])
        self.programs = ProgramWatch(prog_stats, on_detach=self.family_health.fail)
        self._probe_failures = 0
        self._seq = 0
        self._last = time.monotonic()

    def family(self, name: str) -> ProbeFamily | None:
        """The attached family called `name`, if it is running."""
        return next((f for f in self.families if f.name == name), None)

    def poll(self) -> Snapshot:
        started = time.monotonic()
        self.family_health.begin_poll()
        self.exited.split_reused_pids(self._ledger())
        readings = self._collect_families()
        kernel = next((r.kernel for r in readings if r.kernel is not None), None)
        if kernel is None:
            kernel = self.kernel.read()
        program_stats = self.programs.check(self.families)
        slots = self.attributor.layout.count_slots
        owners = next((r.owners for r in readings if r.owners is not None), None)
        owners = owners or OwnerTable.empty(slots)
        alive = self.row_liveness.alive(owners.columns["tgid"], owners.serials, owners.live)
        ledger = self._ledger()
        self.exited.retire(ledger, owners, alive, started)
        if ledger is not None:
            # Retiring folds rows into "[exited processes]", which may be a row the
            # table read before it did not have: attribute the table as it is now
            # (a folded row has no process).
            owners = ledger.table()
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
            balancing=self.balancing.read(w.cgroup for w in attribution.cgroups if w.cgroup),
            migrations=next((r.migrations for r in readings if r.migrations), None),
            health=self._health(
                attribution.other,
                attribution.matrix,
                program_stats,
                time.monotonic() - started,
            ),
        )

    def _ledger(self) -> OwnerLedger | None:
        return next((f.owners for f in self.families if f.owners is not None), None)

    def _capacity(self) -> int:
        return sum(f.owner_capacity for f in self.families)

    def _collect_families(self) -> list[FamilyReading]:
        readings: list[FamilyReading] = []
        for fam in list(self.families):
            try:
                read = functools.partial(fam.collect, self.kernel.read)
                readings.append(self.family_health.timed(fam.name, read))
            except Exception as exc:  # a broken map must not stop the other probes
                self._fail(fam, exc)
        return readings

    def _fail(self, family: ProbeFamily, exc: BaseException) -> None:
        """Stop using a family that broke mid-run; the others keep running."""
        why = f"stopped mid-run: {type(exc).__name__}: {exc}"
        print(f"numascope: probe family {family.name} {why}", file=sys.stderr, flush=True)
        self.failed[family.name] = why
        self._probe_failures += 1
        self.family_health.fail(family.name)
        self.families.remove(family)
        _close_quietly(family.close)

    def _health(
        self,
        other: Workload | None,
        matrix: tuple[MatrixCell, ...],
        program_stats: Mapping[str, ProgStats | None],
        poll_seconds: float,
    ) -> Health:
        overflow_pages = overflow_events = 0
        if other is not None:
            overflow_pages, overflow_events = other.total.pages, other.total.events
        attached, missing = self.programs.programs(self.families, self.failed)
        detached = self.programs.detached
        programs = {
            name: ProgramCost(st.run_time_ns, st.run_count)
            for name, st in sorted(program_stats.items())
            if st is not None and name not in detached
        }
        run_ns = sum(p.run_ns for p in programs.values())
        run_count = sum(p.runs for p in programs.values())
        misses = sum(st.recursion_misses for st in program_stats.values() if st is not None)
        notes = []
        ledger, capacity = self._ledger(), self._capacity()
        if overflow_events and ledger is not None:
            notes.append(
                f"owner map full ({capacity} entries): "
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
            map_capacity=capacity,
            map_peak_entries=ledger.peak_entries if ledger is not None else 0,
            poll_seconds=poll_seconds,
            bpf_run_ns=run_ns,
            bpf_run_count=run_count,
            bpf_stats_seconds=self.stats.on_seconds() if self.stats is not None else 0.0,
            notes=tuple(notes),
            probe_failures=self._probe_failures + self.programs.failures,
            pid_reuses=self.exited.pid_reuses,
            unknown_node_pages=unknown,
            families=self.family_health.report({name.split(".", 1)[0] for name in detached}),
            programs=programs,
        )

    def close(self) -> None:
        """Detach every probe; one that fails to close does not keep the rest attached.

        The tracepoints are detached all at once first: each waits for an RCU grace
        period in the kernel, and waited for one by one they took 1.6 s here."""
        detachers = [d for fam in self.families for d in fam.detachers()]
        if detachers:
            with ThreadPoolExecutor(max_workers=len(detachers)) as pool:
                for done in [pool.submit(_close_quietly, d) for d in detachers]:
                    done.result()
        for fam in self.families:
            _close_quietly(fam.close)
        if self.stats is not None:
            _close_quietly(self.stats.close)
        self.liveness.close()


def _close_quietly(close: Callable[[], object]) -> None:
    try:
        close()
    except Exception as exc:  # the process is ending: the kernel drops the rest with its fds
        print(f"numascope: while detaching: {type(exc).__name__}: {exc}", file=sys.stderr)


def open_live_source(
    *,
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
    snapshots' health); only when none attaches is that an error, and when only
    one was asked for, its own error is raised. `tracefs` (where tracepoint
    formats are read) and `absent` (tracepoints to treat as missing) let a test
    play a kernel that lacks some tracepoints.
    """
    names = tuple(probes)
    # A seccomp profile refusing bpf() stops every family alike: say it once.
    bcc_loader.check_bpf_syscall()
    topology = read_topology(sysfs)
    stats = StatsSession(SAMPLED) if measure_overhead and os.geteuid() == 0 else None
    at = FamilyContext(topology, headers, sysfs, proc, tracefs, frozenset(absent), max_owners)
    opened = open_families(names, at)
    if not opened.families:
        if stats is not None:
            stats.close()
        reason = first_reason(opened.reasons.values())
        if len(names) == 1 and names[0] in opened.failed:
            raise ProbeUnavailableError(opened.failed[names[0]], reason)
        # One missing prerequisite (no root, no headers) fails every family.
        raise ProbeUnavailableError(
            "no probe family could be attached: "
            + "; ".join(f"{n}: {why}" for n, why in opened.failed.items()),
            reason,
        )
    bcc_loader.release_compiler_memory()
    return LiveSource(
        topology,
        opened.families,
        proc=proc,
        sysfs=sysfs,
        stats=stats,
        failed=opened.failed,
    )
