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

from numascope.snapshot import Locality, Workload, WorkloadKind

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
    ) -> None:
        self.node_ids = list(node_ids)
        self.keys, self.kinds, self.names = keys, kinds, names
        self.pids, self.cgroups, self.alive = pids, cgroups, alive
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
    def page_counts(self) -> Counts:
        """Each row's total pages."""
        return self.split[:, 0] + self.split[:, 1]

    @property
    def delta_page_counts(self) -> Counts:
        """Each row's pages in the last interval."""
        return self.delta_split[:, 0] + self.delta_split[:, 1]

    @property
    def moved(self) -> npt.NDArray[np.bool_]:
        """Rows whose delta is not all zero."""
        return np.asarray((self.delta_split != 0).any(axis=1))

    def index(self, key: Any, start: int = 0, stop: int | None = None) -> int:
        """The row of the workload with this key (ValueError when none)."""
        found = np.flatnonzero(self.keys[start:stop] == key)
        if not len(found):
            raise ValueError(f"no workload {key!r}")
        return start + int(found[0])

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
        return [self._row(i) for i in np.asarray(indices, dtype=np.intp).tolist()]

    # ---- building rows --------------------------------------------------------
    def _row(self, i: int) -> Workload:
        found = self._built[i]
        if found is None:
            found = self._built[i] = self._build(i)
        return found

    def _build_all(self) -> None:
        missing = [i for i, w in enumerate(self._built) if w is None]
        if not missing:
            return
        # One conversion per column for every row built, not one per row.
        columns = zip(
            missing,
            self.events[missing].tolist(),
            self.pages[missing].tolist(),
            self.delta_events[missing].tolist(),
            self.delta_pages[missing].tolist(),
            self.split[missing].tolist(),
            self.delta_split[missing].tolist(),
            strict=True,
        )
        # Tens of thousands of new objects would start full collections that
        # walk every snapshot alive; building 10,000 rows took twice as long.
        paused = gc.isenabled()
        gc.disable()
        try:
            for i, ev, pg, dev, dpg, sp, dsp in columns:
                self._built[i] = self._workload(i, ev, pg, dev, dpg, sp, dsp)
        finally:
            if paused:
                gc.enable()

    def _build(self, i: int) -> Workload:
        return self._workload(
            i,
            self.events[i].tolist(),
            self.pages[i].tolist(),
            self.delta_events[i].tolist(),
            self.delta_pages[i].tolist(),
            self.split[i].tolist(),
            self.delta_split[i].tolist(),
        )

    def _workload(
        self,
        i: int,
        events: list[int],
        pages: list[int],
        delta_events: list[int],
        delta_pages: list[int],
        split: list[int],
        delta_split: list[int],
    ) -> Workload:
        present = [k for k, n in enumerate(events) if n]
        nodes = self.node_ids
        return Workload(
            key=self.keys[i],
            kind=WorkloadKind(self.kinds[i]),
            name=self.names[i],
            total=locality_of(nodes, present, pages, events, split),
            delta=locality_of(nodes, present, delta_pages, delta_events, delta_split),
            pid=self.pids[i],
            cgroup=self.cgroups[i],
            alive=bool(self.alive[i]),
        )


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
