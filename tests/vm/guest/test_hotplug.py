"""Memory plugged into node 1 while numascope runs.

numascope learns the node ranges once, when its probe compiles; a DIMM plugged
in later lies outside them. The host plugs one into node 1 through qemu's QMP
(tests/vm/host_requests.py), the guest onlines its blocks as movable memory, and
a workload bound to node 1 then gets its pages from the new memory (a movable
allocation tries ZONE_MOVABLE first). numascope must count those pages under
node -1 and say so in its health, and its counts must still add up to the
kernel's numastat, which knows the new memory as node 1's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from numascope.collectors.live import UNKNOWN_NODE, LiveSource
from tests.vm.guest.checks import RecordProperty, report, workload_row
from tests.vm.guest.window import AGREEMENT, agree, measure
from tests.vm.guest.workloads import dd_touch, pages, run_in_cgroup
from tests.vm.host_requests import HOT_ADD_MEMORY, ask_host
from tests.vm.topologies import RESULTS_ENV, GuestTopology

pytestmark = pytest.mark.guest

MEMORY = Path("/sys/devices/system/memory")
PLUGGED_MIB = 256
MIB = 64
PAGES = pages(MIB)
# numactl's start-up, before it binds and execs dd, allocates under the default
# policy from the existing memory (see test_placement.py).
STARTUP_PAGES = 1024


def memory_blocks() -> set[str]:
    return {p.name for p in MEMORY.glob("memory[0-9]*")}


def online_movable(blocks: set[str]) -> None:
    """Online the new blocks as movable memory (this kernel leaves plugged memory offline)."""
    for block in sorted(blocks, key=lambda b: int(b.removeprefix("memory"))):
        state = MEMORY / block / "state"
        if state.read_text().strip() == "offline":
            state.write_text("online_movable")
        assert state.read_text().strip() == "online", f"{block} is {state.read_text().strip()}"


@pytest.mark.topologies("hotplug")
def test_memory_plugged_into_node_1_is_counted_as_unknown_and_noted(
    live: LiveSource, guest: GuestTopology, record_property: RecordProperty
) -> None:
    before = memory_blocks()
    known = {r.node for r in live.topology.pfn_ranges}
    assert known == {0, 1}, live.topology.pfn_ranges
    plugged = ask_host(Path(os.environ[RESULTS_ENV]), HOT_ADD_MEMORY, node=1, mib=PLUGGED_MIB)
    block_bytes = int((MEMORY / "block_size_bytes").read_text(), 16)
    wanted = PLUGGED_MIB * (1 << 20) // block_bytes
    deadline = time.monotonic() + 120
    while len(new := memory_blocks() - before) < wanted:  # ACPI tells the kernel, then sysfs
        assert time.monotonic() < deadline, f"new memory blocks {sorted(new)}, wanted {wanted}"
        time.sleep(0.2)
    node1 = Path("/sys/devices/system/node/node1")
    assert all((node1 / b).exists() for b in new), f"{sorted(new)} not all on node 1"
    first_pfn = int(plugged["addr"]) // 4096
    assert live.topology.node_of_pfn(first_pfn) is None, "the new memory was known at start"
    online_movable(new)

    argv = dd_touch(MIB, "--cpunodebind=0", "--membind=1")
    window, dd = measure(live, lambda: run_in_cgroup("hot_added", argv, cpu_node=0))
    row = workload_row(window, dd)
    unknown_pages = row.total.pages_by_node.get(UNKNOWN_NODE, 0)
    assert unknown_pages >= PAGES - STARTUP_PAGES, row.total
    health = window.after.health
    assert health.unknown_node_pages >= unknown_pages, health
    assert any(
        "memory outside the known node ranges" in n and "restart to re-read the topology" in n
        for n in health.notes
    ), health.notes

    # The kernel counts the new memory as node 1's: node 1 and node -1 together
    # are node 1 to it, and numascope loses no event on the way.
    unknown = sum(window.matrix_events(cpu, UNKNOWN_NODE) for cpu in guest.node_ids)
    ours = {n: sum(window.node_events(n)) for n in guest.node_ids}
    kernels = {
        n: window.kernel(n, "local_node") + window.kernel(n, "other_node") for n in guest.node_ids
    }
    lines = [
        agree("node 0 events", ours[0], kernels[0], PAGES),
        agree("node 1 + unknown events / node 1", ours[1] + unknown, kernels[1], PAGES),
        agree(
            "dd's unknown-node events / node 1 other_node",
            row.total.events_by_node.get(UNKNOWN_NODE, 0),
            window.kernel(1, "other_node"),
            PAGES,
        ),
        f"plugged {PLUGGED_MIB} MiB at {int(plugged['addr']):#x} on node 1 ({len(new)} blocks)",
        f"unknown-node pages {health.unknown_node_pages} (dd {unknown_pages}), within "
        f"{AGREEMENT:.0%}",
    ]
    report(record_property, row, lines)
