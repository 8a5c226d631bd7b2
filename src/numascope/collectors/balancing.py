"""The balancing section: NUMA balancing per process, per cgroup and host, and memory tiers.

A process is read as all its threads (/proc/PID/task/TID/sched, one read each,
about 25 us here, see BENCHMARKS.md; numa_sched.py says why), so a poll reads
processes round-robin over the pids in /proc until it has read `budget` files:
on a host with more than that each row is as old as its `read_at` says, about
`rotation_polls` polls at most. Rows are kept only for
processes where balancing did something (faults or migrated pages), and a
snapshot carries at most `max_rows` of them (churning ones first, then those
that migrated most); every one is counted in `verdicts`, so a snapshot stays
small on a big host and the counts stay whole.
"""

from __future__ import annotations

import heapq
import math
import os
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from numascope.collectors import balancing_verdict as rule
from numascope.collectors import memory_tiers as mt
from numascope.collectors.kernel_counters import parse_key_values
from numascope.collectors.names import cgroup2_mount
from numascope.collectors.numa_sched import ProcessSched, read_process_sched
from numascope.snapshot.balancing import (
    BalancingSection,
    CgroupBalancing,
    HostBalancing,
    NodeTier,
    ProcessBalancing,
    Verdict,
)

# Rows carried per snapshot: at 10,000 balanced processes all rows made 4.9 MB of
# JSON a poll. The churning ones come first, then those that migrated most.
DEFAULT_MAX_ROWS = 512
DEFAULT_BUDGET = 256  # sched files (one per thread) read per poll (about 25 us each here)
PREFERRED_HISTORY = 8  # readings of the preferred node kept per process, for flips


@dataclass
class _Seen:
    """What the collector remembers of one process between its readings."""

    # The process's pages migrated (its threads' running totals at the first
    # reading, plus each thread's increase since), and its threads' running totals
    # at the latest reading: a thread that exits takes its total away from the
    # threads' sum, so the process's figure is accumulated and never goes down.
    pages_migrated: int
    threads: dict[int, int]
    locality: float | None
    preferred: deque[int] = field(default_factory=lambda: deque(maxlen=PREFERRED_HISTORY))
    row: ProcessBalancing | None = None


def _rank(row: ProcessBalancing) -> tuple[bool, int, int, int]:
    """Which rows a snapshot carries first: churning, then most migrated lately, then ever."""
    churning = row.verdict is Verdict.CHURNING
    return (not churning, -row.pages_migrated_delta, -row.pages_migrated, row.pid)


