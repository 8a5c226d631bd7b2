"""Plumbing for the tests that run inside a multi-node guest.

tests/vm/test_guests.py boots the guest and runs `pytest -m guest` here with
NUMASCOPE_GUEST_TOPOLOGY naming the topology. This file keeps only the tests
meant for that topology (@pytest.mark.topologies), writes a progress line per
test into NUMASCOPE_GUEST_DIR (so the host can tell which test hung, and why one
failed), and holds the one BPF source all tests share: compiling it takes
15 to 20 s under software emulation, once per boot.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from numascope.collectors.live import LiveSource, open_live_source
from numascope.collectors.probe_families import PageAllocFamily
from numascope.probes.page_alloc import RAW_ENTRY
from tests.conftest import require, require_root
from tests.vm.topologies import RESULTS_ENV, GuestTopology, current_topology, topologies_of

TAIL_CHARS = 4000


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    topology = current_topology()
    if topology is None:
        return
    keep = [i for i in items if topology.name in topologies_of(i.iter_markers())]
    dropped = [i for i in items if i not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _progress(record: dict[str, object]) -> None:
    folder = os.environ.get(RESULTS_ENV)
    if not folder:
        return
    with open(Path(folder) / "progress.jsonl", "a") as out:
        out.write(json.dumps({**record, "time": time.time()}) + "\n")
        out.flush()
        os.fsync(out.fileno())  # a guest killed at its time limit keeps what it wrote


def pytest_collection_finish(session: pytest.Session) -> None:
    _progress({"event": "collected", "count": len(session.items)})


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _progress({"event": "finished", "status": int(exitstatus)})


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _progress({"event": "start", "nodeid": nodeid})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _progress(
        {
            "event": "report",
            "nodeid": report.nodeid,
            "when": report.when,
            "outcome": report.outcome,
            "duration": report.duration,
            "longrepr": report.longreprtext if report.outcome != "passed" else "",
            "stderr": report.capstderr[-TAIL_CHARS:],
            "properties": [[str(k), str(v)] for k, v in report.user_properties],
        }
    )


@pytest.fixture(scope="session")
def guest() -> GuestTopology:
    """The topology this guest was booted with."""
    topology = current_topology()
    require(topology is not None, "runs only inside a guest booted by tests/vm/test_guests.py")
    assert topology is not None
    return topology


def _require_numpy_baseline_loops() -> None:
    # tests/vm/guest_runner.py turns numpy's AVX2 loops off in the guest: under
    # qemu's software emulation they summed the node matrix wrongly now and then.
    from numpy._core._multiarray_umath import __cpu_features__

    assert not __cpu_features__.get("X86_V3"), (
        "numpy's x86-64-v3 loops are on in the guest (NPY_DISABLE_CPU_FEATURES not set)"
    )


def _quiet_the_guest(topology: GuestTopology) -> None:
    _require_numpy_baseline_loops()
    # numastat counts allocation events, and a transparent huge page is one event
    # for 512 pages: a 64 MiB toucher would make 32 events, lost in the noise of
    # a 1% comparison. Base pages make every touched page one event.
    Path("/sys/kernel/mm/transparent_hugepage/enabled").write_text("never")
    Path("/proc/sys/vm/numa_stat").write_text("1")
    # The tests' own allocations stay on node 0's CPU, so they never fall back
    # from a node a scenario has filled, and count as local there.
    os.sched_setaffinity(0, set(topology.nodes[0].cpus))


@pytest.fixture(scope="session")
def live(guest: GuestTopology) -> Iterator[LiveSource]:
    """numascope's live source, attached once for the whole guest session."""
    require_root()
    _quiet_the_guest(guest)
    source = open_live_source()
    try:
        # Every guest check then holds the raw tracepoint entry, whose pfns come
        # through the calibrated translation, against the guest's numastat.
        family = source.family("page_alloc")
        assert isinstance(family, PageAllocFamily), source.failed
        assert family.probe.entry == RAW_ENTRY, family.probe.why_record
        yield source
    finally:
        source.close()


@pytest.fixture(scope="session")
def with_migrate_nodes(live: LiveSource) -> Iterator[LiveSource]:
    """The migrate family with source and target nodes, beside page allocations
    (whose raw tracepoint the session's `live` source, which also quiets the
    guest, is held to); one compile for every guest test that needs it."""
    source = open_live_source(probes=("page_alloc", "migrate_nodes"))
    try:
        yield source
    finally:
        source.close()
