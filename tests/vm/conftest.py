"""Host side of the multi-node tests: which guest tests exist for each topology,
and one guest boot per topology shared by every test that needs its results.

On the host the guest tests themselves (tests/vm/guest/) are not collected: they
run inside the guest, where NUMASCOPE_GUEST_TOPOLOGY is set.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require, require_root
from tests.vm.guest_runner import GuestRun, fresh_workdir, missing_prerequisites, run_guest
from tests.vm.topologies import TOPOLOGIES, current_topology, topologies_of

GUEST_DIR = Path(__file__).parent / "guest"
ROOT = GUEST_DIR.parents[2]

collect_ignore = [] if current_topology() else ["guest"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "guest: runs inside a multi-node guest (tests/vm/guest)")
    config.addinivalue_line(
        "markers", "topologies(*names): the guest topologies a guest test runs on (default: all)"
    )


@dataclass(frozen=True)
class GuestCase:
    """One guest test function on one topology."""

    topology: str
    nodeid: str  # relative to the project root, as the guest's pytest names it

    @property
    def id(self) -> str:
        return f"{self.topology}-{self.nodeid.rsplit('::', 1)[1]}"


def _marks(obj: object) -> list[pytest.Mark]:
    raw = getattr(obj, "pytestmark", [])
    items = raw if isinstance(raw, list) else [raw]
    return [m.mark if isinstance(m, pytest.MarkDecorator) else m for m in items]


def guest_cases() -> list[GuestCase]:
    """Every guest test function, once per topology it asks for."""
    cases = []
    for path in sorted(GUEST_DIR.glob("test_*.py")):
        module = importlib.import_module(f"tests.vm.guest.{path.stem}")
        functions = [
            (name, fn)
            for name, fn in inspect.getmembers(module, inspect.isfunction)
            if name.startswith("test_") and fn.__module__ == module.__name__
        ]
        functions.sort(key=lambda item: item[1].__code__.co_firstlineno)
        for name, fn in functions:
            marks = _marks(fn) + _marks(module)
            rel = path.relative_to(ROOT).as_posix()
            cases += [GuestCase(t, f"{rel}::{name}") for t in topologies_of(marks)]
    return cases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "guest_case" in metafunc.fixturenames:
        cases = guest_cases()
        metafunc.parametrize("guest_case", cases, ids=[c.id for c in cases])
    if "topology_name" in metafunc.fixturenames:
        metafunc.parametrize("topology_name", list(TOPOLOGIES))


class GuestRuns:
    """Boots each topology at most once per session, on first need."""

    def __init__(self, session: pytest.Session) -> None:
        self.session = session
        self.runs: dict[str, GuestRun] = {}

    def get(self, topology: str) -> GuestRun:
        require_root()
        missing = missing_prerequisites()
        require(not missing, "multi-node guests need " + "; ".join(missing))
        if topology not in self.runs:
            workdir = fresh_workdir(topology)
            try:
                run = run_guest(TOPOLOGIES[topology], self.selected(topology), workdir)
            except Exception as exc:  # one failed boot is reported once, not retried per test
                run = GuestRun(topology, workdir, error=f"running the guest failed: {exc!r}")
            self.runs[topology] = run
        return self.runs[topology]

    def selected(self, topology: str) -> list[str]:
        """The guest tests this session selected (pytest -k) for `topology`; all if none."""
        chosen = [
            case.nodeid for case in _cases_of(self.session.items) if case.topology == topology
        ]
        return chosen or [str(GUEST_DIR.relative_to(ROOT))]


def _cases_of(items: Iterable[pytest.Item]) -> Iterable[GuestCase]:
    for item in items:
        callspec: Any = getattr(item, "callspec", None)
        case = callspec.params.get("guest_case") if callspec is not None else None
        if isinstance(case, GuestCase):
            yield case


RUNS = pytest.StashKey[GuestRuns]()


@pytest.fixture(scope="session")
def guest_runs(request: pytest.FixtureRequest) -> GuestRuns:
    runs = GuestRuns(request.session)
    request.config.stash[RUNS] = runs
    return runs


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    runs = config.stash.get(RUNS, None)
    if runs is None or not runs.runs:
        return
    write = terminalreporter.write_line
    terminalreporter.section("multi-node guests")
    for run in runs.runs.values():
        write(run.summary())
        for note in run.notes:
            write(f"  note: {note}")
        for result in run.results.values():
            write(f"  {result.outcome:7} {result.seconds:6.1f} s  {result.nodeid}")
            for key, value in result.properties:
                write(f"      {key}: {value}")
