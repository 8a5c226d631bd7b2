"""Faults a live source must survive: probes that break, pids reused, unknown memory.

The source runs over stand-in maps (tests/fakes) and fixture sysfs/procfs trees;
tests/kernel/test_faults_live.py repeats the detach case on real programs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from numascope.collectors.live import LiveSource
from numascope.collectors.page_alloc import PageAllocCollector
from numascope.collectors.probe_families import FamilyReading, KernelReader, PageAllocFamily
from numascope.probes.page_alloc import PageAllocLayout, PageAllocProbe
from numascope.probes.prog_stats import ProgStats
from numascope.probes.programs import LoadedFamily
from numascope.snapshot.model import Snapshot
from numascope.topology import read_topology
from tests.fakes.bcc_tables import FakeTables, counts, key

SYSFS = Path(__file__).parent.parent / "fixtures" / "sysfs" / "two-node"
LAYOUT = PageAllocLayout(node_ids=(0, 1))  # slots: node0 0-3, node1 4-7, unknown 8-11


def write_process(proc: Path, pid: int, comm: str) -> None:
    (proc / str(pid)).mkdir(parents=True, exist_ok=True)
    # pid (comm) state ppid pgrp session tty tpgid flags ...
    (proc / str(pid) / "stat").write_text(f"{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194304 0 0\n")


def remove_process(proc: Path, pid: int) -> None:
    for f in (proc / str(pid)).iterdir():
        f.unlink()
    (proc / str(pid)).rmdir()


def page_family(tables: FakeTables) -> PageAllocFamily:
    """The page-allocation family over stand-in maps, as open_families builds it."""
    probe = PageAllocProbe(LoadedFamily("page_alloc", tables), LAYOUT, max_owners=64)
    return PageAllocFamily(probe, PageAllocCollector(tables, LAYOUT))


def source(
    tmp_path: Path, tables: FakeTables | None = None, families: Sequence[object] = (), **kw: object
) -> LiveSource:
    proc = tmp_path / "proc"
    proc.mkdir(exist_ok=True)
    every = ([page_family(tables)] if tables else []) + list(families)
    return LiveSource(read_topology(SYSFS), every, proc=proc, sysfs=SYSFS, **kw)  # type: ignore[arg-type]


def pages(snap: Snapshot, key_: str) -> int:
    w = snap.process(key_)
    assert w is not None, key_
    return w.total.pages


def test_a_reused_pid_starts_a_new_row_and_keeps_the_totals(tmp_path: Path) -> None:
    tables = FakeTables(LAYOUT.node_slots)
    src = source(tmp_path, tables)
    proc = tmp_path / "proc"
    write_process(proc, 500, "first")
    tables.flush(key(500, cgroup_id=0), counts(tables.slots, {0: (10, 10)}, b"first"))
    assert pages(src.poll(), "pid:500") == 10
    remove_process(proc, 500)
    gone = src.poll()  # the first process has exited
    assert gone.process("pid:500") is not None and not gone.process("pid:500").alive  # type: ignore[union-attr]
    write_process(proc, 500, "second")  # a new process under the same pid
    tables.flush(key(500, cgroup_id=0), counts(tables.slots, {0: (3, 3)}, b"second"))
    snap = src.poll()
    row = snap.process("pid:500")
    assert row is not None and row.name == "second"
    assert row.total.pages == 3, "the new process does not inherit the old one's pages"
    assert pages(snap, "exited") == 10, "the old process's pages are kept, as exited"
    assert sum(n.total.pages for n in snap.nodes) == 13
    assert snap.health.pid_reuses == 1


def test_a_pid_that_stays_alive_is_not_split(tmp_path: Path) -> None:
    tables = FakeTables(LAYOUT.node_slots)
    src = source(tmp_path, tables)
    write_process(tmp_path / "proc", 600, "steady")
    for _ in range(3):
        tables.flush(key(600, cgroup_id=0), counts(tables.slots, {0: (2, 2)}, b"steady"))
        snap = src.poll()
    assert pages(snap, "pid:600") == 6 and snap.health.pid_reuses == 0


def test_pages_outside_the_known_nodes_raise_a_health_note(tmp_path: Path) -> None:
    tables = FakeTables(LAYOUT.node_slots)
    src = source(tmp_path, tables)
    write_process(tmp_path / "proc", 700, "hotadd")
    # Slot 8: a pfn beyond every range compiled into the probe (memory hot-added).
    tables.flush(key(700, cgroup_id=0), counts(tables.slots, {0: (1, 1), 8: (4, 4)}, b"hotadd"))
    health = src.poll().health
    assert health.unknown_node_pages == 4
    assert any(
        "memory outside the known node ranges" in n and "restart to re-read the topology" in n
        for n in health.notes
    )


def test_no_note_while_every_page_is_on_a_known_node(tmp_path: Path) -> None:
    tables = FakeTables(LAYOUT.node_slots)
    src = source(tmp_path, tables)
    tables.flush(key(701, cgroup_id=0), counts(tables.slots, {4: (1, 1)}, b"x"))
    health = src.poll().health
    assert health.unknown_node_pages == 0 and not health.notes


@dataclass
class BrokenFamily:
    """A probe family whose map reads fail after `good` polls."""

    name: str = "reclaim"
    owners: None = None
    owner_capacity: int = 0
    good: int = 1
    closed: bool = False
    polls: int = 0
    fds: dict[str, int] = field(default_factory=lambda: {"on_wake": 901})

    @property
    def attached(self) -> Mapping[str, str]:
        return {"on_wake": "vmscan:mm_vmscan_kswapd_wake"}

    @property
    def missing(self) -> Mapping[str, str]:
        return {}

    def program_fds(self) -> dict[str, int]:
        return self.fds

    def detachers(self) -> list[Callable[[], None]]:
        return []

    def collect(self, kernel: KernelReader) -> FamilyReading:
        self.polls += 1
        if self.polls > self.good:
            raise OSError(9, "Bad file descriptor")
        return FamilyReading()

    def close(self) -> None:
        self.closed = True


def stats(prog_id: int) -> ProgStats:
    return ProgStats(prog_id, "on_wake", 0, 0, 0)


def test_a_family_whose_reads_fail_is_dropped_and_reported(tmp_path: Path) -> None:
    tables = FakeTables(LAYOUT.node_slots)
    family = BrokenFamily()
    src = source(tmp_path, tables, families=[family], prog_stats=lambda fd: stats(5))
    assert src.poll().health.probe_failures == 0
    snap = src.poll()  # the read fails: numascope keeps running without the family
    assert family.closed and src.family("reclaim") is None
    assert snap.health.probe_failures == 1
    assert "stopped mid-run" in snap.health.probes_missing["reclaim (family)"]
    tables.flush(key(42, cgroup_id=0), counts(tables.slots, {0: (1, 1)}, b"x"))
    assert sum(n.total.pages for n in src.poll().nodes) == 1, "page counts go on"


def test_a_program_detached_mid_run_is_reported(tmp_path: Path) -> None:
    family = BrokenFamily(good=1000)
    ids = iter([stats(5), None])  # read once a poll: attached, then its fd is closed
    src = source(tmp_path, families=[family], prog_stats=lambda fd: next(ids, None))
    first = src.poll().health
    assert "vmscan:mm_vmscan_kswapd_wake" in first.probes_attached
    health = src.poll().health
    assert health.probe_failures == 1
    assert "detached mid-run" in health.probes_missing["reclaim.on_wake"]
    assert "vmscan:mm_vmscan_kswapd_wake" not in health.probes_attached
    assert src.poll().health.probe_failures == 1, "reported once"


def test_a_broken_page_map_keeps_kernel_counters_flowing(tmp_path: Path) -> None:
    tables = FakeTables(LAYOUT.node_slots)
    src = source(tmp_path, tables)
    family = src.family("page_alloc")
    assert isinstance(family, PageAllocFamily)

    def broken(*args: object, **kw: object) -> None:
        raise OSError(1, "Operation not permitted")

    family.collector.read = broken  # type: ignore[method-assign,assignment]
    snap = src.poll()
    assert snap.kernel, "numastat is still read"
    assert "page_alloc (family)" in snap.health.probes_missing
    assert snap.health.probe_failures == 1 and src.family("page_alloc") is None


@pytest.mark.parametrize("step", [-3600.0, 86400.0])
def test_a_wall_clock_step_does_not_change_intervals(
    tmp_path: Path, step: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    src = source(tmp_path, FakeTables(LAYOUT.node_slots))
    src.poll()
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + step)
    snap = src.poll()
    assert 0 <= snap.interval < 60


def test_exited_rows_are_capped_oldest_first(tmp_path: Path) -> None:
    tables = FakeTables(LAYOUT.node_slots)
    src = source(tmp_path, tables, max_exited=2)
    for pid in (801, 802, 803, 804):  # each allocates once and is gone by the poll
        tables.flush(key(pid, cgroup_id=0), counts(tables.slots, {0: (1, 1)}, b"short"))
        src.poll()
    snap = src.poll()
    rows = {w.key for w in snap.processes}
    assert {"pid:801", "pid:802"}.isdisjoint(rows), "the oldest exited rows are folded"
    assert {"pid:803", "pid:804"} <= rows
    assert pages(snap, "exited") == 2 and sum(n.total.pages for n in snap.nodes) == 4


def test_rows_retired_during_a_poll_keep_node_and_matrix_totals(tmp_path: Path) -> None:
    # Retiring runs after the maps are read; the "[exited processes]" row it makes
    # must be in the same poll's sums, or totals dip for one poll.
    tables = FakeTables(LAYOUT.node_slots)
    src = source(tmp_path, tables, max_exited=1)
    for pid in (600, 601, 602):
        tables.flush(key(pid, cgroup_id=0), counts(tables.slots, {4: (10, 10)}, b"gone"))
    first = src.poll()  # all three exited (no /proc entry): two are folded at once
    cells = {(c.cpu_node, c.page_node): c.total_events for c in first.matrix}
    assert cells == {(0, 1): 30}
    assert sum(n.total.events for n in first.nodes) == 30
    second = src.poll()
    assert {(c.cpu_node, c.page_node): c.total_events for c in second.matrix} == {(0, 1): 30}
