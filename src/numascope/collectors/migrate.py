"""Migrations by (process or kernel thread, reason), from the `migrate` maps.

The `migrations` map is per-CPU and cumulative: a row's counts are the sum
over CPUs, and the deltas come from the previous read. The kernel's own
counters are read right after the map, so both cover the same window. Whether
a tgid is a kernel thread (kcompactd, kswapd, a kworker) is read once from
/proc/PID/stat's flags: the probe does not read task_struct, whose layout
differs between the kernels numascope runs on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any

from numascope.collectors.counts import CountTracker
from numascope.collectors.maps import MapTables
from numascope.snapshot.migration import (
    TASK_MOVE_OUTCOMES,
    UNKNOWN_NODE,
    KernelMigrationCounters,
    MigrationRow,
    MigrationSection,
    TaskMoveRow,
    reason_name,
)
from numascope.snapshot.sections import Count

PF_KTHREAD = 0x00200000
COUNTS = ("calls", "succeeded", "failed", "thp_succeeded", "thp_failed", "thp_split")
OTHER = "other"


def is_kernel_thread(tgid: int, proc: Path = Path("/proc")) -> bool:
    """Whether `tgid` is a kernel thread (PF_KTHREAD in /proc/PID/stat's flags);
    False when it has exited."""
    try:
        stat = (proc / str(tgid) / "stat").read_text()
    except OSError:
        return False
    # The name in parentheses may hold spaces; flags is the 9th field overall.
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return bool(int(fields[6]) & PF_KTHREAD)
    except (IndexError, ValueError):
        return False


def read_comm(tgid: int, proc: Path = Path("/proc")) -> str:
    """/proc/PID/comm ("" once the process has exited)."""
    try:
        return (proc / str(tgid) / "comm").read_text().strip()
    except OSError:
        return ""


def decode_comm(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="backslashreplace")


@dataclass
class _Sums:
    name: str
    counts: list[int]
    sources: list[int]
    targets: list[int]


@dataclass
class MigrateCollector:
    """Reads the migrate family's maps into a MigrationSection."""

    tables: MapTables
    node_ids: tuple[int, ...]
    _: KW_ONLY
    tracks_nodes: bool = True
    tracks_task_moves: bool = True
    reasons: int = 16  # slots of `migrate_overflow`, one per reason code
    proc: Path = Path("/proc")
    kernel: Callable[[], tuple[KernelMigrationCounters, ...]] = tuple
    _counts: CountTracker = field(default_factory=CountTracker, init=False)
    _kthread: dict[int, bool] = field(default_factory=dict, init=False)
    # Names of task-move tgids: the probe's comm, else /proc's, read once per tgid
    # (the other task of a swap has no comm in the map, and rows are never cleared).
    _move_names: dict[int, str] = field(default_factory=dict, init=False)

    def read(self) -> MigrationSection:
        sums: dict[tuple[int, int], _Sums] = {}
        for key, per_cpu in self.tables["migrations"].items():
            self._add(sums, (int(key.tgid), int(key.reason)), per_cpu)
        overflow = self.tables["migrate_overflow"]
        for reason in range(self.reasons):
            self._add(sums, (0, reason), overflow[reason])
        moves = self._task_moves() if self.tracks_task_moves else ()
        kernel = self.kernel()
        rows = [self._row(tgid, reason, s) for (tgid, reason), s in sorted(sums.items())]
        return MigrationSection(
            tuple(rows), self.tracks_nodes, kernel, moves, self.tracks_task_moves
        )

    def _task_moves(self) -> tuple[TaskMoveRow, ...]:
        """Rows per (tgid, outcome): events by the node the task was sent to."""
        events: dict[tuple[int, int], dict[int, int]] = {}
        names = self._move_names
        for key, per_cpu in self.tables["task_moves"].items():
            at, nid = (int(key.tgid), int(key.outcome)), int(key.to_nid)
            nid = nid if nid in self.node_ids else UNKNOWN_NODE
            for value in per_cpu:
                if int(value.events):
                    nodes = events.setdefault(at, {})
                    nodes[nid] = nodes.get(nid, 0) + int(value.events)
                    comm = decode_comm(bytes(value.comm))
                    if comm:
                        names[at[0]] = comm
        overflow = self.tables["task_move_overflow"]
        for outcome in range(len(TASK_MOVE_OUTCOMES)):
            n = sum(int(v.events) for v in overflow[outcome])
            if n:
                events.setdefault((0, outcome), {})[UNKNOWN_NODE] = n
        rows = []
        for (tgid, outcome), nodes in sorted(events.items()):
            to_nodes = {
                nid: self._counts.count(("task", tgid, outcome, nid), n)
                for nid, n in sorted(nodes.items())
            }
            if tgid and tgid not in names:
                names[tgid] = read_comm(tgid, self.proc)
            name = names[tgid] if tgid else OTHER
            rows.append(TaskMoveRow(tgid, name, TASK_MOVE_OUTCOMES[outcome], to_nodes))
        return tuple(rows)

    def _add(self, sums: dict[tuple[int, int], _Sums], at: tuple[int, int], per_cpu: Any) -> None:
        slots = len(self.node_ids) + 1
        for value in per_cpu:
            seen = [*value.sources, *value.targets]
            if not int(value.calls) and not any(int(v) for v in seen):
                continue
            s = sums.get(at)
            if s is None:
                s = sums[at] = _Sums("", [0] * len(COUNTS), [0] * slots, [0] * slots)
            for i, name in enumerate(COUNTS):
                s.counts[i] += int(getattr(value, name))
            for i in range(slots):
                s.sources[i] += int(value.sources[i])
                s.targets[i] += int(value.targets[i])
            s.name = decode_comm(bytes(value.comm)) or s.name

    def _row(self, tgid: int, reason: int, s: _Sums) -> MigrationRow:
        key = (tgid, reason)
        counts = {
            n: self._counts.count((*key, n), v) for n, v in zip(COUNTS, s.counts, strict=True)
        }
        return MigrationRow(
            tgid=tgid,
            name=s.name if tgid else OTHER,
            reason=reason_name(reason),
            kernel_thread=self._is_kernel_thread(tgid),
            calls=counts["calls"],
            succeeded=counts["succeeded"],
            failed=counts["failed"],
            thp_succeeded=counts["thp_succeeded"],
            thp_failed=counts["thp_failed"],
            thp_split=counts["thp_split"],
            sources=self._by_node((*key, "sources"), s.sources),
            targets=self._by_node((*key, "targets"), s.targets),
        )

    def _by_node(self, key: tuple[object, ...], pages: list[int]) -> dict[int, Count]:
        out: dict[int, Count] = {}
        for slot, count in enumerate(pages):
            node = self.node_ids[slot] if slot < len(self.node_ids) else UNKNOWN_NODE
            if count:
                out[node] = self._counts.count((*key, node), count)
        return out

    def _is_kernel_thread(self, tgid: int) -> bool:
        if tgid <= 0:
            return False
        known = self._kthread.get(tgid)
        if known is None:
            known = self._kthread[tgid] = is_kernel_thread(tgid, self.proc)
        return known
