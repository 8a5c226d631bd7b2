"""The collector's bookkeeping over maps with bcc's interface (no kernel needed)."""

from __future__ import annotations

from random import Random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from numascope.collectors.owner_table import (
    CTX_EXITED,
    CTX_OVERFLOW,
    DRAINED,
    OwnerKey,
    rows_with_any,
)
from numascope.collectors.page_alloc import PageAllocCollector
from numascope.probes.page_alloc import PageAllocLayout
from tests.fakes.bcc_tables import FakeTables, counts, key
from tests.fakes.owner_objects import owners_of

LAYOUT = PageAllocLayout(node_ids=(0, 1))  # slots: node0 0-3, node1 4-7, unknown 8-11


def collector(tables: FakeTables) -> PageAllocCollector:
    return PageAllocCollector(tables, LAYOUT, settle_seconds=0)


def test_drained_counts_become_running_totals() -> None:
    tables = FakeTables(LAYOUT.node_slots)
    c = collector(tables)
    tables.flush(key(100), counts(tables.slots, {0: (5, 5), 4: (2, 16)}, b"dd"))
    reading = c.read()
    owner = owners_of(reading.table)[OwnerKey(100, 0, 1, 0)]
    assert owner.events[0] == 5 and owner.events[4] == 2 and owner.pages[4] == 16
    assert owner.comm == b"dd"
    # The next flush goes to the other buffer; totals keep growing.
    tables.flush(key(100), counts(tables.slots, {0: (3, 3)}, b"dd"))
    reading = c.read()
    assert owners_of(reading.table)[OwnerKey(100, 0, 1, 0)].events[0] == 8
    assert not tables["owners0"].entries and not tables["owners1"].entries


def test_epoch_alternates_buffers() -> None:
    tables = FakeTables(LAYOUT.node_slots)
    c = collector(tables)
    assert tables["epoch"][0] == 0
    c.read()
    assert tables["epoch"][0] >> 1 == 1, "generation 1: programs write owners1"
    assert tables["epoch"][0] & DRAINED, "after the drain the programs are told so"
    c.read()
    assert tables["epoch"][0] >> 1 == 2, "generation 2: owners0"


def test_counts_made_after_the_flip_wait_for_the_next_poll() -> None:
    tables = FakeTables(LAYOUT.node_slots)
    c = collector(tables)
    c.read()  # programs now write generation 1
    tables.cache(0, key(250), counts(tables.slots, {0: (6, 6)}))
    tables["cpu_state"].states[0].epoch = 1  # made before the coming flip to 2
    assert owners_of(c.read().table)[OwnerKey(250, 0, 1, 0)].events[0] == 6
    # Counts tagged with the epoch the next read flips to were made after that
    # flip (between it and the slot read): they wait for the poll after.
    tables.cache(1, key(251), counts(tables.slots, {0: (9, 9)}))
    tables["cpu_state"].states[1].epoch = 3
    assert OwnerKey(251, 0, 1, 0) not in owners_of(c.read().table)
    assert owners_of(c.read().table)[OwnerKey(251, 0, 1, 0)].events[0] == 9


def test_a_cache_idle_for_two_polls_is_still_read() -> None:
    # Generations, not a flipping bit: a cache made two polls ago writes to the
    # same buffer as now, yet its counts were made before this poll's flip.
    tables = FakeTables(LAYOUT.node_slots)
    c = collector(tables)
    c.read()
    tables.cache(0, key(260), counts(tables.slots, {0: (5, 5)}))
    tables["cpu_state"].states[0].epoch = 1
    c.read()
    assert owners_of(c.read().table)[OwnerKey(260, 0, 1, 0)].events[0] == 5  # generation 3


def test_pending_slot_counts_are_included_once() -> None:
    tables = FakeTables(LAYOUT.node_slots)
    c = collector(tables)
    slot = counts(tables.slots, {0: (7, 7)}, b"app")
    tables.cache(0, key(200), slot)
    assert owners_of(c.read().table)[OwnerKey(200, 0, 1, 0)].events[0] == 7
    # The slot is flushed into the active buffer and emptied: still 7, not 14.
    tables.flush(key(200), counts(tables.slots, {0: (7, 7)}, b"app"))
    tables["cpu_state"].states[0].active = 0
    assert owners_of(c.read().table)[OwnerKey(200, 0, 1, 0)].events[0] == 7


