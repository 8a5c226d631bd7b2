"""A workload book's deltas are what each slot's totals added since it was last seen."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from numascope.collectors.workload_book import WorkloadBook

WIDTH = 3

polls = st.lists(
    st.tuples(
        # Slots in the poll (every slot from 0 up, or a scattered few), and one forgotten after.
        st.one_of(st.integers(0, 12).map(range), st.sets(st.integers(0, 40), max_size=12)),
        st.integers(0, 40),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=100, deadline=None)
@given(polls)
def test_deltas_follow_each_slots_totals(rounds: list[tuple[range | set[int], int]]) -> None:
    book = WorkloadBook(WIDTH)
    last: dict[int, list[int]] = {}  # the reference: totals of the slots in the last poll
    for number, (present, forgotten) in enumerate(rounds):
        slots = np.array(sorted(present), dtype=np.intp)
        totals = np.array(
            [[10 * number + s + c for c in range(WIDTH)] for s in slots.tolist()], dtype=np.int64
        ).reshape(len(slots), WIDTH)
        got = book.deltas(slots, totals).tolist()
        for slot, row, delta in zip(slots.tolist(), totals.tolist(), got, strict=True):
            before = last.get(slot, [0] * WIDTH)
            assert delta == [a - b for a, b in zip(row, before, strict=True)]
        last = dict(zip(slots.tolist(), totals.tolist(), strict=True))
        book.forget(forgotten)
        last.pop(forgotten, None)
