"""migrated-off-rule: pages the kernel moved outside the nodes a rule allows."""

from __future__ import annotations

import dataclasses

import pytest

from numascope.policy import evaluate
from numascope.policy.judge import MIGRATED_OFF_RULE
from numascope.snapshot.migration import UNKNOWN_NODE, MigrationRow, MigrationSection
from numascope.snapshot.model import Severity
from numascope.snapshot.sections import Count
from tests.unit.test_policy_engine import config, snapshot, workload


def moved(targets: dict[int, int], reason: str = "numa_misplaced", tgid: int = 100) -> MigrationRow:
    pages = sum(targets.values())
    return MigrationRow(
        tgid,
        "app",
        reason,
        succeeded=Count(pages, pages),
        targets={n: Count(p * 3, p) for n, p in targets.items()},
    )


def judged(placement: object, row: MigrationRow, tracks_nodes: bool = True) -> list[str]:
    # Its allocations fit the rule (all on node 1): only the migrations can be wrong.
    snap = snapshot(workload("app", {1: 1000}, cpu_node=1))
    snap = dataclasses.replace(snap, migrations=MigrationSection((row,), tracks_nodes))
    return [f.kind for f in evaluate(snap, config(placement))]


@pytest.mark.parametrize(
    ("placement", "targets", "found"),
    [
        ({"bind": [1]}, {0: 900, 1: 100}, True),
        ({"bind": [1]}, {1: 1000}, False),  # moved, but within the rule
        ({"bind": [1]}, {0: 50, 1: 950}, False),  # under the warning share
        ({"bind": [1]}, {0: 40}, False),  # under min-pages
        ({"bind": [1]}, {UNKNOWN_NODE: 1000}, False),  # nowhere known: no verdict
        ({"preferred": 1}, {0: 1000}, True),
        ({"interleave": [0, 1]}, {2: 500}, True),
        ("local", {0: 1000}, False),  # local has no fixed nodes
    ],
)
def test_targets_outside_the_rule_are_a_finding(
    placement: object, targets: dict[int, int], found: bool
) -> None:
    assert (MIGRATED_OFF_RULE in judged(placement, moved(targets))) is found


def test_kernel_threads_untracked_nodes_and_other_processes_are_not_judged() -> None:
    kthread = dataclasses.replace(moved({0: 1000}), kernel_thread=True)
    assert MIGRATED_OFF_RULE not in judged({"bind": [1]}, kthread)
    assert MIGRATED_OFF_RULE not in judged({"bind": [1]}, moved({0: 1000}), tracks_nodes=False)
    assert MIGRATED_OFF_RULE not in judged({"bind": [1]}, moved({0: 1000}, tgid=555))


def test_the_finding_names_reason_and_nodes_and_the_advice_follows() -> None:
    snap = snapshot(workload("app", {1: 1000}, cpu_node=1))
    section = MigrationSection((moved({0: 1000}, "syscall_or_cpuset"),), True)
    snap = dataclasses.replace(snap, migrations=section)
    (finding,) = [f for f in evaluate(snap, config({"bind": [1]})) if f.kind == MIGRATED_OFF_RULE]
    assert finding.severity == Severity.CRITICAL
    assert "100% of 1000 pages migrated (syscall_or_cpuset) went to node 0" in finding.message
    assert finding.evidence["migrated_to"] == {"0": 1000}
    assert finding.workload_key == "pid:100"
