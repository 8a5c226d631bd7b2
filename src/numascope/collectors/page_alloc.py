"""Read the page-allocation probe's maps into running totals per owner.

The collector takes the probe's tables (a `bcc.BPF` object, or anything with the
same table interface) so it runs in tests without a kernel.

Protocol per poll, matching page_alloc.bpf.c:
1. flip `epoch`, so programs flush into the other owners buffer;
2. wait for programs that read the old epoch to finish (they run with
   preemption off and last microseconds; `settle_seconds` is ample); meanwhile
   each busy CPU's first allocation after the flip moves its cached counts into
   the old buffer, so the drain's boundary is the flip on every busy CPU;
3. drain the idle buffer and its overflow entries into running totals: nothing
   writes there any more, so nothing is lost between reading and deleting;
4. add what each CPU still holds in its cached slot ("pending") on top.

Pending counts are read while programs run, so a poll can see a little less
than the previous one (a slot flushed after step 3 is in neither place until the
next poll). Reported totals are therefore the element-wise maximum of the last
report and the new reading: counters only go up, and catch up a poll later.
They are kept as one array, with the few rows a report counted ahead of the
drains (their pending counts, not drained yet) noting by how much: a drain
adds to every other row as it is, and to those only what exceeds that.

Totals are kept as numpy arrays, one row per owner, so a poll costs a few
array operations whatever the number of owners; the drain reads the kernel map
into one contiguous buffer (probes.map_batch) rather than an object per entry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from numascope.collectors.maps import MapTables
from numascope.collectors.owner_drain import OwnerDrain
from numascope.collectors.owner_table import (
    COMM_DTYPE,
    CTX_EXITED,
    CTX_OVERFLOW,
    DRAINED,
    KEY_DTYPE,
    Counts,
    OwnerKey,
    OwnerTable,
    counts_view_dtype,
    new_serials,
    rows_with_any,
    trim_comm,
    value_dtype,
)
from numascope.collectors.tgid_index import TgidIndex
from numascope.probes.page_alloc import PageAllocLayout


@dataclass
class PageAllocReading:
    """Monotonic running totals per owner after one poll."""

    table: OwnerTable
    drained_entries: int
    pending_owners: int
    seconds: float


def _pack(tgid: int, context: int, cgroup_id: int, cpu_node: int) -> bytes:
    return np.array([(tgid, context, cgroup_id, cpu_node, 0)], dtype=KEY_DTYPE).tobytes()


@dataclass
class PageAllocCollector:
    tables: MapTables
    layout: PageAllocLayout
    settle_seconds: float = 0.002
    _generation: int = field(default=0, init=False)
    peak_entries: int = 0
    _last_pending: set[OwnerKey] = field(default_factory=set, init=False)

    @property
    def _epoch(self) -> int:
        """The owners buffer programs write now (0 or 1)."""
        return self._generation & 1

    def __post_init__(self) -> None:
        slots = self.layout.count_slots
        self._values = value_dtype(slots)
        self._value_counts = counts_view_dtype(slots)
        self._row: dict[bytes, int] = {}  # packed owner_key -> row
        self._by_tgid = TgidIndex()
        self._keys: list[OwnerKey] = []
        self._abs_comm = np.zeros(0, dtype=COMM_DTYPE)
        self._rep_comm = np.zeros(0, dtype=COMM_DTYPE)
        self._free: list[int] = []
        # Counts per row as reported, events by slot then pages by slot; and,
        # for a row reported ahead of the drains, by how much (see _report).
        self._totals = np.zeros((0, 2 * slots), dtype=np.int64)
        self._ahead: dict[int, Counts] = {}
        self._live = np.zeros(0, dtype=bool)
        self._columns = np.zeros(0, dtype=KEY_DTYPE)
        self._changed = np.zeros(0, dtype=bool)
        self._renamed = np.zeros(0, dtype=bool)
        self._serials = np.zeros(0, dtype=np.int64)
        self._pending_rows: list[int] = []
        self._drainer = OwnerDrain(self._values)

    # ---- rows ---------------------------------------------------------------
    def _grow(self, need: int) -> None:
        have = len(self._live)
        if need <= have:
            return
        size = max(need, 2 * have, 64)
        extra = size - have
        width = 2 * self.layout.count_slots
        self._totals = np.concatenate([self._totals, np.zeros((extra, width), dtype=np.int64)])
        self._live = np.concatenate([self._live, np.zeros(extra, dtype=bool)])
        self._abs_comm = np.concatenate([self._abs_comm, np.zeros(extra, dtype=COMM_DTYPE)])
        self._rep_comm = np.concatenate([self._rep_comm, np.zeros(extra, dtype=COMM_DTYPE)])
        self._columns = np.concatenate([self._columns, np.zeros(extra, dtype=KEY_DTYPE)])
        self._changed = np.concatenate([self._changed, np.zeros(extra, dtype=bool)])
        self._renamed = np.concatenate([self._renamed, np.zeros(extra, dtype=bool)])
        self._serials = np.concatenate([self._serials, np.zeros(extra, dtype=np.int64)])

    def _new_row(self, packed: bytes, key: OwnerKey) -> int:
        if self._free:
            row = self._free.pop()
            self._keys[row] = key
        else:
            row = len(self._keys)
            self._grow(row + 1)
            self._keys.append(key)
        self._abs_comm[row] = self._rep_comm[row] = b""
        self._row[packed] = row
        self._live[row] = True
        self._columns[row] = (*key, 0)
        if self._by_tgid.room_for(len(self._row)):
            self._by_tgid.add(key.tgid, row)
        else:
            n = len(self._keys)
            self._by_tgid.reindex(self._columns["tgid"][:n], self._live[:n])
        self._serials[row] = new_serials(1)[0]
        return row

    def _rows_for(self, keys: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
        """Row of each key, adding rows for owners not seen before.

        The tgid index answers most keys with a few array operations; the rest
        (a process's second owner, interrupts, new owners) go through the dict,
        a tenth of a microsecond each once the dict is large."""
        n = len(self._keys)
        rows = self._by_tgid.rows_of(keys, self._columns[:n], self._live[:n])
        missed = np.flatnonzero(rows < 0)
        if not len(missed):
            return rows
        packed = keys[missed].view(f"V{KEY_DTYPE.itemsize}").tolist()
        get = self._row.get
        for i, p in zip(missed.tolist(), packed, strict=True):
            row = get(p)
            if row is None:
                k = keys[i]
                key = OwnerKey(
                    int(k["tgid"]), int(k["context"]), int(k["cgroup_id"]), int(k["cpu_node"])
                )
                row = self._new_row(p, key)
            rows[i] = row
        return rows

    # ---- one poll -----------------------------------------------------------
    def read(self, at_flip: Callable[[], object] | None = None) -> PageAllocReading:
        """Poll once; `at_flip` runs right after the epoch flips (to read other
        counters at the same boundary as this poll's drain)."""
        started = time.monotonic()
        old = self._epoch
        self._generation += 1
        epoch_table = self.tables["epoch"]
        epoch_table[0] = epoch_table.Leaf(self._generation << 1)
        if at_flip is not None:
            at_flip()
        time.sleep(self.settle_seconds)
        self._changed[:] = False
        self._renamed[:] = False
        drained = self._drain(self.tables[f"owners{old}"])
        self.peak_entries = max(self.peak_entries, drained)
        self._drain_overflow(old)
        # Tell the programs the old buffer is drained: a CPU idle since the flip
        # now closes its cache into the current buffer (read next poll) rather
        # than into the drained one (read only two polls later).
        epoch_table[0] = epoch_table.Leaf(self._generation << 1 | DRAINED)
        # A CPU idle through the settle may have closed its cache into the old
        # buffer while it was being drained; sweep it once more now that no
        # program sends anything there (those counts were made before the flip).
        time.sleep(self.settle_seconds / 4)
        drained += self._drain(self.tables[f"owners{old}"])
        self._drain_overflow(old)
        pending = self._pending()
        self._report(pending)
        return PageAllocReading(
            table=self.table(),
            drained_entries=drained,
            pending_owners=len(pending[0]),
            seconds=time.monotonic() - started,
        )

    def _absorb(self, keys: npt.NDArray[Any], values: npt.NDArray[Any]) -> None:
        if not len(keys):
            return
        rows = self._rows_for(keys)
        # Keys of one drain are distinct, so a plain fancy-index add is exact;
        # the kernel's u64 counts read as int64 (exact below 2**63).
        counts = values.view(self._value_counts)["counts"].view(np.int64)
        self._totals[rows] += counts
        went_up = rows_with_any(counts != 0)
        if self._ahead:
            # A report already counted part of these (a CPU's cached slot, read
            # as pending): the totals rise only by what exceeds it.
            for i in np.flatnonzero(np.isin(rows, list(self._ahead))).tolist():
                row = int(rows[i])
                covered = np.minimum(counts[i], self._ahead[row])
                self._totals[row] -= covered
                self._ahead[row] -= covered
                went_up[i] = bool((counts[i] > covered).any())
                if not self._ahead[row].any():
                    del self._ahead[row]
        self._changed[rows[went_up]] = True
        names = values["comm"]
        named = names != b""
        self._abs_comm[rows[named]] = names[named]

    def _drain(self, table: Any) -> int:
        keys, values = self._drainer.read_and_delete(table)
        self._absorb(keys, values)
        return len(keys)

    def _drain_overflow(self, epoch: int) -> None:
        table = self.tables["overflow"]
        for node_slot in range(self.layout.node_slots):
            index = epoch * self.layout.node_slots + node_slot
            value = table[index]
            if not any(value.events):
                continue
            cpu_node = (
                self.layout.node_ids[node_slot] if node_slot < len(self.layout.node_ids) else -1
            )
            keys = np.array([(0, CTX_OVERFLOW << 16, 0, cpu_node, 0)], dtype=KEY_DTYPE)
            values = np.array([(b"", list(value.events), list(value.pages))], dtype=self._values)
            self._absorb(keys, values)
            table[index] = table.Leaf()

    def _pending(self) -> tuple[list[int], Counts, list[bytes]]:
        """What the CPUs' slots hold: rows, counts (events, then pages) and names
        (one per CPU)."""
        rows: list[int] = []
        counts: list[list[int]] = []
        names: list[bytes] = []
        for state in self.tables["cpu_state"][0]:
            # An odd sequence number: that CPU is flushing right now; its counts
            # are moving into the hash and will be drained next poll.
            if not state.active or state.seq & 1:
                continue
            # A slot already in the new epoch holds only counts made after the
            # flip: they belong to the next poll, as the kernel counters read at
            # the flip say. It is read then (drained, or still cached).
            if getattr(state, "epoch", None) == self._generation:
                continue
            o = state.owner
            packed = _pack(o.tgid, o.context, o.cgroup_id, o.cpu_node)
            row = self._row.get(packed)
            if row is None:
                row = self._new_row(packed, OwnerKey(o.tgid, o.context, o.cgroup_id, o.cpu_node))
            rows.append(row)
            counts.append([*state.counts.events, *state.counts.pages])
            names.append(trim_comm(state.counts.comm))
        width = 2 * self.layout.count_slots
        return rows, np.array(counts, dtype=np.int64).reshape(-1, width), names

    def _report(self, pending: tuple[list[int], Counts, list[bytes]]) -> None:
        """Count the CPUs' cached slots on top of the drains: a row's report is
        the maximum of its last one and its drained counts plus what is cached
        now, so it rises by what the cache holds beyond what the last report
        already counted ahead of the drains."""
        rows, counts, names = pending
        n = len(self._keys)
        cached: dict[int, Counts] = {}
        for row, row_counts in zip(rows, counts, strict=True):  # one slot per CPU
            cached[row] = cached[row] + row_counts if row in cached else row_counts.copy()
        for row, row_counts in cached.items():
            ahead = self._ahead.get(row)
            over = row_counts if ahead is None else np.maximum(row_counts - ahead, 0)
            if over.any():
                self._totals[row] += over
                self._changed[row] = True
                self._ahead[row] = row_counts if ahead is None else np.maximum(ahead, row_counts)
        # The slot's name is the newest (it follows exec); drained names are older.
        moved = self._changed[:n]
        drained = np.r_[np.array(self._pending_rows, dtype=np.intp), np.flatnonzero(moved)]
        self._rename(drained, self._abs_comm[drained])
        self._rename(np.array(rows, dtype=np.intp), np.array(names, dtype=COMM_DTYPE))
        self._pending_rows = rows
        self._last_pending = {self._keys[r] for r in rows}

    def _rename(self, rows: npt.NDArray[np.intp], names: npt.NDArray[np.bytes_]) -> None:
        differs = (names != b"") & (self._rep_comm[rows] != names)
        self._rep_comm[rows[differs]] = names[differs]
        self._renamed[rows[differs]] = True

    def table(self) -> OwnerTable:
        """The owner columns as they stand now (after any `retire`)."""
        n, slots = len(self._keys), self.layout.count_slots
        return OwnerTable(
            self._keys,
            self._columns[:n],
            self._live[:n],
            self._totals[:n, :slots],
            self._totals[:n, slots:],
            self._rep_comm[:n],
            self._changed[:n],
            self._renamed[:n],
            self._serials[:n],
        )

    def owner_keys(self) -> list[OwnerKey]:
        """Every owner with a row of running totals."""
        return [self._keys[row] for row in self._row.values()]

    def retire(self, keys: Iterable[OwnerKey]) -> None:
        """Fold long-exited owners into one "exited" owner per (cgroup, CPU node).

        Totals per node and cgroup are unchanged; only the per-process rows go.
        An owner still cached in a CPU's slot stays: its counts have yet to be
        drained, and folding them now would count them twice.
        """
        rows: list[int] = []
        targets: list[int] = []
        for key in keys:
            if key in self._last_pending:
                continue
            row = self._row.pop(_pack(*key), None)
            if row is None:
                continue
            self._by_tgid.remove(key.tgid, row)
            folded_key = OwnerKey(0, CTX_EXITED << 16, key.cgroup_id, key.cpu_node)
            folded_packed = _pack(*folded_key)
            into = self._row.get(folded_packed)
            if into is None:
                into = self._new_row(folded_packed, folded_key)
            rows.append(row)
            targets.append(into)
        if not rows:
            return
        # One array operation per column, however many rows go (a spawn storm
        # retires thousands per poll).
        src, dst = np.array(rows, dtype=np.intp), np.array(targets, dtype=np.intp)
        np.add.at(self._totals, dst, self._totals[src])
        self._totals[src] = 0
        # The folded rows take no drains (no program writes their key), so what
        # a retired row was counted ahead of its drains has nowhere to go.
        for row in rows:
            self._ahead.pop(row, None)
        self._changed[dst] = True
        self._live[src] = False
        self._abs_comm[src] = self._rep_comm[src] = b""
        self._free.extend(rows)
