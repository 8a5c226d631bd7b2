"""The ledger behind every budgeted family: series only go up, and add up to the host.

Rows churn as on a live host: they are born, grow at their own pace, get named
or folded at random, exit and are retired (their whole total moved into an
"[exited processes]" row that is always folded), or shed part of their total
to it (an owner still cached on a CPU is retired later than its siblings).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from numascope.exporters.prometheus.budgeted import BudgetedCounters
from numascope.exporters.prometheus.ledger import CounterLedger, LedgerView
from tests.fixtures import export_streams
from tests.unit.per_row_ledger import PerRowLedger

EXITED = "exited"
COLUMNS = ("a", "b")

# One step of one row: (row id, pages added to column a, to column b, what happens).
Event = tuple[int, int, int, str]
events = st.lists(
    st.tuples(
        st.integers(0, 7),
        st.integers(0, 50),
        st.integers(0, 50),
        st.sampled_from(["grow", "grow", "grow", "retire", "shed"]),
    ),
    max_size=12,
)


def run(steps: list[list[Event]], named_draws: list[list[bool]]) -> list[tuple[LedgerView, int]]:
    """Drive a ledger; each view with the host total (sum over every row) at its step."""
    rows: dict[Hashable, np.ndarray] = {}
    # Short-lived frozen series and few of them, so expiry and the cap both happen.
    ledger = CounterLedger(linger=3, max_lingering=2)
    out = []
    for now, (step, draws) in enumerate(zip(steps, named_draws, strict=False)):
        for row, a, b, what in step:
            key = f"pid:{row}"
            total = rows.setdefault(key, np.zeros(2, dtype=np.int64))
            total += (a, b)
            exited = rows.setdefault(EXITED, np.zeros(2, dtype=np.int64))
            if what == "retire":
                exited += rows.pop(key)
            elif what == "shed":
                moved = total // 2
                total -= moved
                exited += moved
        keys = list(rows)
        totals = np.array([rows[k] for k in keys], dtype=np.int64).reshape(len(keys), 2)
        named = [i for i, k in enumerate(keys) if k != EXITED and draws[i % len(draws)]]
        view = ledger.step(keys, totals, COLUMNS, named, [keys[i] for i in named], now)
        out.append((view, int(totals.sum())))
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(events, min_size=1, max_size=12),
    st.lists(st.lists(st.booleans(), min_size=1, max_size=8), min_size=12, max_size=12),
)
def test_series_only_go_up_and_add_up_to_the_host(
    steps: list[list[Event]], named_draws: list[list[bool]]
) -> None:
    views = run(steps, named_draws)
    first_host = views[0][1]
    last: dict[Hashable, np.ndarray] = {}
    ever: dict[Hashable, np.ndarray] = {}  # each series' value when last seen
    other_before = np.zeros(2, dtype=np.int64)
    for view, host in views:
        assert (view.other >= other_before).all(), "other went down"
        other_before = view.other
        current = dict(zip(view.labels, view.values, strict=True))
        for key, value in current.items():
            if key in last:
                assert (value >= last[key]).all(), f"{key} went down while named"
            else:
                assert not value.any(), f"{key} was not 0 when first named"
        # A series that went (after lingering) starts again at 0 if it comes
        # back, so its last values are kept aside as Prometheus keeps its samples.
        for key in last.keys() - current.keys():
            ever[f"{key}#{len(ever)}"] = last[key]
        last = current
        exported = int(view.other.sum()) + sum(int(v.sum()) for v in ever.values())
        exported += sum(int(v.sum()) for v in current.values())
        assert exported == host - first_host


def step(
    ledger: CounterLedger, totals: list[list[int]], named: list[int], now: float
) -> LedgerView:
    keys = ["x", "y"][: len(totals)]
    labels = [keys[i] for i in named]
    return ledger.step(keys, np.array(totals), COLUMNS, named, labels, now)


def test_a_newly_named_row_starts_at_zero_and_its_past_is_not_moved() -> None:
    ledger = CounterLedger(linger=10)
    step(ledger, [[10, 0], [5, 5]], [], 0)
    view = step(ledger, [[20, 0], [5, 9]], [0], 1)
    assert view.labels == ("x",) and view.values.tolist() == [[0, 0]]
    assert view.other.tolist() == [10, 4]  # all of this step's growth, named or not
    view = step(ledger, [[25, 1], [5, 9]], [0], 2)
    assert view.values.tolist() == [[5, 1]] and view.other.tolist() == [10, 4]
    # Demoted: x's series stays, frozen, and what x adds now is folded...
    view = step(ledger, [[30, 1], [5, 9]], [1], 3)
    assert view.labels == ("y", "x") and view.values.tolist() == [[0, 0], [5, 1]]
    assert view.other.tolist() == [15, 4]
    # ...until its time is up; named again before that, it carries on.
    view = step(ledger, [[31, 1], [5, 9]], [0, 1], 4)
    assert view.labels == ("x", "y") and view.values.tolist() == [[5, 1], [0, 0]]
    view = step(ledger, [[32, 1], [5, 9]], [1], 5)
    view = step(ledger, [[32, 1], [5, 9]], [1], 15)
    assert view.labels == ("y",)


def test_a_column_seen_late_is_a_baseline() -> None:
    ledger = CounterLedger()
    ledger.step(["x"], np.array([[10]]), ("a",), [0], ["x"], 0)
    view = ledger.step(["x"], np.array([[12, 7]]), ("a", "b"), [0], ["x"], 1)
    assert view.columns == ("a", "b")
    assert view.values.tolist() == [[2, 0]] and view.other.tolist() == [0, 0]
    view = ledger.step(["x"], np.array([[12, 9]]), ("a", "b"), [0], ["x"], 2)
    assert view.values.tolist() == [[2, 2]]


def test_each_snapshot_is_stepped_once_whoever_asks() -> None:
    """The poller steps a snapshot; scrapes of it read that step, and a scrape
    of the one before (read just before the poller stepped the next) reads the
    step of that one, so its families match its host counters. Two Prometheus
    servers scraping one exporter read the same values."""
    counters = BudgetedCounters()
    first, second, third = (export_streams.two_node(step) for step in (1, 2, 3))
    before = counters.advance(first, 50)
    stepped = counters.advance(second, 50)
    assert counters.advance(second, 50) is stepped
    assert counters.advance(first, 50) is before  # a scrape racing the poller
    after = counters.advance(third, 50)
    assert after is not stepped and after.seq == 3 and counters.advance(second, 50) is stepped
    # A scrape holding an even older snapshot reads the latest step, never steps back.
    assert counters.read(first, 50) is after and counters.read(third, 50) is after
    # A source that starts again (lower sequence numbers) is stepped, not frozen.
    again = counters.advance(dataclasses.replace(first, seq=1), 50)
    assert again.seq == 1 and (again.processes.view.other >= after.processes.view.other).all()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(events, min_size=1, max_size=16),
    st.lists(st.lists(st.booleans(), min_size=1, max_size=8), min_size=16, max_size=16),
    st.lists(st.sampled_from([0.0, 1.0, 2.5, 4.0]), min_size=16, max_size=16),
)
def test_the_array_ledger_steps_as_the_per_series_one(
    steps: list[list[Event]], named_draws: list[list[bool]], gaps: list[float]
) -> None:
    """Same rows, same names, same clock: every view equal, series for series.
    Rows rename (new labels), columns arrive late, series linger, expire and
    come back, and more linger than the cap allows."""
    rows: dict[Hashable, np.ndarray] = {}
    fast, slow = CounterLedger(linger=3, max_lingering=2), PerRowLedger(linger=3, max_lingering=2)
    now = 0.0
    for n, (events_now, draws) in enumerate(zip(steps, named_draws, strict=False)):
        now += gaps[n]
        for row, a, b, what in events_now:
            total = rows.setdefault(f"pid:{row}", np.zeros(3, dtype=np.int64))
            total += (a, b, a ^ b)
            if what == "retire":
                rows.pop(f"pid:{row}")
        keys = list(rows)
        width = 2 if n < 3 else 3  # a third column seen late
        columns = ("a", "b", "c")[:width]
        totals = np.array([rows[k][:width] for k in keys], dtype=np.int64).reshape(len(keys), width)
        named = [i for i, k in enumerate(keys) if draws[i % len(draws)]]
        labels = [f"{keys[i]}/{n // 5}" for i in named]  # renamed every fifth step
        a = fast.step(keys, totals, columns, named, labels, now)
        b = slow.step(keys, totals, columns, named, labels, now)
        assert a.columns == b.columns and a.labels == b.labels
        assert a.values.tolist() == b.values.tolist() and a.other.tolist() == b.other.tolist()
