"""The placement policy in a 2-node guest (issue 4, "Done when").

A workload bound to node 1 by numactl breaks a `local` rule (a remote-allocation
finding naming its pid and rule) and satisfies a `bind: [1]` rule (no finding,
and the kernel's policy from numa_maps reads bind:1); the same workload started
without a memory policy under `bind: [1]` is policy drift.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from numascope.collectors.live import LiveSource
from tests.vm.guest.workloads import pages
from tests.vm.policy_scenarios import check_policy_scenario
from tests.vm.topologies import GuestTopology

pytestmark = pytest.mark.guest

MIB = 256  # large enough that start-up pages (numactl, interpreter, slab) stay under 10%
# Touches its pages, says so, then stays alive: the kernel's policy is read from
# its numa_maps after the poll.
TOUCH_AND_HOLD = f"""
import mmap, sys, time
m = mmap.mmap(-1, {MIB} << 20)
for off in range(0, {MIB} << 20, 4096):
    m[off] = 1
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.topologies("two_node")
@pytest.mark.parametrize(
    "scenario", ["membind-under-local", "membind-under-bind", "bind-without-numactl"]
)
def test_policy_findings_and_the_kernels_policy(
    live: LiveSource, guest: GuestTopology, scenario: str
) -> None:
    if scenario == "bind-without-numactl":
        # No memory policy at all; on a node-1 CPU its pages stay on node 1, so
        # drift is the only thing wrong with it.
        prefix = ["taskset", "-c", str(guest.nodes[1].cpus[0])]
    else:
        prefix = ["numactl", "--cpunodebind=0", "--membind=1"]
    live.poll()
    child = subprocess.Popen(
        [*prefix, sys.executable, "-c", TOUCH_AND_HOLD], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        snapshot = live.poll()
        row = snapshot.process(f"pid:{child.pid}")
        assert row is not None and row.delta.pages >= pages(MIB), row
        problems = check_policy_scenario(scenario, snapshot, child.pid)
        assert not problems, problems
    finally:
        child.kill()
        child.wait()
