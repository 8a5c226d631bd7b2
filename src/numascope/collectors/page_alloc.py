"""Read the page-allocation probe's maps into running totals per owner.

The collector takes the probe's tables (a `bcc.BPF` object, or anything with the
same table interface) so it runs in tests without a kernel.

Protocol per poll, matching page_alloc.bpf.c:
1. flip `epoch`, so programs flush into the other owners buffer;
2. wait for programs that read the old epoch to finish (they run with
   preemption off and last microseconds; `settle_seconds` is ample);
3. drain the idle buffer and its overflow entries into running totals: nothing
   writes there any more, so nothing is lost between reading and deleting;
4. add what each CPU still holds in its cached slot ("pending") on top.

Pending counts are read while programs run, so a poll can see a little less
than the previous one (a slot flushed after step 3 is in neither place until the
next poll). Reported totals are therefore the element-wise maximum of the last
report and the new reading: counters only go up, and catch up a poll later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from numascope.probes.page_alloc import PageAllocLayout


class OwnerKey(NamedTuple):
    tgid: int
    context: int  # kind << 16 | irq number or softirq vector
    cgroup_id: int
    cpu_node: int

    @property
    def kind(self) -> int:
        return self.context >> 16

    @property
    def context_id(self) -> int:
        return self.context & 0xFFFF


# Context kinds, as in the C program.
CTX_TASK = 0
CTX_HARDIRQ = 1
CTX_SOFTIRQ = 2
# User-space-only kinds: owners the hash had no room for, and processes that
# exited long ago, folded together so memory stays bounded on a busy host.
CTX_OVERFLOW = 0xFF
CTX_EXITED = 0xFE


@dataclass
class OwnerTotals:
    """Running totals for one owner, per counter slot (page node x order class)."""

    events: list[int]
    pages: list[int]
    comm: bytes = b""

    def add(self, events: Iterable[int], pages: Iterable[int]) -> None:
        self.events = [a + b for a, b in zip(self.events, events, strict=True)]
        self.pages = [a + b for a, b in zip(self.pages, pages, strict=True)]


@dataclass
class PageAllocReading:
    """Monotonic running totals per owner after one poll."""

    owners: dict[OwnerKey, OwnerTotals]
    drained_entries: int
    pending_owners: int
    seconds: float


@dataclass
class PageAllocCollector:
    tables: Any
    layout: PageAllocLayout
    settle_seconds: float = 0.002
    _epoch: int = 0
    _absorbed: dict[OwnerKey, OwnerTotals] = field(default_factory=dict)
    _reported: dict[OwnerKey, OwnerTotals] = field(default_factory=dict)
    peak_entries: int = 0
    _last_pending: set[OwnerKey] = field(default_factory=set)

    def _zero(self) -> list[int]:
        return [0] * self.layout.count_slots

    def read(self, at_flip: Callable[[], object] | None = None) -> PageAllocReading:
        """Poll once; `at_flip` runs right after the epoch flips (to read other
        counters at the same boundary as this poll's drain)."""
        started = time.monotonic()
        old = self._epoch
        self._epoch ^= 1
        epoch_table = self.tables["epoch"]
        epoch_table[0] = epoch_table.Leaf(self._epoch)
        if at_flip is not None:
            at_flip()
        time.sleep(self.settle_seconds)
        drained = self._drain(self.tables[f"owners{old}"])
        self.peak_entries = max(self.peak_entries, drained)
        self._drain_overflow(old)
        pending = self._pending()
        self._last_pending = set(pending)
        self._report(pending)
        return PageAllocReading(
            owners=self._reported,
            drained_entries=drained,
            pending_owners=len(pending),
            seconds=time.monotonic() - started,
        )

    def _absorb(
        self, key: OwnerKey, events: Iterable[int], pages: Iterable[int], comm: bytes
    ) -> None:
        totals = self._absorbed.get(key)
        if totals is None:
            totals = self._absorbed[key] = OwnerTotals(self._zero(), self._zero())
        totals.add(events, pages)
        if comm:
            totals.comm = comm

    def _drain(self, table: Any) -> int:
        count = 0
        for k, v in _drain_items(table):
            key = OwnerKey(k.tgid, k.context, k.cgroup_id, k.cpu_node)
            self._absorb(key, v.events, v.pages, bytes(v.comm).split(b"\0", 1)[0])
            count += 1
        return count

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
            self._absorb(
                OwnerKey(0, CTX_OVERFLOW << 16, 0, cpu_node), value.events, value.pages, b""
            )
            table[index] = table.Leaf()

    def _pending(self) -> dict[OwnerKey, OwnerTotals]:
        pending: dict[OwnerKey, OwnerTotals] = {}
        for state in self.tables["cpu_state"][0]:
            # An odd sequence number: that CPU is flushing right now; its counts
            # are moving into the hash and will be drained next poll.
            if not state.active or state.seq & 1:
                continue
            o = state.owner
            key = OwnerKey(o.tgid, o.context, o.cgroup_id, o.cpu_node)
            entry = pending.get(key)
            if entry is None:
                entry = pending[key] = OwnerTotals(self._zero(), self._zero())
            entry.add(state.counts.events, state.counts.pages)
            entry.comm = bytes(state.counts.comm).split(b"\0", 1)[0]
        return pending

    def _report(self, pending: dict[OwnerKey, OwnerTotals]) -> None:
        for key in self._absorbed.keys() | pending.keys():
            absorbed = self._absorbed.get(key)
            extra = pending.get(key)
            events = list(absorbed.events) if absorbed else self._zero()
            pages = list(absorbed.pages) if absorbed else self._zero()
            if extra is not None:
                events = [a + b for a, b in zip(events, extra.events, strict=True)]
                pages = [a + b for a, b in zip(pages, extra.pages, strict=True)]
            previous = self._reported.get(key)
            # The slot's name is the newest (it follows exec); drained names are older.
            comm = (extra.comm if extra else b"") or (absorbed.comm if absorbed else b"")
            if previous is None:
                self._reported[key] = OwnerTotals(events, pages, comm)
                continue
            previous.events = [max(a, b) for a, b in zip(previous.events, events, strict=True)]
            previous.pages = [max(a, b) for a, b in zip(previous.pages, pages, strict=True)]
            if comm:
                previous.comm = comm

    def retire(self, keys: Iterable[OwnerKey]) -> None:
        """Fold long-exited owners into one "exited" owner per (cgroup, CPU node).

        Totals per node and cgroup are unchanged; only the per-process rows go.
        An owner still cached in a CPU's slot stays: its counts have yet to be
        drained, and folding them now would count them twice.
        """
        for key in keys:
            if key in self._last_pending:
                continue
            reported = self._reported.pop(key, None)
            absorbed = self._absorbed.pop(key, None)
            if reported is None:
                continue
            folded = OwnerKey(0, CTX_EXITED << 16, key.cgroup_id, key.cpu_node)
            for table, totals in ((self._reported, reported), (self._absorbed, absorbed)):
                if totals is None:
                    continue
                into = table.get(folded)
                if into is None:
                    table[folded] = OwnerTotals(list(totals.events), list(totals.pages))
                else:
                    into.add(totals.events, totals.pages)


def _drain_items(table: Any) -> Iterator[tuple[Any, Any]]:
    """Read and delete every entry; batched where the kernel and bcc allow."""
    try:
        yield from table.items_lookup_and_delete_batch()
        return
    except (AttributeError, NotImplementedError):
        pass
    except Exception as exc:  # bcc raises bare Exception when the kernel lacks batch ops
        if "batch" not in str(exc).lower():
            raise
    items = list(table.items())
    for k, _ in items:
        table.pop(k, None)
    yield from items
