"""Attribute owner totals to workloads, cgroups, nodes and the node matrix.

An allocation is *local* when the page came from the node of the CPU that asked
for it, *remote* otherwise (a page on a node unknown at compile time counts as
remote, and shows under node -1).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from numascope.collectors.cgroup_slots import CgroupSlots
from numascope.collectors.group_sums import distinct, sum_rows
from numascope.collectors.names import CgroupResolver
from numascope.collectors.node_deltas import NodeDeltas
from numascope.collectors.owner_names import Identity, OwnerNames
from numascope.collectors.owner_table import OwnerTable
from numascope.collectors.row_counts import row_counts
from numascope.collectors.row_slots import RowSlots
from numascope.collectors.tally import LocalityTally
from numascope.collectors.workload_book import WorkloadBook
from numascope.probes.page_alloc import PageAllocLayout
from numascope.snapshot.columns import WorkloadColumns, counts_width, object_column
from numascope.snapshot.model import MatrixCell, NodeStats, Workload, WorkloadKind
from numascope.topology import Topology

Counts = npt.NDArray[np.int64]

# Processes whose names are read again from /proc per poll (see
# Attributor._refresh_leader_names): about 5 us each.
RENAMES_PER_POLL = 32


@dataclass
class Attribution:
    """The attributed view of one poll."""

    nodes: tuple[NodeStats, ...]
    matrix: tuple[MatrixCell, ...]
    processes: WorkloadColumns
    cgroups: WorkloadColumns
    # "other": what the owner map had no room for (the collector's health).
    other: Workload | None = None


class Attributor:
    """Turns the owner table into workloads, cgroups, nodes and the node matrix."""

    def __init__(
        self,
        topology: Topology,
        layout: PageAllocLayout,
        *,
        proc: Path = Path("/proc"),
        sysfs: Path = Path("/sys"),
        cgroups: CgroupResolver | None = None,
    ) -> None:
        self.topology = topology
        self.layout = layout
        self.proc = proc
        self.sysfs = sysfs
        self.cgroups = cgroups or CgroupResolver()
        self.cgroup_slots = CgroupSlots(self.cgroups)
        self.names = OwnerNames(proc=proc, sysfs=sysfs)
        self.deltas = NodeDeltas(topology)
        # Where the next round of re-reading leaders' names starts.
        self._rename_cursor = 0
        layout = self.layout
        # Page node of each node slot (-1: a pfn on no known node), and each
        # counter slot's node slot and order class.
        self._slot_nodes = [*layout.node_ids, -1][: layout.node_slots]
        self._slot_node_ids = np.array(self._slot_nodes, dtype=np.int64)
        # Processes (and interrupt contexts) by slot: the slot of each workload
        # key, its identity (also as columns, for the snapshot's table) and pid,
        # and free slots of forgotten processes.
        self._slot_of: dict[str, int] = {}
        self._identity: list[Identity | None] = []
        self._pid = np.zeros(0, dtype=np.int64)  # -1: no pid (an interrupt, "other")
        self._identity_columns = np.empty((0, 4), dtype=object)  # key, kind, name, pid
        self._free: list[int] = []
        self._processes = WorkloadBook(counts_width(len(self._slot_nodes)))
        # The workload slot of each owner row, valid while the row's serial is
        # the one it was identified with: only rows that moved, were renamed or
        # hold a new owner are identified again.
        self._row_slots = RowSlots()
        # The identity and cgroup columns of the last poll's processes, handed
        # out again while nothing they hold changed (a poll of thousands of
        # processes would otherwise copy them every time).
        self._identity_version = 0
        self._last_columns: tuple[Any, ...] | None = None
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
        row_cgroup = self.cgroup_slots.of_rows(table, rows, now)
        processes, slots = self._process_workloads(table, rows, row_cgroup, counts, alive)
        other_slot = self._slot_of.get("other", -1)
        other_row = int(np.searchsorted(slots, other_slot))
        found = other_row < len(slots) and slots[other_row] == other_slot
        other = processes[other_row] if found else None

        # Cgroups: owners with a cgroup, summed per path.
        if len(row_cgroup) and row_cgroup.min() >= 0:  # all of them: no rows to pick
            cg_slots, cg_of_row = distinct(row_cgroup)
            in_cgroups = counts
        else:
            with_cgroup = np.flatnonzero(row_cgroup >= 0)
            cg_slots, cg_of_row = distinct(row_cgroup[with_cgroup])
            in_cgroups = np.take(counts, with_cgroup, axis=0)
        totals = sum_rows(cg_of_row.reshape(-1), in_cgroups, len(cg_slots))
        paths = object_column([self.cgroup_slots.paths[s] for s in cg_slots.tolist()])
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
            pods=object_column([self.cgroup_slots.pods[s] for s in cg_slots.tolist()]),
        )

        # Per node (by requesting CPU node) and the CPU node x page node matrix.
        lowest = int(cpu.min()) if len(cpu) else 0  # -1: a CPU on no known node
        cpu_nodes, cpu_of_row = distinct(cpu - lowest)
        cpu_nodes += lowest
        cells = sum_rows(cpu_of_row, counts[:, : 2 * w], len(cpu_nodes))
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
            nodes.append(self.deltas.node(node_id, acc, list(order_pages)))
        matrix = {
            (cpu_node, self._slot_nodes[k]): [cp[j][k], ce[j][k]]
            for j, cpu_node in enumerate(cpu_list)
            for k in range(node_slots)
            if ce[j][k]
        }
        return Attribution(
            nodes=tuple(nodes),
            matrix=self.deltas.matrix(matrix),
            processes=processes,
            cgroups=cgroups,
            other=other,
        )

    def _counts(
        self, pages: Counts, events: Counts, cpu: npt.NDArray[np.int64]
    ) -> tuple[Counts, Counts]:
        """Each row's counts by node slot, local and remote (see row_counts)."""
        return row_counts(pages, events, cpu, self._slot_nodes, self.layout.order_classes)

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
        slots, of_row = distinct(row_slot)
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
        identity, cgroup_paths, pods = self._identity_and_cgroups(slots, cgroup)
        totals = sum_rows(of_row, counts, n)
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
            pods=pods,
        )
        return columns, slots

    def _identity_and_cgroups(
        self, slots: npt.NDArray[np.intp], cgroup: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_], npt.NDArray[np.object_]]:
        """The identity columns (key, kind, name, pid) of `slots`, and the path and
        pod of each cgroup slot in `cgroup` (-1: none): the last poll's arrays when
        they would be the same (they are never written once handed out)."""
        last = self._last_columns
        state = (self._identity_version, len(self.cgroup_slots.paths))
        if (
            last is not None
            and last[0] == state
            and np.array_equal(last[1], slots)
            and np.array_equal(last[2], cgroup)
        ):
            return last[3], last[4], last[5]
        # Index -1 (no cgroup) picks the None appended after the paths.
        paths = object_column([*self.cgroup_slots.paths, None])[cgroup]
        pods = object_column([*self.cgroup_slots.pods, None])[cgroup]
        identity = self._identity_columns[slots]
        self._last_columns = (state, slots, cgroup, identity, paths, pods)
        return identity, paths, pods

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
            who = self.names.identify(keys[r], comm)
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
        moved = distinct(self._row_slots.slots[moving])[0]
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

    def _new_slot(self, who: Identity) -> int:
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

    def _set_identity(self, slot: int, who: Identity) -> None:
        self._identity_version += 1
        self._identity[slot] = who
        self._identity_columns[slot] = (who.key, who.kind, who.name, who.pid)

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
                self.names.read_leader_name(who)
        for renamed, name in self.names.leader_names.items():
            found = self._slot_of.get(f"pid:{renamed}")
            who = self._identity[found] if found is not None else None
            if found is not None and who is not None and who.name != name:
                self._set_identity(found, replace(who, name=name))

    def forget_pids(self, pids: set[int]) -> None:
        """Drop what is remembered about these pids: each now names a new process."""
        self.forget({f"pid:{p}" for p in pids})
        self.names.forget_pids(pids)

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
