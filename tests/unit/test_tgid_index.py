"""The tgid index finds owner rows as the collector's dict would, or says it missed."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from numascope.collectors.owner_table import KEY_DTYPE
from numascope.collectors.tgid_index import MIN_SIZE, TgidIndex

# (tgid, context, cgroup id, CPU node): tgids that collide modulo the index
# size, several owners per tgid, interrupts under tgid 0.
owner_keys = st.tuples(
    st.sampled_from([0, 1, 7, MIN_SIZE + 7, 2 * MIN_SIZE + 7, 4242, 99999]),
    st.sampled_from([0, 1 << 16 | 3, 2 << 16 | 9]),
    st.sampled_from([0, 1, 1 << 40]),
    st.sampled_from([0, 1, 3]),
)


def as_keys(owners: list[tuple[int, int, int, int]]) -> np.ndarray:
    return np.array([(*k, 0) for k in owners], dtype=KEY_DTYPE)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(owner_keys, unique=True, max_size=40),
    st.lists(st.booleans(), min_size=40, max_size=40),
    st.lists(owner_keys, max_size=40),
)
def test_a_found_row_holds_exactly_the_key_and_a_lone_owner_is_found(
    held_keys: list[tuple[int, int, int, int]],
    retired: list[bool],
    asked: list[tuple[int, int, int, int]],
) -> None:
    index = TgidIndex()
    live = np.ones(len(held_keys), dtype=bool)
    for row, key in enumerate(held_keys):
        index.add(key[0], row)
    for row, key in enumerate(held_keys):
        if retired[row]:
            index.remove(key[0], row)
            live[row] = False
    held = as_keys(held_keys)
    queries = as_keys(asked + held_keys)
    rows = index.rows_of(queries, held, live)
    row_of = {k: r for r, k in enumerate(held_keys) if live[r]}
    for query, row in zip(asked + held_keys, rows.tolist(), strict=True):
        if row >= 0:
            assert held_keys[row] == query and live[row]
    # The newest owner to take a slot (by tgid modulo the size) is found while
    # its row is live; older owners of that slot are misses, for the dict.
    newest: dict[int, int] = {}
    for row, key in enumerate(held_keys):
        newest[key[0] % MIN_SIZE] = row
    for slot_row in newest.values():
        if live[slot_row]:
            key = held_keys[slot_row]
            found = index.rows_of(as_keys([key]), held, live)
            assert found.tolist() == [row_of[key]]


def test_the_index_grows_with_the_owners_and_still_finds_them() -> None:
    index = TgidIndex()
    owners = [(1000 + i, 0, 5, 0) for i in range(3 * MIN_SIZE)]
    held = as_keys(owners)
    live = np.zeros(len(owners), dtype=bool)
    for row, key in enumerate(owners):  # as the collector fills its rows
        live[row] = True
        if index.room_for(row + 1):
            index.add(key[0], row)
        else:
            index.reindex(held["tgid"][: row + 1], live[: row + 1])
    rows = index.rows_of(held, held, live)
    assert rows.tolist() == list(range(len(owners)))


def test_nothing_held_finds_nothing() -> None:
    index = TgidIndex()
    keys = as_keys([(5, 0, 0, 0)])
    assert index.rows_of(keys, keys[:0], np.zeros(0, dtype=bool)).tolist() == [-1]
