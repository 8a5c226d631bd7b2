"""Attribute owner totals to workloads, cgroups, nodes and the node matrix.

An allocation is *local* when the page came from the node of the CPU that asked
for it, *remote* otherwise (a page on a node unknown at compile time counts as
remote, and shows under node -1).
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
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
from numascope.collectors.owner_table import (
    CTX_EXITED,
    CTX_HARDIRQ,
    CTX_OVERFLOW,
    CTX_SOFTIRQ,
    OwnerKey,
    OwnerTable,
)
from numascope.collectors.tally import LocalityTally
from numascope.collectors.workload_book import WorkloadBook
from numascope.probes.page_alloc import PageAllocLayout
from numascope.snapshot.columns import WorkloadColumns, counts_width, object_column
from numascope.snapshot.model import (
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


def _distinct(values: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """np.unique(values, return_inverse=True) for small non-negative integers
    (slots): a mark per value instead of a sort, 0.05 ms for 10,000 rows."""
    if not len(values):
        return values.copy(), values.copy()
    seen = np.zeros(int(values.max()) + 1, dtype=bool)
    seen[values] = True
    distinct = np.flatnonzero(seen)
    position = np.cumsum(seen) - 1
    return distinct, position[values]


# Up to this many groups, _sum_rows multiplies by a membership matrix (0.03 ms
# per group at 10,000 rows), beyond it np.add.at (0.2 ms whatever the groups).
FEW_GROUPS = 4


def _sum_rows(group: npt.NDArray[np.intp], values: npt.NDArray[Any], groups: int) -> Counts:
    """Rows of `values` summed by `group` (every group in range has a row).

    np.add.at on the flattened cells: numpy 2's loop for 1-D operands takes
    about 0.2 ms for 10,000 rows whatever the number of groups; on 2-D
    operands, or sorting and summing runs, it took up to 1.5 ms."""
    width = int(np.prod(values.shape[1:], dtype=np.int64)) if values.ndim > 1 else 1
    values = values.reshape(len(group), width)
    if len(group) == groups:  # one row per group: a permutation
        if not groups or (group == np.arange(groups)).all():
            return values  # in order already: nothing to move
        out = np.zeros((groups, width), dtype=np.int64)
        out[group] = values
        return out
    if groups <= FEW_GROUPS:  # a cgroup or two, a CPU node or two: a product
        members = (np.arange(groups)[:, None] == group[None, :]).astype(np.int64)
        summed: Counts = members @ values
        return summed
    cells = (group[:, None] * width + np.arange(width)).ravel()
    flat = np.zeros(groups * width, dtype=np.int64)
    np.add.at(flat, cells, values.ravel())
    return flat.reshape(groups, width)


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


class RowSlots:
    """A slot for each owner row (-1: none), valid while the row holds the owner
    (by serial) it was found for: a row that holds a new owner is stale, and
    only stale rows cost a look-up."""

    def __init__(self) -> None:
        self.slots = np.zeros(0, dtype=np.intp)
        self._serials = np.zeros(0, dtype=np.int64)

    def stale(self, table: OwnerTable, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
        """Which of `rows` hold an owner other than the one their slot was found for."""
        size, have = len(table.keys), len(self.slots)
        if have < size:
            grow = max(size, 2 * have) - have
            self.slots = np.concatenate([self.slots, np.full(grow, -1, dtype=np.intp)])
            self._serials = np.concatenate([self._serials, np.zeros(grow, dtype=np.int64)])
        stale: npt.NDArray[np.bool_] = self._serials[rows] != table.serials[rows]
        return stale

    def keep(self, rows: Any, slots: Any, serials: Any) -> None:
        """`rows` hold `slots` while they hold the owners of `serials` (0: look again)."""
        self.slots[rows] = slots
        self._serials[rows] = serials

    def drop(self, slots: list[int]) -> None:
        """Rows holding these slots are looked up afresh."""
        self._serials[np.isin(self.slots, slots)] = 0


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
    processes: WorkloadColumns
    cgroups: WorkloadColumns
    # "other": what the owner map had no room for (the collector's health).
    other: Workload | None = None


@dataclass
class Attributor:
    topology: Topology
    layout: PageAllocLayout
    proc: Path = Path("/proc")
    sysfs: Path = Path("/sys")
    cgroups: CgroupResolver = field(default_factory=CgroupResolver)
    _kthread: dict[int, bool] = field(default_factory=dict)
    _previous_nodes: dict[int, Locality] = field(default_factory=dict)
    _previous_matrix: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    _identities: dict[tuple[OwnerKey, bytes], _Identity] = field(default_factory=dict)
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
        # Processes (and interrupt contexts) by slot: the slot of each workload
        # key, its identity (also as columns, for the snapshot's table) and pid,
        # and free slots of forgotten processes.
        self._slot_of: dict[str, int] = {}
        self._identity: list[_Identity | None] = []
        self._pid = np.zeros(0, dtype=np.int64)  # -1: no pid (an interrupt, "other")
        self._identity_columns = np.empty((0, 4), dtype=object)  # key, kind, name, pid
        self._free: list[int] = []
        self._processes = WorkloadBook(counts_width(len(self._slot_nodes)))
        # The workload slot of each owner row, valid while the row's serial is
        # the one it was identified with: only rows that moved, were renamed or
        # hold a new owner are identified again.
        self._row_slots = RowSlots()
        # The cgroup slot of each owner row (a row's cgroup is part of its owner).
        self._row_cgroups = RowSlots()
        # The identity and cgroup columns of the last poll's processes, handed
        # out again while nothing they hold changed (a poll of thousands of
        # processes would otherwise copy them every time).
        self._identity_version = 0
        self._last_columns: tuple[Any, ...] | None = None
        # Cgroups by slot (a path's slot never changes).
        self._cgroup_slot: dict[str, int] = {}
        self._cgroup_paths: list[str] = []
        self._cgroups = WorkloadBook(counts_width(len(self._slot_nodes)))

    def attribute_table(
        self, table: OwnerTable, alive: npt.NDArray[np.bool_], now: float
    ) -> Attribution:
        """Attribute the collector's owner columns (`alive[i]`: row i's process is
        alive): sums are array operations, and only owners and workloads that
        moved cost Python work."""
        # Thousands of small objects per poll would otherwise trigger full
        # collections that walk every live snapshot (a third of the poll's time).
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._attribute_table(table, alive, now)
        finally:
            if paused:
                gc.enable()

    def _attribute_table(
        self, table: OwnerTable, alive: npt.NDArray[np.bool_], now: float
    ) -> Attribution:
        rows = table.rows()
        node_slots, orders = self.layout.node_slots, self.layout.order_classes
        w = node_slots
        cpu = table.at_live(table.columns)["cpu_node"].astype(np.int64)
        counts, slot_pages = self._counts(
            table.at_live(table.pages), table.at_live(table.events), cpu
        )
        row_cgroup = self._cgroup_slots(table, rows, now)
        processes, slots = self._process_workloads(table, rows, row_cgroup, counts, alive)
        other_slot = self._slot_of.get("other", -1)
        other_row = int(np.searchsorted(slots, other_slot))
        found = other_row < len(slots) and slots[other_row] == other_slot
        other = processes[other_row] if found else None

        # Cgroups: owners with a cgroup, summed per path.
        if len(row_cgroup) and row_cgroup.min() >= 0:  # all of them: no rows to pick
            cg_slots, cg_of_row = _distinct(row_cgroup)
            in_cgroups = counts
        else:
            with_cgroup = np.flatnonzero(row_cgroup >= 0)
            cg_slots, cg_of_row = _distinct(row_cgroup[with_cgroup])
            in_cgroups = np.take(counts, with_cgroup, axis=0)
        totals = _sum_rows(cg_of_row.reshape(-1), in_cgroups, len(cg_slots))
        paths = object_column([self._cgroup_paths[s] for s in cg_slots.tolist()])
        cgroups = WorkloadColumns(
            self._slot_nodes,
            keys=object_column([f"cgroup:{p}" for p in paths]),
            kinds=object_column([WorkloadKind.CGROUP] * len(cg_slots)),
            names=paths,
            pids=np.full(len(cg_slots), None, dtype=object),
            cgroups=paths,
            alive=np.ones(len(cg_slots), dtype=bool),
            totals=totals,
            deltas=self._cgroups.deltas(cg_slots, totals),
        )

        # Per node (by requesting CPU node) and the CPU node x page node matrix.
        lowest = int(cpu.min()) if len(cpu) else 0  # -1: a CPU on no known node
        cpu_nodes, cpu_of_row = _distinct(cpu - lowest)
        cpu_nodes += lowest
        cells = _sum_rows(cpu_of_row, counts[:, : 2 * w], len(cpu_nodes))
        cell_pages, cell_events = cells[:, :w], cells[:, w:]
        by_slot = slot_pages.reshape(node_slots, orders).tolist()
        cpu_list = cpu_nodes.tolist()
        cp, ce = cell_pages.tolist(), cell_events.tolist()
        nodes = []
        for k, node_id in enumerate(self.topology.node_ids):
            acc = LocalityTally()
            for j, cpu_node in enumerate(cpu_list):
                if ce[j][k]:
                    acc.add(cpu_node, cp[j][k], ce[j][k], cpu_node == node_id)
            order_pages = by_slot[k] if k < len(self._slot_nodes) else [0] * orders
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
            other=other,
        )

    def _counts(
        self, pages: Counts, events: Counts, cpu: npt.NDArray[np.int64]
    ) -> tuple[Counts, Counts]:
        """Each row's counts as WorkloadColumns lays them out (pages and events
        by node slot, then local pages, remote pages, local and remote events),
        and the pages of all rows by counter slot.

        A slot's pages count only once it has an event, as in the kernel's own
        counters. Built a column at a time, transposed: numpy's operations on a
        few columns of many rows (reductions along the short axis, strided 2-D
        views) cost ten to twenty times more at 10,000 rows."""
        m, w, orders = len(cpu), self.layout.node_slots, self.layout.order_classes
        out = np.empty((counts_width(w), m), dtype=np.int64)
        slot_pages = np.zeros(w * orders, dtype=np.int64)
        counted = np.empty(m, dtype=np.int64)
        for slot in range(w):
            for order in range(orders):
                at = slot * orders + order
                slot_events = events.T[at]
                np.multiply(pages.T[at], slot_events > 0, out=counted)
                slot_pages[at] = counted.sum()
                if order:
                    out[slot] += counted
                    out[w + slot] += slot_events
                else:
                    np.copyto(out[slot], counted)
                    np.copyto(out[w + slot], slot_events)
        for first, split in ((0, 2 * w), (w, 2 * w + 2)):
            # Local: the slot of the requesting CPU's node; remote: the rest.
            local, remote = out[split], out[split + 1]
            local[:] = 0
            remote[:] = 0
            for slot, node in enumerate(self._slot_nodes):
                remote += out[first + slot]
                if node >= 0:
                    np.add(local, out[first + slot], out=local, where=cpu == node)
            remote -= local
        return np.ascontiguousarray(out.T), slot_pages

    def _cgroup_slots(
        self, table: OwnerTable, rows: npt.NDArray[np.intp], now: float
    ) -> npt.NDArray[np.intp]:
        """The cgroup slot of each of `rows` (-1: no cgroup).

        A row's cgroup is part of its owner, so it is looked up once per owner
        (a new serial): one path look-up per cgroup among those. A cgroup not
        found under the hierarchy yet is looked up again next poll."""
        stale = rows[self._row_cgroups.stale(table, rows)]
        if len(stale):
            ids, of_row = np.unique(table.columns["cgroup_id"][stale], return_inverse=True)
            slots = np.full(len(ids), -1, dtype=np.intp)
            found = np.ones(len(ids), dtype=bool)
            for j, cg in enumerate(ids.tolist()):
                if cg:
                    path = self.cgroups.path(cg, now)
                    found[j] = path is not None
                    path = path or f"id:{cg}"
                    slot = self._cgroup_slot.get(path)
                    if slot is None:
                        slot = self._cgroup_slot[path] = len(self._cgroup_paths)
                        self._cgroup_paths.append(path)
                    slots[j] = slot
            of_row = of_row.reshape(-1)
            serials = np.where(found[of_row], table.serials[stale], 0)
            self._row_cgroups.keep(stale, slots[of_row], serials)
        return self._row_cgroups.slots[rows]

    def _process_workloads(
        self,
        table: OwnerTable,
        rows: npt.NDArray[np.intp],
        row_cgroup: npt.NDArray[np.intp],
        counts: Counts,
        alive: npt.NDArray[np.bool_],
    ) -> tuple[WorkloadColumns, npt.NDArray[np.intp]]:
        """Owners -> workloads (several owners per pid: one per CPU node and
        cgroup); and the workload slot of each row of those, ascending."""
        moved, disagree = self._identify_rows(table, rows)
        row_slot = self._row_slots.slots[rows]
        slots, of_row = _distinct(row_slot)
        of_row = of_row.reshape(-1)
        n = len(slots)
        # A process that moved between cgroups has an owner in each; it is shown
        # in the one holding most of its pages (the later row on a tie).
        cgroup = np.full(n, -1, dtype=np.intp)
        has = np.flatnonzero(row_cgroup >= 0)
        if n == len(rows):  # one row per process, the common case: nothing to choose
            cgroup[of_row] = row_cgroup
        elif len(has):
            w = len(self._slot_nodes)
            row_pages = counts[:, 2 * w] + counts[:, 2 * w + 1]
            order = np.lexsort((has, row_pages[has], of_row[has]))
            group = of_row[has][order]
            last = np.r_[group[1:] != group[:-1], True]
            cgroup[group[last]] = row_cgroup[has][order][last]
        # A process is alive if its rows are (all rows of a pid are one process);
        # a workload with no process (an interrupt, "other") always is.
        living = self._pid[slots] < 0
        living[of_row[alive[rows]]] = True
        slot_alive = np.zeros(len(self._pid), dtype=bool)
        slot_alive[slots] = living
        self._refresh_leader_names(moved, disagree, slot_alive)
        identity, cgroup_paths = self._identity_and_cgroups(slots, cgroup)
        totals = _sum_rows(of_row, counts, n)
        columns = WorkloadColumns(
            self._slot_nodes,
            keys=identity[:, 0],
            kinds=identity[:, 1],
            names=identity[:, 2],
            pids=identity[:, 3],
            cgroups=cgroup_paths,
            alive=living,
            totals=totals,
            deltas=self._processes.deltas(slots, totals),
        )
        return columns, slots

    def _identity_and_cgroups(
        self, slots: npt.NDArray[np.intp], cgroup: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
        """The identity columns (key, kind, name, pid) of `slots`, and the path of
        each cgroup slot in `cgroup` (-1: none): the last poll's arrays when they
        would be the same (they are never written once handed out)."""
        last = self._last_columns
        state = (self._identity_version, len(self._cgroup_paths))
        if (
            last is not None
            and last[0] == state
            and np.array_equal(last[1], slots)
            and np.array_equal(last[2], cgroup)
        ):
            return last[3], last[4]
        # Index -1 (no cgroup) picks the None appended after the paths.
        paths = object_column([*self._cgroup_paths, None])[cgroup]
        identity = self._identity_columns[slots]
        self._last_columns = (state, slots, cgroup, identity, paths)
        return identity, paths

    def _identify_rows(
        self, table: OwnerTable, rows: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.intp], set[int]]:
        """Give every row its workload slot; return the slots that moved this
        poll, and those whose moving rows disagree on the name.

        Only rows that hold a new owner or were renamed are looked at: a row that
        only moved keeps the slot it was identified with."""
        serials = table.serials
        look = self._row_slots.stale(table, rows) | table.renamed[rows]
        keys, comms, changed = table.keys, table.comms, table.changed
        named: set[int] = set()  # slots named by a row that moved this poll
        looked = rows[look]
        for r, comm in zip(looked.tolist(), comms[looked].tolist(), strict=True):
            who = self._identify_cached(keys[r], comm)
            slot = self._slot_of.get(who.key)
            if slot is None:
                slot = self._new_slot(who)
            elif slot not in named:
                # A process that exec'd on another CPU node has an owner per
                # node, each named as it was then; the one that moved this
                # poll carries its current name ("numactl" before, "dd" after),
                # and no row looked at after it renames the process again.
                before = self._identity[slot]
                if who is not before and who != before:
                    self._set_identity(slot, who)
            if changed[r]:
                named.add(slot)
            self._row_slots.keep(r, slot, serials[r])
        moving = rows[changed[rows]]
        moved = _distinct(self._row_slots.slots[moving])[0]
        # Names can disagree only where a process has more than one moving row.
        disagree = self._disagreeing(moving, comms) if len(moved) < len(moving) else set()
        return moved, disagree

    def _disagreeing(self, moving: npt.NDArray[np.intp], comms: npt.NDArray[Any]) -> set[int]:
        """Slots whose rows that moved this poll carry different names."""
        if len(moving) < 2:
            return set()
        slot = self._row_slots.slots[moving]
        order = np.argsort(slot, kind="stable")
        slot, names = slot[order], comms[moving][order]
        starts = np.r_[True, slot[1:] != slot[:-1]]
        first = names[np.flatnonzero(starts)][np.cumsum(starts) - 1]
        return set(np.unique(slot[names != first]).tolist())

    def _new_slot(self, who: _Identity) -> int:
        if self._free:
            slot = self._free.pop()
        else:
            slot = len(self._identity)
            self._identity.append(None)
            if slot >= len(self._pid):
                grow = max(64, len(self._pid))
                self._pid = np.concatenate([self._pid, np.zeros(grow, dtype=np.int64)])
                self._identity_columns = np.concatenate(
                    [self._identity_columns, np.empty((grow, 4), dtype=object)]
                )
        self._slot_of[who.key] = slot
        self._set_identity(slot, who)
        self._pid[slot] = -1 if who.pid is None else who.pid
        return slot

    def _set_identity(self, slot: int, who: _Identity) -> None:
        self._identity_version += 1
        self._identity[slot] = who
        self._identity_columns[slot] = (who.key, who.kind, who.name, who.pid)

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
        self, moved: npt.NDArray[np.intp], disagree: set[int], alive: npt.NDArray[np.bool_]
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
        if len(moved):
            start = self._rename_cursor % len(moved)
            self._rename_cursor = start + RENAMES_PER_POLL
            wrapped = max(0, start + RENAMES_PER_POLL - len(moved))
            due.update(moved[start : start + RENAMES_PER_POLL].tolist(), moved[:wrapped].tolist())
        for slot in due:
            who = self._identity[slot]
            if who is not None and alive[slot]:
                self._read_leader_name(who)
        for renamed, name in self._leader_names.items():
            found = self._slot_of.get(f"pid:{renamed}")
            who = self._identity[found] if found is not None else None
            if found is not None and who is not None and who.name != name:
                self._set_identity(found, replace(who, name=name))

    def _read_leader_name(self, identity: _Identity) -> None:
        """Read a live process's name again (a dead one's pid may name another)."""
        pid = identity.pid
        if identity.kind is not WorkloadKind.PROCESS or not pid:
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

    def _node(self, node_id: int, acc: LocalityTally, orders: list[int]) -> NodeStats:
        # For a node, pages_by_node holds pages by *requesting CPU node*.
        total = acc.locality()
        delta = subtract(total, self._previous_nodes.get(node_id))
        self._previous_nodes[node_id] = total
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
        gone: list[int] = []
        for key in keys:
            slot = self._slot_of.pop(key, None)
            if slot is not None:
                gone.append(slot)
                self._identity[slot] = None
                self._identity_columns[slot] = None
                self._identity_version += 1
                self._processes.forget(slot)
        if gone:
            # Rows still naming these slots are identified afresh next poll.
            self._row_slots.drop(gone)
            self._free.extend(gone)
