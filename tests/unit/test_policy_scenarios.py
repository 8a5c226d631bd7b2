"""The guest-scenario helper (tests/vm/policy_scenarios.py) on fixture procfs trees."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from numascope.snapshot.model import HostInfo, Locality, Snapshot, Workload, WorkloadKind

TESTS = Path(__file__).parent.parent
PROC = str(TESTS / "fixtures" / "proc")


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "policy_scenarios", TESTS / "vm" / "policy_scenarios.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def remote_to_node1(pid: int, pages: int = 66833) -> Snapshot:
    loc = Locality({1: pages}, {1: pages}, 0, pages, 0, pages)
    work = Workload(f"pid:{pid}", WorkloadKind.PROCESS, "stress-ng", loc, loc, pid=pid)
    return Snapshot(1, 1.0, 1.0, "test", HostInfo(), (), processes=(work,))


@pytest.mark.parametrize(
    ("name", "pid", "pages", "passes"),
    [
        ("membind-under-local", 4242, 66833, True),
        ("membind-under-local", 4242, 10, False),  # too few pages to judge: no finding
        ("membind-under-bind", 4242, 66833, True),
        ("membind-under-bind", 2, 66833, False),  # kernel says default, not bind:1
        ("bind-without-numactl", 2, 66833, True),
        ("bind-without-numactl", 4242, 66833, False),  # bound by numactl: no drift
    ],
)
def test_scenarios_on_fixtures(name: str, pid: int, pages: int, passes: bool) -> None:
    problems = load().check_policy_scenario(name, remote_to_node1(pid, pages), pid, PROC)
    assert (problems == []) == passes, problems


def test_gone_process() -> None:
    problems = load().check_policy_scenario("membind-under-bind", remote_to_node1(1), 1, PROC)
    assert problems and "gone" in problems[0]
