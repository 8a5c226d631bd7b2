"""Workloads kept as columns, with a `Workload` object built only for a row asked for.

A live collector attributes thousands of workloads per poll, and a Python object
per workload (two Localities, four dicts) cost more than all the rest of a poll
together. `WorkloadColumns` is a `Sequence[Workload]`, so every view reads it like
the tuple other sources give; a view that reads a few rows (the policy's
findings, the exporter's named workloads, one key) pays for those, and the
arrays let the policy and the exporter's label budget rank and sum every row
without building any.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from numascope.snapshot.model import Locality, Workload

Counts = npt.NDArray[np.int64]
Objects = npt.NDArray[np.object_]


def counts_width(node_slots: int) -> int:
    """Columns of a row of counts: pages and events per node slot, and the split."""
    return 2 * node_slots + 4


class WorkloadColumns(Sequence[Workload]):
    """Rows of workloads: identity columns and, per row, counts by node slot.

    `totals` holds each row's running totals, `deltas` what the last interval
    added, both laid out as `counts_width` columns: pages by node slot, events
    by node slot (a slot per entry of `node_ids`), then local pages, remote
    pages, local events and remote events; `pages`, `events` and `split` (and
    `delta_*`) are views of those parts. A node slot counts in a row's
    Localities once the row's total has an event there, as the kernel's own
    counters do. Immutable: the arrays are the table's own and never written."""

    __slots__ = (
        "_built",
        "alive",
        "cgroups",
        "counts",
        "delta_counts",
        "delta_events",
        "delta_pages",
        "delta_split",
        "events",
        "keys",
        "kinds",
        "names",
        "node_ids",
        "pages",
        "pids",
        "pods",
        "split",
    )

    def __init__(
        self,
        node_ids: Sequence[int],
        *,
        keys: Objects,
        kinds: Objects,
        names: Objects,
        pids: Objects,
        cgroups: Objects,
        alive: npt.NDArray[np.bool_],
        totals: Counts,
        deltas: Counts,
        pods: Objects | None = None,
    ) -> None:
        self.node_ids = list(node_ids)
        self.keys, self.kinds, self.names = keys, kinds, names
        self.pids, self.cgroups, self.alive = pids, cgroups, alive
        # Each row's PodIdentity (or None); no column: no row is in a pod.
        self.pods = pods
        w = len(self.node_ids)
        self.counts, self.delta_counts = totals, deltas
        self.pages, self.events, self.split = (
            totals[:, :w],
            totals[:, w : 2 * w],
            totals[:, 2 * w :],
        )
        self.delta_pages, self.delta_events = deltas[:, :w], deltas[:, w : 2 * w]
        self.delta_split = deltas[:, 2 * w :]
        self._built: list[Workload | None] = [None] * len(keys)

    @classmethod
    def of(cls, workloads: Sequence[Workload]) -> WorkloadColumns:
        """`workloads` as columns: itself when it is columns already, else read
        from the objects (a replayed capture, FreeBSD), with a node slot for
        every node their counts name. A row of the result is the object given."""
        if isinstance(workloads, WorkloadColumns):
            return workloads
        nodes = sorted(
            {
                n
                for w in workloads
                for loc in (w.total, w.delta)
                for n in (*loc.pages_by_node, *loc.events_by_node)
            }
        )
        width = len(nodes)
        slot = {n: k for k, n in enumerate(nodes)}

        def counts(loc: Locality) -> list[int]:
            row = [0] * (2 * width)
            for n, pages in loc.pages_by_node.items():
                row[slot[n]] = pages
            for n, events in loc.events_by_node.items():
                row[width + slot[n]] = events
            return [*row, loc.local_pages, loc.remote_pages, loc.local_events, loc.remote_events]

        shape = (len(workloads), counts_width(width))
        totals = np.array([counts(w.total) for w in workloads], dtype=np.int64).reshape(shape)
        deltas = np.array([counts(w.delta) for w in workloads], dtype=np.int64).reshape(shape)
        table = cls(
            nodes,
            keys=object_column([w.key for w in workloads]),
            kinds=object_column([w.kind for w in workloads]),
            names=object_column([w.name for w in workloads]),
            pids=object_column([w.pid for w in workloads]),
            cgroups=object_column([w.cgroup for w in workloads]),
            alive=np.array([w.alive for w in workloads], dtype=bool),
            totals=totals,
            deltas=deltas,
            pods=object_column([w.pod for w in workloads]),
        )
        table._built = list(workloads)
        return table

    def __len__(self) -> int:
        return len(self._built)

    @overload
    def __getitem__(self, index: int) -> Workload: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Workload, ...]: ...

    def __getitem__(self, index: int | slice) -> Workload | tuple[Workload, ...]:
        if isinstance(index, slice):
            return tuple(self._row(i) for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("workload row out of range")
        return self._row(index)

    def __iter__(self) -> Iterator[Workload]:
        self._build_all()
        return iter(self._built)  # type: ignore[arg-type]  # every row built above

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # like the tuples it stands for

    def __repr__(self) -> str:
        return f"WorkloadColumns({len(self)} rows)"

    # ---- columns the policy and the views read without building rows ---------
    @property
    def delta_page_counts(self) -> Counts:
        """Each row's pages in the last interval."""
        return self.delta_split[:, 0] + self.delta_split[:, 1]

    @property
    def moved(self) -> npt.NDArray[np.bool_]:
        """Rows whose delta is not all zero."""
        return np.asarray((self.delta_split != 0).any(axis=1))

    def get(self, key: str) -> Workload | None:
        """The workload with this key, if present (no other row is built)."""
        found = np.flatnonzero(self.keys == key)
        return self._row(int(found[0])) if len(found) else None

    def summed(self, mask: npt.NDArray[np.bool_]) -> Locality:
        """The running totals of the rows in `mask`, summed: what summing their
        objects' totals gives (a node is in it when one of them has an event
        there), without building them."""
        events = self.events[mask]
        pages = np.where(events != 0, self.pages[mask], 0).sum(axis=0).tolist()
        present = np.flatnonzero((events != 0).any(axis=0)).tolist()
        ev = events.sum(axis=0).tolist()
        return locality_of(self.node_ids, present, pages, ev, self.split[mask].sum(axis=0).tolist())

    def rows(self, indices: Sequence[int] | npt.NDArray[np.intp]) -> list[Workload]:
        """The workloads of these rows (built if they were not yet)."""
        wanted = np.asarray(indices, dtype=np.intp).tolist()
        self._build([i for i in wanted if self._built[i] is None])
        return [self._row(i) for i in wanted]

    # ---- building rows --------------------------------------------------------
    def _row(self, i: int) -> Workload:
        found = self._built[i]
        if found is None:
            self._build([i])
            found = self._built[i]
            assert found is not None
        return found

    def _build_all(self) -> None:
        self._build([i for i, w in enumerate(self._built) if w is None])

    def _build(self, rows: list[int]) -> None:
        """Build these rows: one conversion per matrix for all of them."""
        if not rows:
            return
        w = len(self.node_ids)
        nodes = self.node_ids
        pods = self.pods if self.pods is not None else np.full(len(self), None, dtype=object)
        # Tens of thousands of new objects would start full collections that
        # walk every snapshot alive; building 10,000 rows took twice as long.
        paused = gc.isenabled()
        gc.disable()
        try:
            for i, total, delta in zip(
                rows, self.counts[rows].tolist(), self.delta_counts[rows].tolist(), strict=True
            ):
                present = [k for k in range(w) if total[w + k]]
                self._built[i] = Workload(
                    key=self.keys[i],
                    kind=self.kinds[i],
                    name=self.names[i],
                    total=locality_of(nodes, present, total[:w], total[w:], total[2 * w :]),
                    delta=locality_of(nodes, present, delta[:w], delta[w:], delta[2 * w :]),
                    pid=self.pids[i],
                    cgroup=self.cgroups[i],
                    alive=bool(self.alive[i]),
                    pod=pods[i],
                )
        finally:
            if paused:
                gc.enable()


def object_column(items: list[Any]) -> Objects:
    """A 1-D object array of `items` (np.array would make tuples into rows)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def locality_of(
    nodes: list[int], present: list[int], pages: list[int], events: list[int], split: list[int]
) -> Locality:
    """One row as a Locality: its counts by node slot (the slots in `present`),
    and its local pages, remote pages, local events and remote events."""
    lp, rp, le, re = split
    return Locality(
        {nodes[k]: pages[k] for k in present},
        {nodes[k]: events[k] for k in present},
        lp,
        rp,
        le,
        re,
    )


def as_new_columns(rows: Sequence[Workload]) -> WorkloadColumns:
    """`rows` as columns with no row built yet, as a poll hands them over (for tests and
    benchmarks that start from rows)."""
    t = WorkloadColumns.of(rows)
    return WorkloadColumns(
        t.node_ids,
        keys=t.keys,
        kinds=t.kinds,
        names=t.names,
        pids=t.pids,
        cgroups=t.cgroups,
        alive=t.alive,
        totals=t.counts,
        deltas=t.delta_counts,
        pods=t.pods,
    )
