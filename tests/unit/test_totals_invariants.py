"""Property: whatever the kernel side does, what was drained is counted once.

Random runs of flushes, cached (pending) slots, polls, retirements of exited
processes and pid reuse, over maps with bcc's interface. After a final drain of
everything, every view's totals (nodes, matrix, processes, cgroups) equal what
the fake kernel counted, and no total ever went down between polls.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from numascope.collectors.attribution import Attributor
from numascope.collectors.names import CgroupResolver
from numascope.collectors.owner_table import OwnerKey
from numascope.collectors.page_alloc import PageAllocCollector
from numascope.probes.page_alloc import PageAllocLayout
from numascope.topology import read_topology
from tests.fakes.bcc_tables import FakeTables, counts, key
from tests.fakes.owner_objects import alive_rows, owners_of

FIXTURES = Path(__file__).parent.parent / "fixtures"
TOPO = read_topology(FIXTURES / "sysfs" / "cpuless")  # nodes 0, 1 and CPU-less 2
LAYOUT = PageAllocLayout(TOPO.node_ids)

flush = st.tuples(
    st.just("flush"),
    st.integers(1, 6),  # tgid
    st.integers(0, 1),  # CPU node
    st.integers(0, LAYOUT.count_slots - 1),  # slot (page node x order class)
    st.integers(1, 50),  # events
)
cache = st.tuples(st.just("cache"), st.integers(1, 6), st.integers(0, 1), st.integers(0, 1))
poll = st.tuples(st.just("poll"))
retire = st.tuples(st.just("retire"), st.integers(1, 6))
steps = st.lists(st.one_of(flush, flush, cache, poll, retire), max_size=60)


@settings(max_examples=150, deadline=None)
@given(steps)
def test_every_drained_event_is_counted_once(plan: list[tuple[object, ...]]) -> None:
    tables = FakeTables(LAYOUT.node_slots, cpus=2)
    collector = PageAllocCollector(tables, LAYOUT, settle_seconds=0)
    attributor = Attributor(
        TOPO, LAYOUT, proc=FIXTURES / "proc", sysfs=FIXTURES, cgroups=CgroupResolver(FIXTURES)
    )
    expected_by_cell: dict[tuple[int, int], int] = {}
    last_node_totals: dict[int, int] = {}

    def add_expected(cpu_node: int, slot: int, events: int) -> None:
        page_node, _ = LAYOUT.split(slot)
        cell = (cpu_node, page_node)
        expected_by_cell[cell] = expected_by_cell.get(cell, 0) + events

    def do_poll() -> dict[int, int]:
        reading = collector.read()
        result = attributor.attribute_table(
            reading.table, alive_rows(reading.table, set()), now=0.0
        )
        node_totals = {n.node: n.total.events for n in result.nodes}
        for node, total in node_totals.items():
            assert total >= last_node_totals.get(node, 0), "a node total went down"
        last_node_totals.update(node_totals)
        return node_totals

    for step in plan:
        kind = step[0]
        if kind == "flush":
            _, tgid, cpu_node, slot, events = step
            assert isinstance(tgid, int) and isinstance(cpu_node, int)
            assert isinstance(slot, int) and isinstance(events, int)
            tables.flush(
                key(tgid, cpu_node=cpu_node), counts(tables.slots, {slot: (events, events)})
            )
            add_expected(cpu_node, slot, events)
        elif kind == "cache":
            # A CPU caches an owner's counts, flushed for real at the next step
            # that touches it (here: on the next poll, after being read as pending).
            _, tgid, cpu, cpu_node = step
            assert isinstance(tgid, int) and isinstance(cpu, int) and isinstance(cpu_node, int)
            state = tables["cpu_state"].states[cpu]
            if state.active:
                tables.flush(state.owner, state.counts)
            tables.cache(cpu, key(tgid, cpu_node=cpu_node), counts(tables.slots, {0: (3, 3)}))
            tables["cpu_state"].states[cpu].epoch = tables["epoch"][0] >> 1
            add_expected(cpu_node, 0, 3)
        elif kind == "poll":
            do_poll()
        else:
            _, tgid = step
            collector.retire([k for k in collector.owner_keys() if k.tgid == tgid])
    # Everything cached is flushed, then two polls drain both buffers.
    for state in tables["cpu_state"].states:
        if state.active:
            tables.flush(state.owner, state.counts)
            state.active = 0
    do_poll()
    final = collector.read()
    result = attributor.attribute_table(final.table, alive_rows(final.table, set()), now=1.0)
    cells = {(c.cpu_node, c.page_node): c.total_events for c in result.matrix}
    assert cells == {k: v for k, v in expected_by_cell.items() if v}
    total = sum(expected_by_cell.values())
    assert sum(n.total.events for n in result.nodes) == sum(
        v for (_, page_node), v in expected_by_cell.items() if page_node >= 0
    )
    assert sum(w.total.events for w in result.processes) == total
    owners = owners_of(final.table)
    assert sum(sum(t.events) for t in owners.values()) == total
    assert all(isinstance(k, OwnerKey) for k in owners)
