"""Attribute owner totals to workloads, cgroups, nodes and the node matrix.

An allocation is *local* when the page came from the node of the CPU that asked
for it, *remote* otherwise (a page on a node unknown at compile time counts as
remote, and shows under node -1).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from numascope.collectors.names import (
    CgroupResolver,
    decode_comm,
    process_stat,
    softirq_name,
)
from numascope.collectors.page_alloc import (
    CTX_EXITED,
    CTX_HARDIRQ,
    CTX_OVERFLOW,
    CTX_SOFTIRQ,
    OwnerKey,
    OwnerTable,
    OwnerTotals,
)
from numascope.collectors.tally import LocalityTally
from numascope.probes.page_alloc import PageAllocLayout
from numascope.snapshot import (
    ORDER_CLASSES,
    Locality,
    MatrixCell,
    NodeStats,
    Workload,
    WorkloadKind,
)
from numascope.topology import Topology

Counts = npt.NDArray[np.int64]

# Processes whose names are read again from /proc per poll (see
# Attributor._refresh_leader_names): about 5 us each.
RENAMES_PER_POLL = 32


def _sum_rows(group: npt.NDArray[np.intp], values: npt.NDArray[Any], groups: int) -> Counts:
    """Rows of `values` summed by `group` (every group in range has a row).

    np.add.at takes a slow element-by-element path for 2-D operands; sorting
    once and summing runs is a few vector operations."""
    width = int(np.prod(values.shape[1:], dtype=np.int64)) if values.ndim > 1 else 1
    values = values.reshape(len(group), width)
    out = np.zeros((groups, width), dtype=np.int64)
    if len(group) == groups:  # one row per group: a permutation
        out[group] = values
        return out
    if not len(group):
        return out
    order = np.argsort(group, kind="stable")
    ordered = group[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    out[ordered[starts]] = np.add.reduceat(values[order], starts, axis=0)
    return out


def subtract(now: Locality, before: Locality | None) -> Locality:
    """What `now` added over `before` (everything, for a new row)."""
    if before is None:
        return now

    def minus(a: Mapping[int, int], b: Mapping[int, int]) -> dict[int, int]:
        return {k: v - b.get(k, 0) for k, v in a.items()}

    return Locality(
        pages_by_node=minus(now.pages_by_node, before.pages_by_node),
        events_by_node=minus(now.events_by_node, before.events_by_node),
        local_pages=now.local_pages - before.local_pages,
        remote_pages=now.remote_pages - before.remote_pages,
        local_events=now.local_events - before.local_events,
        remote_events=now.remote_events - before.remote_events,
    )


@dataclass(frozen=True)
class _Identity:
    key: str
    kind: WorkloadKind
    name: str
    pid: int | None


@dataclass
class Attribution:
    """The attributed view of one poll."""

    nodes: tuple[NodeStats, ...]
    matrix: tuple[MatrixCell, ...]
    processes: tuple[Workload, ...]
    cgroups: tuple[Workload, ...]


@dataclass
class _Previous:
    """Last poll's totals of a set of workloads, as arrays, for the deltas."""

    index: dict[str, int] = field(default_factory=dict)
    pages: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    events: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    split: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 4), np.int64))