def test_a_slot_mid_flush_is_skipped() -> None:
    tables = FakeTables(LAYOUT.node_slots)
    c = collector(tables)
    tables.cache(1, key(300), counts(tables.slots, {0: (4, 4)}), seq=3)
    assert OwnerKey(300, 0, 1, 0) not in owners_of(c.read().table)


def test_totals_never_go_down_when_pending_counts_move() -> None:
    tables = FakeTables(LAYOUT.node_slots)
    c = collector(tables)
    tables.cache(0, key(400), counts(tables.slots, {0: (9, 9)}))
    assert owners_of(c.read().table)[OwnerKey(400, 0, 1, 0)].events[0] == 9
    # The slot is flushed where the next read does not look (a flush racing the
    # drain): for one poll the 9 events are in neither place.
    tables["cpu_state"].states[0].active = 0
    tables["owners0"].put(key(400), counts(tables.slots, {0: (9, 9)}))
    assert owners_of(c.read().table)[OwnerKey(400, 0, 1, 0)].events[0] == 9, "must not drop to 0"
    # Drained a poll later: counted once, not twice.
    assert owners_of(c.read().table)[OwnerKey(400, 0, 1, 0)].events[0] == 9


def test_overflow_is_counted_as_other_per_cpu_node() -> None:
    tables = FakeTables(LAYOUT.node_slots)
    c = collector(tables)
    tables["overflow"][1] = counts(tables.slots, {4: (6, 6)})  # epoch 0, CPU node 1
    reading = c.read()
    other = owners_of(reading.table)[OwnerKey(0, CTX_OVERFLOW << 16, 0, 1)]
    assert other.events[4] == 6
    assert not any(tables["overflow"][1].events), "drained overflow entries are zeroed"


def test_retired_owners_fold_into_exited_and_keep_totals() -> None:
    tables = FakeTables(LAYOUT.node_slots)
    c = collector(tables)
    tables.flush(key(500, cgroup_id=7), counts(tables.slots, {0: (3, 3)}))
    tables.flush(key(501, cgroup_id=7), counts(tables.slots, {4: (2, 2)}))
    c.read()
    c.retire([OwnerKey(500, 0, 7, 0), OwnerKey(501, 0, 7, 0)])
    owners = owners_of(c.read().table)
    assert OwnerKey(500, 0, 7, 0) not in owners
    folded = owners[OwnerKey(0, CTX_EXITED << 16, 7, 0)]
    assert folded.events[0] == 3 and folded.events[4] == 2


def test_an_owner_still_in_a_slot_is_not_retired() -> None:
    tables = FakeTables(LAYOUT.node_slots)
    c = collector(tables)
    tables.cache(0, key(600), counts(tables.slots, {0: (1, 1)}))
    c.read()
    c.retire([OwnerKey(600, 0, 1, 0)])
    assert OwnerKey(600, 0, 1, 0) in owners_of(c.read().table)


def test_only_owners_whose_totals_moved_are_marked_changed() -> None:
    tables = FakeTables(LAYOUT.node_slots)
    c = collector(tables)
    tables.flush(key(700), counts(tables.slots, {0: (1, 1)}))
    tables.flush(key(701), counts(tables.slots, {0: (1, 1)}))
    c.read()
    tables.flush(key(701), counts(tables.slots, {0: (1, 1)}))
    table = c.read().table
    changed = {table.keys[r].tgid for r in table.rows().tolist() if table.changed[r]}
    assert changed == {701}


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 20), st.integers(1, 40), st.randoms())
def test_rows_with_any_is_any_along_the_row(rows: int, width: int, rng: Random) -> None:
    flags = np.array(
        [[rng.random() < 0.05 for _ in range(width)] for _ in range(rows)], dtype=bool
    ).reshape(rows, width)
    assert rows_with_any(flags).tolist() == flags.any(axis=1).tolist()
