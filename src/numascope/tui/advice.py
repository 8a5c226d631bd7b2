"""What to check next for a workload, from its findings and the node state.

Plain sentences with the command to run, so the detail screen ends in an action
rather than a number.
"""

from __future__ import annotations

from numascope.snapshot.model import Snapshot
from numascope.tui.rows import Row

_BY_KIND = {
    "remote-allocation": (
        "Its CPUs and its memory are on different nodes: compare `taskset -cp {pid}` with "
        "the nodes in `numastat -p {pid}`; pin both with `numactl --cpunodebind=N --membind=N`."
    ),
    "outside-bind": (
        "Pages came from outside the bound nodes: check `grep Mems_allowed /proc/{pid}/status` "
        "and the cgroup's cpuset.mems; a bind set after start does not move old pages."
    ),
    "preferred-fallback": (
        "The preferred node could not serve it: check free memory there "
        "(`numactl --hardware`, the Reclaim tab) and whether kswapd is awake."
    ),
    "interleave-imbalance": (
        "The spread does not match the weights: regions mapped before the policy was set keep "
        "their placement (`grep -v default /proc/{pid}/numa_maps`)."
    ),
    "migrated-off-rule": (
        "The kernel moved its pages off the rule's nodes after they were allocated: see the "
        "reason in the migrations section. numa_misplaced: its threads run on another node "
        "(pin them with `taskset`/cpuset, or set kernel.numa_balancing=0 for it); "
        "syscall_or_cpuset: a `migratepages` or a cpuset.mems change moved it; demotion: "
        "its node ran short and reclaim demoted pages to a slower tier (`grep pgdemote "
        "/proc/vmstat`). docs/migrations.md says more."
    ),
    "policy-drift": (
        "The kernel's policy differs from the configured one: was it started without numactl, "
        "or did it call set_mempolicy itself? Compare `/proc/{pid}/numa_maps` with the rule."
    ),
    "resident-outside-bind": (
        "Its memory lives off the bound nodes now, whatever its allocations did: see where "
        "with `numastat -p {pid}`. Pages placed before the bind, or moved since (NUMA "
        "balancing: `sysctl kernel.numa_balancing`; demotion: "
        "`cat /sys/kernel/mm/numa/demotion_enabled`), stay there: move them with "
        "`migratepages {pid} FROM TO`, or restart it under `numactl --membind`."
    ),
    "balancing-churns": (
        "NUMA balancing keeps moving its pages without making them local: its threads likely "
        "share memory across nodes or keep changing node. Pin it (`numactl --cpunodebind=N "
        "--membind=N`, or a cpuset), or turn balancing off for the host "
        "(`sysctl kernel.numa_balancing=0`); compare `grep numa /proc/{pid}/sched` over time."
    ),
}


def what_next(row: Row, snapshot: Snapshot) -> list[str]:
    """Suggestions, most specific first; never empty."""
    pid = str(row.pid) if row.pid is not None else "PID"
    tips: list[str] = []
    for kind in dict.fromkeys(f.kind for f in row.findings):
        tip = _BY_KIND.get(kind)
        if tip:
            tips.append(tip.format(pid=pid))
    pressured = [r.node for r in snapshot.reclaim if r.under_reclaim]
    used = {n for n, p in row.delta.pages_by_node.items() if p}
    if pressured and (used & set(pressured) or not used):
        nodes = ",".join(map(str, pressured))
        tips.append(
            f"Node {nodes} is reclaiming: allocations there stall or fall back to other nodes. "
            "See the Reclaim tab for direct-reclaim stalls."
        )
    if any(d.workload_key in row.members for d in snapshot.direct_reclaim):
        tips.append("This workload stalled in direct reclaim: its node runs short of free memory.")
    if not tips and row.delta.remote_ratio > 0:
        tips.append(
            "Some pages are remote but no rule is broken: if that matters, add a rule for it "
            "in the config (`numascope check-config FILE`)."
        )
    if not tips:
        tips.append("Nothing stands out: its pages come from where its rule expects.")
    if not row.alive:
        tips.append("The process has exited; its totals stay until they are retired.")
    return tips