@dataclass
class Attributor:
    topology: Topology
    layout: PageAllocLayout
    proc: Path = Path("/proc")
    sysfs: Path = Path("/sys")
    cgroups: CgroupResolver = field(default_factory=CgroupResolver)
    _kthread: dict[int, bool] = field(default_factory=dict)
    _previous: dict[str, Locality] = field(default_factory=dict)
    _previous_matrix: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    _identities: dict[tuple[OwnerKey, bytes], _Identity] = field(default_factory=dict)
    _prev_processes: _Previous = field(default_factory=_Previous)
    _prev_cgroups: _Previous = field(default_factory=_Previous)
    _kept: dict[str, Workload] = field(default_factory=dict)
    # A leader's name read again after its first naming (prctl, a write to
    # /proc/PID/comm), by pid, and where the next round of re-reading starts.
    _leader_names: dict[int, str] = field(default_factory=dict)
    _rename_cursor: int = 0

    def __post_init__(self) -> None:
        layout = self.layout
        # Page node of each node slot (-1: a pfn on no known node), and each
        # counter slot's node slot and order class.
        self._slot_nodes = [*layout.node_ids, -1][: layout.node_slots]
        self._slot_node_ids = np.array(self._slot_nodes, dtype=np.int64)

    def attribute(
        self, owners: Mapping[OwnerKey, OwnerTotals], alive: set[int], now: float
    ) -> Attribution:
        """Attribute one object per owner (see `attribute_table` for the columns)."""
        return self.attribute_table(
            OwnerTable.from_mapping(owners, self.layout.count_slots), alive, now
        )

    def attribute_table(self, table: OwnerTable, alive: set[int], now: float) -> Attribution:
        """Attribute the collector's owner columns: sums are array operations,
        and only workloads whose totals moved get new objects."""
        # Thousands of small objects per poll would otherwise trigger full
        # collections that walk every live snapshot (a third of the poll's time).
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._attribute_table(table, alive, now)
        finally:
            if paused:
                gc.enable()

    def _attribute_table(self, table: OwnerTable, alive: set[int], now: float) -> Attribution:
        rows = table.rows()
        m = len(rows)
        node_slots, orders = self.layout.node_slots, self.layout.order_classes
        events = table.events[rows]
        # A slot counts only once it has an event, as in the kernel's own counters.
        pages = np.where(events > 0, table.pages[rows], 0)
        cols = table.columns[rows]
        cpu = cols["cpu_node"].astype(np.int64)
        by_node_pages = pages.reshape(m, node_slots, orders).sum(axis=2)
        by_node_events = events.reshape(m, node_slots, orders).sum(axis=2)
        local = self._slot_node_ids[None, :] == cpu[:, None]
        split = np.stack(
            [
                (by_node_pages * local).sum(axis=1),
                (by_node_pages * ~local).sum(axis=1),
                (by_node_events * local).sum(axis=1),
                (by_node_events * ~local).sum(axis=1),
            ],
            axis=1,
        )

        # Owners -> workloads (several owners per pid: one per CPU node and cgroup).
        keys, comms = table.keys, table.comms
        workload_of: dict[str, int] = {}
        identities: list[_Identity] = []
        row_workload = np.empty(m, dtype=np.intp)
        cgroup_ids = cols["cgroup_id"].tolist()
        paths: dict[int, str] = {}
        cgroup_of: dict[str, str | None] = {}
        row_changed = table.changed[rows].tolist()
        named_by_changed: set[int] = set()
        first_comms: list[bytes] = []  # per workload, the name its first owner carried
        disagree: set[int] = set()  # workloads whose owners carry different names
        row_pages = by_node_pages.sum(axis=1).tolist()
        cgroup_pages: dict[int, int] = {}
        for i, r in enumerate(rows.tolist()):
            identity = self._identify_cached(keys[r], comms[r])
            w = workload_of.get(identity.key)
            if w is None:
                w = workload_of[identity.key] = len(identities)
                identities.append(identity)
                first_comms.append(comms[r])
            else:
                if comms[r] != first_comms[w]:
                    disagree.add(w)
                if row_changed[i] and w not in named_by_changed:
                    # A process that exec'd on another CPU node has an owner per
                    # node, each named as it was then; the one that moved this
                    # poll carries its current name ("numactl" before, "dd" after).
                    identities[w] = identity
            if row_changed[i]:
                named_by_changed.add(w)
            row_workload[i] = w
            cg = cgroup_ids[i]
            if cg:
                path = paths.get(cg)
                if path is None:
                    path = paths[cg] = self.cgroups.path(cg, now) or f"id:{cg}"
                # A process that moved between cgroups has an owner in each; its
                # row names the one that holds most of its pages.
                if row_pages[i] >= cgroup_pages.get(w, -1):
                    cgroup_pages[w] = row_pages[i]
                    cgroup_of[identity.key] = path
        self._refresh_leader_names(identities, named_by_changed, disagree, alive, workload_of)
        changed = _sum_rows(row_workload, table.changed[rows], len(identities))[:, 0] > 0
        processes = self._workloads(
            self._prev_processes,
            [i.key for i in identities],
            row_workload,
            by_node_pages,
            by_node_events,
            split,
            changed,
            lambda w: (
                identities[w],
                cgroup_of.get(identities[w].key),
                identities[w].pid is None or identities[w].pid in alive,
            ),
        )

        # Cgroups: owners with a cgroup, summed per path.
        with_cgroup = np.flatnonzero(cols["cgroup_id"] != 0)
        path_index: dict[str, int] = {}
        row_cgroup = np.empty(len(with_cgroup), dtype=np.intp)
        for j, i in enumerate(with_cgroup.tolist()):
            row_cgroup[j] = path_index.setdefault(paths[cgroup_ids[i]], len(path_index))
        cg_paths = list(path_index)
        cg_moved = _sum_rows(row_cgroup, table.changed[rows][with_cgroup], len(cg_paths))
        cg_changed = cg_moved[:, 0] > 0
        cgroups = self._workloads(
            self._prev_cgroups,
            [f"cgroup:{p}" for p in cg_paths],
            row_cgroup,
            by_node_pages[with_cgroup],
            by_node_events[with_cgroup],
            split[with_cgroup],
            cg_changed,
            lambda c: (
                _Identity(f"cgroup:{cg_paths[c]}", WorkloadKind.CGROUP, cg_paths[c], None),
                cg_paths[c],
                True,
            ),
        )

        # Per node (by requesting CPU node) and the CPU node x page node matrix.
        cpu_nodes, cpu_of_row = np.unique(cpu, return_inverse=True)
        cpu_of_row = cpu_of_row.reshape(-1)
        cell_pages = _sum_rows(cpu_of_row, by_node_pages, len(cpu_nodes))
        cell_events = _sum_rows(cpu_of_row, by_node_events, len(cpu_nodes))
        slot_pages = pages.sum(axis=0).reshape(node_slots, orders).tolist()
        cpu_list = cpu_nodes.tolist()
        cp, ce = cell_pages.tolist(), cell_events.tolist()
        nodes = []
        for k, node_id in enumerate(self.topology.node_ids):
            acc = LocalityTally()
            for j, cpu_node in enumerate(cpu_list):
                if ce[j][k]:
                    acc.add(cpu_node, cp[j][k], ce[j][k], cpu_node == node_id)
            order_pages = slot_pages[k] if k < len(self._slot_nodes) else [0] * orders
            nodes.append(self._node(node_id, acc, list(order_pages)))
        matrix = {
            (cpu_node, self._slot_nodes[k]): [cp[j][k], ce[j][k]]
            for j, cpu_node in enumerate(cpu_list)
            for k in range(node_slots)
            if ce[j][k]
        }
        return Attribution(
            nodes=tuple(nodes),
            matrix=self._matrix(matrix),
            processes=processes,
            cgroups=cgroups,
        )

    def _workloads(
        self,
        previous: _Previous,
        keys: list[str],
        row_of: npt.NDArray[np.intp],
        row_pages: npt.NDArray[np.int64],
        row_events: npt.NDArray[np.int64],
        row_split: npt.NDArray[np.int64],
        changed: npt.NDArray[np.bool_],
        describe: Callable[[int], tuple[_Identity, str | None, bool]],
    ) -> tuple[Workload, ...]:
        """Sum owner rows into workloads, with deltas against the last poll.

        A workload whose totals did not move, and did not move the poll before
        either, is the same immutable object as last time."""
        n = len(keys)
        node_slots = len(self._slot_nodes)
        pages = _sum_rows(row_of, row_pages, n).reshape(n, node_slots)
        events = _sum_rows(row_of, row_events, n).reshape(n, node_slots)
        split = _sum_rows(row_of, row_split, n).reshape(n, 4)
        # Last poll's row of each workload; a new one compares against zeros.
        get = previous.index.get
        before = np.array([get(k, -1) for k in keys], dtype=np.intp)
        zero_row = len(previous.pages)

        def padded(a: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.int64]:
            if a.shape[1] != width:
                a = np.zeros((0, width), dtype=np.int64)
            return np.concatenate([a, np.zeros((1, width), dtype=np.int64)])

        prev_pages = padded(previous.pages, node_slots)[np.where(before < 0, zero_row, before)]
        prev_events = padded(previous.events, node_slots)[np.where(before < 0, zero_row, before)]
        prev_split = padded(previous.split, 4)[np.where(before < 0, zero_row, before)]
        d_pages, d_events, d_split = pages - prev_pages, events - prev_events, split - prev_split
        moved = (d_events != 0).any(axis=1) | (d_pages != 0).any(axis=1) | (before < 0)
        previous.index = {k: i for i, k in enumerate(keys)}
        previous.pages, previous.events, previous.split = pages, events, split

        nodes = self._slot_nodes
        out: list[Workload] = []
        kept = self._kept
        pl, el, sl = pages.tolist(), events.tolist(), split.tolist()
        dpl, dsl = d_pages.tolist(), d_split.tolist()
        del_l = d_events.tolist()
        moved_l = moved.tolist()
        for w, key in enumerate(keys):
            identity, cgroup, is_alive = describe(w)
            old = kept.get(key)
            if (
                old is not None
                and not moved_l[w]
                and old.alive == is_alive
                and old.kind is identity.kind
                and old.cgroup == cgroup
                and old.name == identity.name
            ):
                out.append(old)
                continue
            ev = el[w]
            present = [k for k in range(node_slots) if ev[k]]
            lp, rp, le, re = sl[w]
            total = Locality(
                {nodes[k]: pl[w][k] for k in present},
                {nodes[k]: ev[k] for k in present},
                lp,
                rp,
                le,
                re,
            )
            dlp, drp, dle, dre = dsl[w]
            delta = Locality(
                {nodes[k]: dpl[w][k] for k in present},
                {nodes[k]: del_l[w][k] for k in present},
                dlp,
                drp,
                dle,
                dre,
            )
            workload = Workload(
                key=identity.key,
                kind=identity.kind,
                name=identity.name,
                total=total,
                delta=delta,
                pid=identity.pid,
                cgroup=cgroup,
                alive=is_alive,
            )
            out.append(workload)
            if moved_l[w]:
                kept.pop(key, None)
            else:
                kept[key] = workload  # a zero delta: reusable while nothing moves
        return tuple(out)

    def _identify_cached(self, owner: OwnerKey, comm: bytes) -> _Identity:
        found = self._identities.get((owner, comm))
        if found is not None:
            return found
        identity = self._identify(owner, comm)
        # Kept with the name: a vanished pid reused by another program (another
        # name) is asked about again, and exited processes cost no /proc read.
        if len(self._identities) > 1 << 16:
            self._identities.clear()
        self._identities[(owner, comm)] = identity
        return identity

    def _identify(self, owner: OwnerKey, comm: bytes) -> _Identity:
        kind = owner.kind
        if kind == CTX_HARDIRQ:
            irq = owner.context_id
            return _Identity(f"irq:{irq}", WorkloadKind.HARDIRQ, self._irq_name(irq), None)
        if kind == CTX_SOFTIRQ:
            name = softirq_name(owner.context_id)
            return _Identity(f"softirq:{name}", WorkloadKind.SOFTIRQ, f"[softirq:{name}]", None)
        if kind == CTX_OVERFLOW:
            return _Identity("other", WorkloadKind.OTHER, "[other: owner map full]", None)
        if kind == CTX_EXITED:
            return _Identity("exited", WorkloadKind.OTHER, "[exited processes]", None)
        pid = owner.tgid
        # The comm the program saw is the allocating thread's (a JVM's "GC
        # Thread#0", a thread renamed by prctl): a live process is named by its
        # leader, as ps and top name it, read once per new owner and comm.
        found = None if pid == 0 else process_stat(pid, self.proc)
        if found is not None:
            self._kthread[pid] = found.kernel_thread
            kthread, name = found.kernel_thread, decode_comm(found.name)
            self._leader_names.pop(pid, None)  # this read is the newest
        else:  # the idle task, or gone: the program's name is all there is
            kthread, name = pid == 0 or self._kthread.get(pid, False), decode_comm(comm)
        kind_name = WorkloadKind.KTHREAD if kthread else WorkloadKind.PROCESS
        return _Identity(f"pid:{pid}", kind_name, name or "?", pid)

    def _refresh_leader_names(
        self,
        identities: list[_Identity],
        moved: set[int],
        disagree: set[int],
        alive: set[int],
        workload_of: dict[str, int],
    ) -> None:
        """Ask /proc again for the names of the processes that may have changed it.

        A process is named when numascope first sees one of its threads' names.
        Its owners disagreeing on the name (it exec'd between CPU nodes in this
        poll) says it changed: those are read every time. A leader renamed by
        prctl keeps allocating under the name its thread had when the CPU's cache
        opened, which nothing here shows: up to RENAMES_PER_POLL moving processes
        are read again per poll, in turn, so the cost stays flat on a host where
        thousands move. Only names that differ are kept: the renamed are few."""
        due = set(disagree)
        picks = list(moved)
        if picks:
            start = self._rename_cursor % len(picks)
            self._rename_cursor = start + RENAMES_PER_POLL
            wrapped = max(0, start + RENAMES_PER_POLL - len(picks))
            due.update(picks[start : start + RENAMES_PER_POLL] + picks[:wrapped])
        for w in due:
            self._read_leader_name(identities[w], alive)
        for renamed, name in self._leader_names.items():
            row = workload_of.get(f"pid:{renamed}")
            if row is not None and identities[row].name != name:
                identities[row] = replace(identities[row], name=name)

    def _read_leader_name(self, identity: _Identity, alive: set[int]) -> None:
        pid = identity.pid
        if identity.kind is not WorkloadKind.PROCESS or not pid or pid not in alive:
            return
        found = process_stat(pid, self.proc)
        if found is None:
            return
        name = decode_comm(found.name)
        if name != identity.name:
            self._leader_names[pid] = name
        else:
            self._leader_names.pop(pid, None)

    def _irq_name(self, irq: int) -> str:
        try:
            actions = (self.sysfs / "kernel/irq" / str(irq) / "actions").read_text().strip()
        except OSError:
            actions = ""
        return f"[irq:{irq} {actions}]" if actions else f"[irq:{irq}]"

    def _workload(
        self, identity: _Identity, acc: LocalityTally, cgroup: str | None, alive: bool
    ) -> Workload:
        total = acc.locality()
        delta = subtract(total, self._previous.get(identity.key))
        self._previous[identity.key] = total
        return Workload(
            key=identity.key,
            kind=identity.kind,
            name=identity.name,
            total=total,
            delta=delta,
            pid=identity.pid,
            cgroup=cgroup,
            alive=alive,
        )

    def _node(self, node_id: int, acc: LocalityTally, orders: list[int]) -> NodeStats:
        # For a node, pages_by_node holds pages by *requesting CPU node*.
        total = acc.locality()
        key = f"node:{node_id}"
        delta = subtract(total, self._previous.get(key))
        self._previous[key] = total
        node = self.topology.node(node_id)
        return NodeStats(
            node=node_id,
            total=total,
            delta=delta,
            pages_by_order=dict(zip(ORDER_CLASSES, orders, strict=True)),
            cpus=node.cpus,
            mem_total_bytes=node.mem_total_bytes,
            mem_free_bytes=node.mem_free_bytes,
        )

    def _matrix(self, cells: dict[tuple[int, int], list[int]]) -> tuple[MatrixCell, ...]:
        out = []
        for (cpu_node, page_node), (pages, events) in sorted(cells.items()):
            before = self._previous_matrix.get((cpu_node, page_node), (0, 0))
            self._previous_matrix[(cpu_node, page_node)] = (pages, events)
            out.append(
                MatrixCell(
                    cpu_node=cpu_node,
                    page_node=page_node,
                    total_pages=pages,
                    delta_pages=pages - before[0],
                    total_events=events,
                    delta_events=events - before[1],
                )
            )
        return tuple(out)

    def forget_pids(self, pids: set[int]) -> None:
        """Drop what is remembered about these pids: each now names a new process."""
        self.forget({f"pid:{p}" for p in pids})
        for pid in pids:
            self._kthread.pop(pid, None)
            self._leader_names.pop(pid, None)
        for cached in [k for k in self._identities if k[0].tgid in pids]:
            del self._identities[cached]

    def forget(self, keys: set[str]) -> None:
        for key in keys:
            self._previous.pop(key, None)
            self._prev_processes.index.pop(key, None)
            self._kept.pop(key, None)
