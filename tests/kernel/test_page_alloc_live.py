"""The page-allocation probe on the real kernel, held against the kernel's counters."""

from __future__ import annotations

import subprocess
import time

import pytest

from numascope.collectors.live import LiveSource, open_live_source
from numascope.snapshot import Snapshot
from tests.conftest import require_root

pytestmark = pytest.mark.kernel

TOUCH_BYTES = 64 << 20


def kernel_events(snapshots: list[Snapshot]) -> dict[int, int]:
    """numastat local_node + other_node added over these snapshots, per node."""
    out: dict[int, int] = {}
    for snap in snapshots:
        for k in snap.kernel:
            out[k.node] = out.get(k.node, 0) + k.delta["local_node"] + k.delta["other_node"]
    return out


def our_events(before: Snapshot, after: Snapshot) -> dict[int, int]:
    start = {n.node: n.total.events for n in before.nodes}
    return {n.node: n.total.events - start[n.node] for n in after.nodes}


def first_poll(source: LiveSource) -> Snapshot:
    """The window's start: a poll after the first one.

    The first interval after attaching can end with a CPU's cached counts from
    the start-up (compiling the other probe families allocates thousands of
    pages) moved into the next interval: totals stay exact, but a window that
    starts at the first poll would see them twice on one side.
    """
    source.poll()
    time.sleep(0.1)
    return source.poll()


def settle(source: LiveSource, polls: int = 3) -> list[Snapshot]:
    """Poll a few times so counts cached in per-CPU slots are drained."""
    out = []
    for _ in range(polls):
        time.sleep(0.2)
        out.append(source.poll())
    return out


def test_touching_64_mib_is_attributed_to_its_pid_and_comm(live_source: LiveSource) -> None:
    base = first_poll(live_source)
    child = subprocess.run(
        ["dd", "if=/dev/zero", "of=/dev/null", f"bs={TOUCH_BYTES}", "count=1"],
        capture_output=True,
        check=True,
    )
    assert child.returncode == 0
    pid = None
    polls = settle(live_source)
    final = polls[-1]
    rows = [w for w in final.processes if w.name == "dd" and w.total.pages >= 16384]
    assert rows, (
        f"no dd row with >= 16384 pages: {[(w.name, w.total.pages) for w in final.processes][:20]}"
    )
    row = rows[0]
    pid = row.pid
    assert pid is not None and not row.alive
    node0 = final.nodes[0].node
    assert row.total.pages_by_node.get(node0, 0) >= 16384
    # Node totals against numastat over the same window.
    ours = our_events(base, final)
    kernels = kernel_events(polls)
    for node, kernel_count in kernels.items():
        assert kernel_count > 16384
        assert abs(ours[node] - kernel_count) <= 0.01 * kernel_count, (node, ours, kernels)


def test_more_owners_than_the_map_holds_still_add_up() -> None:
    require_root()
    source = open_live_source(max_owners=8)
    try:
        base = first_poll(source)
        procs = [
            subprocess.Popen(["dd", "if=/dev/zero", "of=/dev/null", "bs=4M", "count=1"])
            for _ in range(40)
        ]
        for p in procs:
            assert p.wait() == 0
        polls = settle(source)
        final = polls[-1]
        other = final.process("other")
        assert other is not None and other.total.events > 0, "the overflow entry saw nothing"
        assert final.health.overflow_events == other.total.events
        ours = our_events(base, final)
        for node, kernel_count in kernel_events(polls).items():
            assert abs(ours[node] - kernel_count) <= 0.01 * kernel_count, (node, ours, kernel_count)
    finally:
        source.close()