class BalancingCollector:
    """Reads the balancing section once per poll, within a budget of processes."""

    def __init__(
        self,
        node_ids: Iterable[int],
        cpuless: Iterable[int] = (),
        *,
        proc: Path = Path("/proc"),
        sysfs: Path = Path("/sys"),
        cgroup_root: Path | None = None,
        budget: int = DEFAULT_BUDGET,
        max_rows: int = DEFAULT_MAX_ROWS,
    ) -> None:
        self.node_ids = tuple(node_ids)
        self.cpuless = frozenset(cpuless)
        self.proc = proc
        self.sysfs = sysfs
        self.cgroup_root = cgroup_root if cgroup_root is not None else cgroup2_mount(proc)
        self.budget = max(1, budget)
        self.max_rows = max(1, max_rows)
        self._cursor = 0
        self._seen: dict[int, _Seen] = {}
        self._host_before: dict[str, int] | None = None
        self._tiers_before: dict[int, dict[str, int]] = {}

    def read(self, cgroups: Iterable[str] = ()) -> BalancingSection:
        """This poll's section; `cgroups` are v2 paths whose memory.stat to read."""
        mode = mt.read_balancing_mode(self.proc)
        host_now = mt.read_host_counters(self.proc)
        host = HostBalancing(mode, host_now, mt.deltas(host_now, self._host_before))
        self._host_before = host_now
        pids = self._pids()
        now = time.time()
        read = files = 0
        for pid in self._rotation(pids):
            if files >= self.budget:
                break
            sched = read_process_sched(pid, self.proc)
            read += 1
            self._cursor = pid
            if sched is None:
                self._seen.pop(pid, None)
                files += 1
                continue
            files += len(sched.threads)
            self._remember(sched, host.enabled, now)
        alive = set(pids)
        for gone in [p for p in self._seen if p not in alive]:
            del self._seen[gone]
        rows = [s.row for s in self._seen.values() if s.row is not None]
        verdicts = Counter(r.verdict.value for r in rows)
        left_out = max(0, len(rows) - self.max_rows)
        if left_out:
            rows = heapq.nsmallest(self.max_rows, rows, key=_rank)
        notes = []
        if host_now == {} and mode is None:
            notes.append("this kernel has no NUMA balancing (CONFIG_NUMA_BALANCING off)")
        return BalancingSection(
            host=host,
            processes=tuple(rows),
            cgroups=tuple(self._cgroup(path) for path in cgroups),
            tiers=self._tiers(),
            demotion_enabled=mt.read_demotion_enabled(self.sysfs),
            read_this_poll=read,
            rotation_polls=math.ceil(len(pids) / read) if read else 0,
            notes=tuple(notes),
            verdicts=dict(verdicts),
            left_out=left_out,
        )

    def _pids(self) -> list[int]:
        # os.listdir, not Path.iterdir: a Path per entry made this most of a poll.
        try:
            return sorted(map(int, filter(str.isdigit, os.listdir(self.proc))))
        except OSError:
            return []

    def _rotation(self, pids: list[int]) -> list[int]:
        """Every pid once, starting after the last one read (the cursor), wrapping round."""
        start = next((i for i, p in enumerate(pids) if p > self._cursor), 0)
        return pids[start:] + pids[:start]

    def _remember(self, sched: ProcessSched, balancing_on: bool, now: float) -> None:
        pid = sched.pid
        seen = self._seen.get(pid)
        threads = {tid: t.pages_migrated for tid, t in sched.threads.items()}
        share = sched.locality()
        if seen is None or threads.get(pid, 0) < seen.threads.get(pid, 0):  # new or reused pid
            seen = _Seen(sched.pages_migrated, threads, None)
            migrated, previous = 0, None
        else:
            # Each thread's increase; a thread first seen now counts whole (it was
            # born since the previous reading, or beyond MAX_THREADS then).
            migrated = sum(max(0, n - seen.threads.get(tid, 0)) for tid, n in threads.items())
            previous = seen.locality
        busiest = sched.busiest
        seen.preferred.append(busiest.preferred_node)
        flips = rule.flips(list(seen.preferred))
        verdict = rule.judge(
            rule.VerdictInput(
                balancing_on=balancing_on,
                total_faults=sched.total_faults,
                locality=share,
                previous_locality=previous,
                migrated=migrated,
                preferred_flips=flips,
                preferred_node=busiest.preferred_node,
                current_node=busiest.current_node,
            )
        )
        total = seen.pages_migrated + migrated
        active = sched.total_faults > 0 or total > 0
        seen.row = (
            ProcessBalancing(
                pid=pid,
                name=sched.name,
                current_node=busiest.current_node,
                preferred_node=busiest.preferred_node,
                pages_migrated=total,
                pages_migrated_delta=migrated,
                total_faults=sched.total_faults,
                faults=sched.faults,
                numa_group_id=busiest.numa_group_id,
                locality=share,
                previous_locality=previous,
                preferred_flips=flips,
                verdict=verdict,
                read_at=now,
                threads=max(sched.main.threads, len(sched.threads)),
                threads_read=len(sched.threads),
            )
            if active
            else None
        )
        seen.pages_migrated, seen.threads, seen.locality = total, threads, share
        self._seen[pid] = seen

    def _cgroup(self, path: str) -> CgroupBalancing:
        folder = self.cgroup_root / path.lstrip("/")
        try:
            values = parse_key_values((folder / "memory.stat").read_text())
        except OSError:
            values = {}
        return CgroupBalancing(
            path,
            numa_pages_migrated=values.get("numa_pages_migrated"),
            numa_pte_updates=values.get("numa_pte_updates"),
            numa_hint_faults=values.get("numa_hint_faults"),
            pgpromote_success=values.get("pgpromote_success"),
            pgdemote_kswapd=values.get("pgdemote_kswapd"),
            pgdemote_direct=values.get("pgdemote_direct"),
            pgdemote_khugepaged=values.get("pgdemote_khugepaged"),
        )

    def _tiers(self) -> tuple[NodeTier, ...]:
        tiers = mt.read_tiers(self.sysfs)
        counters = mt.read_node_tier_counters(self.node_ids, self.sysfs)
        out = []
        for node in self.node_ids:
            now = counters.get(node, {})
            out.append(
                NodeTier(
                    node=node,
                    tier=tiers.get(node),
                    cpuless=node in self.cpuless,
                    total=now,
                    delta=mt.deltas(now, self._tiers_before.get(node)),
                )
            )
            self._tiers_before[node] = now
        return tuple(out)
