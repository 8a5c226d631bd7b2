"""Placement-policy checks for the multi-node guests (issue 4, "Done when").

Call `check_policy_scenario(name, snapshot, pid)` inside a guest with at least
two nodes, after `snapshot` covered a workload that touched memory (256 MiB is
plenty; `min-pages` here is 1000). It returns what went wrong; empty means pass.

- membind-under-local: start `numactl --cpunodebind=0 --membind=1 WORKLOAD`;
  expect a remote-allocation finding (and a policy-drift one) naming the pid
  and rule 'guest'.
- membind-under-bind: the same start; expect no finding, kernel policy `bind:1`.
- bind-without-numactl: start WORKLOAD without numactl under `bind: [1]`;
  expect a policy-drift finding, kernel policy `default`.
"""

from __future__ import annotations

from numascope.collectors.mempolicy import read_process_policy
from numascope.config import parse_config
from numascope.policy import DRIFT, REMOTE_ALLOCATION, findings_for_pid
from numascope.snapshot.model import Snapshot

_LOCAL = "rules: [{name: guest, match: {pid: %d}, placement: local}]\n"
_BIND1 = "rules: [{name: guest, match: {pid: %d}, placement: {bind: [1]}}]\n"
_THRESHOLDS = "thresholds: {min-pages: 1000}\n"

SCENARIOS = {
    # bind:1 also contradicts `local`, so drift comes with the remote allocation.
    "membind-under-local": (_LOCAL, {REMOTE_ALLOCATION, DRIFT}, "bind:1"),
    "membind-under-bind": (_BIND1, set(), "bind:1"),
    "bind-without-numactl": (_BIND1, {DRIFT}, "default"),
}


def check_policy_scenario(
    name: str, snapshot: Snapshot, pid: int, proc: str = "/proc"
) -> list[str]:
    """Problems with scenario `name` for process `pid` (alive) in `snapshot`."""
    rule_text, expected_kinds, expected_policy = SCENARIOS[name]
    config = parse_config(rule_text % pid + _THRESHOLDS, name).config
    problems = []
    kernel = read_process_policy(pid, proc=proc)
    if kernel is None:
        return [f"pid {pid} is gone; keep the workload alive until the check"]
    if str(kernel.dominant) != expected_policy:
        problems.append(f"kernel policy {kernel.dominant}, expected {expected_policy}")
    findings = findings_for_pid(snapshot, pid, config, proc)
    kinds = {f.kind for f in findings}
    if kinds != expected_kinds:
        problems.append(f"finding kinds {sorted(kinds)}, expected {sorted(expected_kinds)}")
    for finding in findings:
        if finding.rule != "guest" or f"pid {pid}" not in finding.message:
            problems.append(f"finding does not name pid {pid} and rule 'guest': {finding}")
    if name == "membind-under-local" and snapshot.process(f"pid:{pid}") is None:
        problems.append(f"pid {pid} is not in the snapshot's workloads")
    return problems
