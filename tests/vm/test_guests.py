"""The multi-node proof: boot 2- and 3-node guests and run tests/vm/guest in them.

Each topology boots once (tests/vm/conftest.py). `test_guest_run` says whether
the guest booted and its tests ran to the end; `test_in_guest` reports each
guest test's own outcome, so a failure names the scenario and says why.
"""

from __future__ import annotations

import pytest

from tests.conftest import require
from tests.vm.conftest import GuestCase, GuestRuns

pytestmark = pytest.mark.vm


def test_guest_run(topology_name: str, guest_runs: GuestRuns) -> None:
    run = guest_runs.get(topology_name)
    assert run.error is None, f"{run.summary()}\n{run.error}\n{run.tails()}"


def test_in_guest(guest_case: GuestCase, guest_runs: GuestRuns) -> None:
    run = guest_runs.get(guest_case.topology)
    where = f"{guest_case.nodeid} in the {guest_case.topology} guest"
    result = run.results.get(guest_case.nodeid)
    if result is None:
        pytest.fail(f"{where}: no result ({run.error or 'not run'})\n{run.tails()}", pytrace=False)
    for key, value in result.properties:
        print(f"{key}: {value}")
    if result.outcome == "skipped":
        require(False, f"{where} was skipped: {result.message}")
    if result.outcome != "passed":
        tails = f"\n{run.tails()}" if run.running else ""
        pytest.fail(
            f"{where}: {result.outcome}\n{result.message}\n"
            f"--- its stderr ---\n{result.stderr}{tails}",
            pytrace=False,
        )
