"""NUMA balancing and memory tiers: parsing, the verdict rule, the collector, the codec."""

from __future__ import annotations

from pathlib import Path

import pytest

from numascope.collectors import balancing_verdict as rule
from numascope.collectors import memory_tiers as mt
from numascope.collectors.balancing import BalancingCollector
from numascope.collectors.numa_sched import MAX_THREADS, ProcessSched, SchedNuma, parse_sched
from numascope.snapshot.balancing import BalancingSection, NodeFaults, Verdict
from numascope.snapshot.codec import decode, encode, snapshot_from_json, snapshot_to_json
from numascope.snapshot.migration import UNKNOWN_NODE, MigrationSection, TaskMoveRow
from numascope.snapshot.model import HostInfo, Snapshot
from numascope.snapshot.sections import Count

FIXTURES = Path(__file__).parent.parent / "fixtures" / "balancing"


def locality(sched: SchedNuma) -> float | None:
    """A one-thread process's locality."""
    return ProcessSched(1, {1: sched}).locality()


def test_parses_the_6_1_shape() -> None:
    sched = parse_sched((FIXTURES / "sched-6.1.txt").read_text())
    assert sched is not None
    assert (sched.name, sched.pages_migrated, sched.preferred_node) == ("toucher", 9731, 0)
    assert (sched.total_faults, sched.current_node, sched.scan_seq) == (1536, 0, 12)
    assert sched.threads == 1
    assert sched.faults == {0: NodeFaults(1200, 0, 0, 0), 1: NodeFaults(336, 0, 0, 0)}
    assert locality(sched) == pytest.approx(1200 / 1536)


def test_parses_the_6_18_shape_with_a_numa_group() -> None:
    sched = parse_sched((FIXTURES / "sched-6.18.txt").read_text())
    assert sched is not None
    assert (sched.name, sched.pages_migrated, sched.preferred_node) == ("java", 204800, 1)
    assert (sched.numa_group_id, sched.threads) == (5151, 40)
    assert sched.faults[1] == NodeFaults(1000, 2000, 3000, 6000)
    # Locality counts the task's own faults (private + shared), on the node it runs on.
    assert locality(sched) == pytest.approx(1000 / 4000)


def test_a_kernel_without_numa_balancing_prints_no_numa_lines() -> None:
    assert parse_sched((FIXTURES / "sched-no-numa.txt").read_text()) is None
    assert parse_sched("") is None


def _input(**kw: object) -> rule.VerdictInput:
    base: dict[str, object] = dict(
        balancing_on=True,
        total_faults=1000,
        locality=0.9,
        previous_locality=0.9,
        migrated=0,
        preferred_flips=0,
        preferred_node=0,
        current_node=0,
    )
    base.update(kw)
    return rule.VerdictInput(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "verdict"),
    [
        (dict(balancing_on=False), Verdict.OFF),
        (dict(total_faults=rule.MIN_FAULTS - 1), Verdict.QUIET),
        (dict(locality=None), Verdict.QUIET),
        (dict(), Verdict.LOCAL),
        (dict(migrated=5000, locality=0.7, previous_locality=0.3), Verdict.IMPROVING),
        (dict(migrated=5000, locality=0.4, previous_locality=0.4), Verdict.CHURNING),
        (
            dict(migrated=5000, locality=0.6, previous_locality=0.6, preferred_flips=2),
            Verdict.CHURNING,
        ),
        # Many pages moved but locality rose: helping, even with a flip or two.
        (
            dict(migrated=5000, locality=0.6, previous_locality=0.3, preferred_flips=3),
            Verdict.IMPROVING,
        ),
        # Below the churn threshold, memory moving toward the CPU it runs on.
        (dict(migrated=100, locality=0.3, previous_locality=0.3), Verdict.IMPROVING),
        (dict(migrated=0, locality=0.3, previous_locality=0.3), Verdict.STUCK),
        (
            dict(migrated=100, locality=0.3, previous_locality=0.3, preferred_node=1),
            Verdict.STUCK,
        ),
        # First reading: nothing migrated yet in the window, so never churning.
        (dict(locality=0.2, previous_locality=None), Verdict.STUCK),
    ],
)
def test_verdict_rule(case: dict[str, object], verdict: Verdict) -> None:
    assert rule.judge(_input(**case)) is verdict


def test_flips_skip_no_preference() -> None:
    assert rule.flips([0, 0, -1, 1, 1, 0]) == 2
    assert rule.flips([-1, -1]) == 0


def _sched(
    name: str, migrated: int, preferred: int, faults: dict[int, int], cur: int, threads: int = 1
) -> str:
    total = sum(faults.values())
    lines = [
        f"{name} (1, #threads: {threads})",
        "-" * 67,
        f"{'numa_pages_migrated':45}: {migrated:20}",
        f"{'numa_preferred_nid':45}: {preferred:20}",
        f"{'total_numa_faults':45}: {total:20}",
        f"current_node={cur}, numa_group_id=0",
    ]
    for node, n in faults.items():
        lines.append(
            f"numa_faults node={node} task_private={n} task_shared=0 group_private=0 group_shared=0"
        )
    return "\n".join(lines) + "\n"


def _tree(tmp_path: Path, mode: int = 1) -> tuple[Path, Path]:
    proc, sysfs = tmp_path / "proc", tmp_path / "sys"
    (proc / "sys/kernel").mkdir(parents=True)
    (proc / "sys/kernel/numa_balancing").write_text(f"{mode}\n")
    (proc / "vmstat").write_text(
        "nr_free_pages 1\nnuma_pte_updates 10\nnuma_huge_pte_updates 0\n"
        "numa_hint_faults 7\nnuma_hint_faults_local 3\nnuma_pages_migrated 4\n"
    )
    return proc, sysfs


def _write(proc: Path, pid: int, text: str, tid: int | None = None) -> None:
    """A thread's sched file as /proc has it (the main thread's when `tid` is None:
    /proc/PID/sched, and /proc/PID/task/PID/sched, which the collector reads)."""
    task = proc / str(pid) / "task" / str(tid if tid is not None else pid)
    task.mkdir(parents=True, exist_ok=True)
    (task / "sched").write_text(text)
    if tid is None:
        (proc / str(pid) / "sched").write_text(text)


def _gone(proc: Path, pid: int, tid: int) -> None:
    task = proc / str(pid) / "task" / str(tid)
    (task / "sched").unlink()
    task.rmdir()


def test_collector_deltas_and_churn_over_two_readings(tmp_path: Path) -> None:
    proc, sysfs = _tree(tmp_path)
    _write(proc, 10, _sched("app", 1000, 1, {0: 300, 1: 700}, 0))
    _write(proc, 11, _sched("idle", 0, -1, {}, 0))
    collector = BalancingCollector([0, 1], proc=proc, sysfs=sysfs, cgroup_root=tmp_path)
    first = collector.read()
    row = first.process(10)
    assert row is not None and row.pages_migrated_delta == 0 and row.verdict is Verdict.STUCK
    assert first.process(11) is None  # no faults, nothing migrated: not carried
    assert first.host.mode == 1 and first.host.total["numa_hint_faults"] == 7
    _write(proc, 10, _sched("app", 9000, 0, {0: 320, 1: 680}, 0))
    second = collector.read()
    row = second.process(10)
    assert row is not None
    assert (row.pages_migrated_delta, row.preferred_flips) == (8000, 1)
    assert row.previous_locality == pytest.approx(0.3)
    assert row.verdict is Verdict.CHURNING


def test_a_process_is_all_its_threads_not_its_idle_main_thread(tmp_path: Path) -> None:
    # A server: the main thread waits; two workers fault, one on node 1's memory
    # from node 1 (local), the busier one on node 1's memory from node 0.
    proc, sysfs = _tree(tmp_path)
    _write(proc, 10, _sched("server", 0, -1, {}, 0, threads=3))
    _write(proc, 10, _sched("worker", 100, 1, {1: 100}, 1), tid=11)
    _write(proc, 10, _sched("worker", 500, 1, {0: 100, 1: 300}, 0), tid=12)
    collector = BalancingCollector([0, 1], proc=proc, sysfs=sysfs, cgroup_root=tmp_path)
    row = collector.read().process(10)
    assert row is not None
    assert (row.name, row.pages_migrated, row.total_faults) == ("server", 600, 500)
    # The busiest thread (tid 12) gives the nodes; locality weighs each thread on its own.
    assert (row.current_node, row.preferred_node) == (0, 1)
    assert row.locality == pytest.approx((100 + 100) / 500)
    assert {n: f.task for n, f in row.faults.items()} == {0: 100, 1: 400}


def test_a_thread_that_exits_takes_nothing_back(tmp_path: Path) -> None:
    proc, sysfs = _tree(tmp_path)
    _write(proc, 10, _sched("app", 0, 0, {0: 10}, 0, threads=2))
    _write(proc, 10, _sched("app", 700, 0, {0: 10}, 0), tid=11)
    collector = BalancingCollector([0], proc=proc, sysfs=sysfs, cgroup_root=tmp_path)
    first = collector.read().process(10)
    assert first is not None and first.pages_migrated == 700
    _write(proc, 10, _sched("app", 900, 0, {0: 10}, 0), tid=11)
    second = collector.read().process(10)
    assert second is not None and (second.pages_migrated, second.pages_migrated_delta) == (900, 200)
    # Thread 11 exits (its 900 leave the sum); thread 12 is born and migrates 50.
    _gone(proc, 10, 11)
    _write(proc, 10, _sched("app", 50, 0, {0: 10}, 0), tid=12)
    third = collector.read().process(10)
    assert third is not None and (third.pages_migrated, third.pages_migrated_delta) == (950, 50)


def test_a_process_of_more_threads_than_are_read_says_how_many_were_left_out(
    tmp_path: Path,
) -> None:
    proc, sysfs = _tree(tmp_path)
    count = MAX_THREADS + 6
    _write(proc, 10, _sched("jvm", 0, 0, {0: 1}, 0, threads=count))
    for tid in range(11, 10 + count):
        _write(proc, 10, _sched("worker", 10, 0, {0: 1}, 0), tid=tid)
    _write(proc, 20, _sched("small", 5, 0, {0: 1}, 0, threads=2))
    _write(proc, 20, _sched("small", 5, 0, {0: 1}, 0), tid=21)
    collector = BalancingCollector([0], proc=proc, sysfs=sysfs, cgroup_root=tmp_path)
    section = collector.read()
    big, small = section.process(10), section.process(20)
    assert big is not None and small is not None
    assert (big.threads, big.threads_read, big.threads_left_out) == (count, MAX_THREADS, 6)
    assert big.pages_migrated == 10 * (MAX_THREADS - 1)  # the lowest thread ids after main
    assert (small.threads, small.threads_read, small.threads_left_out) == (2, 2, 0)
    detail = " ".join(_detail_text(section, 10).split())
    assert f"{MAX_THREADS} of its {count} threads read: the figures leave 6 out" in detail
    assert "threads read" not in _detail_text(section, 20)


def test_the_budget_counts_threads_read(tmp_path: Path) -> None:
    proc, sysfs = _tree(tmp_path)
    for pid in (100, 200):
        _write(proc, pid, _sched("w", 1, 0, {0: 20}, 0, threads=5))
        for tid in range(pid + 1, pid + 5):
            _write(proc, pid, _sched("w", 1, 0, {0: 20}, 0), tid=tid)
    collector = BalancingCollector([0], proc=proc, sysfs=sysfs, cgroup_root=tmp_path, budget=4)
    sections = [collector.read() for _ in range(2)]
    assert [s.read_this_poll for s in sections] == [1, 1]
    assert [p.pid for p in sections[0].processes] == [100]
    assert {p.pid for p in sections[1].processes} == {100, 200}


def test_collector_reads_within_its_budget_round_robin(tmp_path: Path) -> None:
    proc, sysfs = _tree(tmp_path)
    for pid in range(100, 110):
        _write(proc, pid, _sched("w", 1, 0, {0: 20}, 0))
    collector = BalancingCollector([0], proc=proc, sysfs=sysfs, cgroup_root=tmp_path, budget=4)
    sections = [collector.read() for _ in range(3)]
    assert [s.read_this_poll for s in sections] == [4, 4, 4]
    assert sections[0].rotation_polls == 3
    # After three polls of four, every one of the ten was read at least once.
    assert {p.pid for p in sections[2].processes} == set(range(100, 110))


def test_tiers_and_cpuless_node_with_promotion_counters(tmp_path: Path) -> None:
    proc, sysfs = _tree(tmp_path, mode=2)
    tiering = sysfs / "devices/virtual/memory_tiering"
    for tier, nodes in ((4, "0-1"), (22, "2")):
        (tiering / f"memory_tier{tier}").mkdir(parents=True)
        (tiering / f"memory_tier{tier}/nodelist").write_text(nodes + "\n")
    (sysfs / "kernel/mm/numa").mkdir(parents=True)
    (sysfs / "kernel/mm/numa/demotion_enabled").write_text("true\n")
    for node in (0, 1, 2):
        folder = sysfs / f"devices/system/node/node{node}"
        folder.mkdir(parents=True)
        folder.joinpath("vmstat").write_text(
            f"nr_free_pages 5\npgpromote_success {node * 10}\npgdemote_kswapd {node}\n"
            "pgdemote_direct 0\npgdemote_khugepaged 0\n"
        )
    collector = BalancingCollector([0, 1, 2], [2], proc=proc, sysfs=sysfs, cgroup_root=tmp_path)
    section = collector.read()
    assert [(t.node, t.tier, t.cpuless) for t in section.tiers] == [
        (0, 4, False),
        (1, 4, False),
        (2, 22, True),
    ]
    assert section.tiers[2].total["pgpromote_success"] == 20
    assert "pgdemote_proactive" not in section.tiers[2].total  # not printed: not available
    assert section.demotion_enabled is True
    assert not section.host.enabled  # mode 2 tiers memory but does not balance it


def test_absent_sysfs_is_not_available_not_zero(tmp_path: Path) -> None:
    proc, sysfs = tmp_path / "proc", tmp_path / "sys"
    proc.mkdir()
    section = BalancingCollector([0], proc=proc, sysfs=sysfs, cgroup_root=tmp_path).read(["/a"])
    assert section.host.mode is None and section.host.total == {}
    assert section.tiers[0].tier is None and section.tiers[0].total == {}
    assert section.demotion_enabled is None
    assert section.cgroups[0].numa_pages_migrated is None
    assert section.notes  # says the kernel has no NUMA balancing


def test_cgroup_v2_memory_stat_fields(tmp_path: Path) -> None:
    proc, sysfs = _tree(tmp_path)
    (tmp_path / "cg/a").mkdir(parents=True)
    (tmp_path / "cg/a/memory.stat").write_text(
        "anon 4096\npgpromote_success 3\nnuma_pages_migrated 12\nnuma_pte_updates 40\n"
        "numa_hint_faults 33\n"
    )
    collector = BalancingCollector([0], proc=proc, sysfs=sysfs, cgroup_root=tmp_path / "cg")
    (cgroup,) = collector.read(["/a"]).cgroups
    assert (cgroup.numa_pages_migrated, cgroup.numa_hint_faults) == (12, 33)
    assert cgroup.pgdemote_kswapd is None


def test_section_round_trips_and_old_snapshots_still_load(tmp_path: Path) -> None:
    proc, sysfs = _tree(tmp_path)
    _write(proc, 10, (FIXTURES / "sched-6.18.txt").read_text())
    section = BalancingCollector([0, 1], proc=proc, sysfs=sysfs, cgroup_root=tmp_path).read()
    assert decode(BalancingSection, encode(section)) == section
    snap = Snapshot(1, 0.0, 1.0, "test", HostInfo(), (), balancing=section)
    assert snapshot_from_json(snapshot_to_json(snap)) == snap
    old = snapshot_to_json(Snapshot(1, 0.0, 1.0, "test", HostInfo(), ()))
    old = old.replace(',"balancing":null', "")
    assert '"balancing"' not in old
    assert snapshot_from_json(old).balancing is None


def test_host_counter_keys_follow_vmstat() -> None:
    assert "numa_hint_faults_local" in mt.HOST_KEYS
    assert mt.deltas({"a": 5}, {"a": 2}) == {"a": 3}
    assert mt.deltas({"a": 5}, None) == {"a": 0}


def test_a_churning_process_is_a_finding_and_others_are_not() -> None:
    from numascope.policy.balancing import BALANCING_CHURNS, judge_balancing
    from numascope.snapshot.balancing import ProcessBalancing

    def row(pid: int, verdict: Verdict) -> ProcessBalancing:
        return ProcessBalancing(pid, "w", 0, 1, 9000, 8000, 100, verdict=verdict, locality=0.3)

    section = BalancingSection(
        processes=(row(1, Verdict.CHURNING), row(2, Verdict.IMPROVING), row(3, Verdict.STUCK))
    )
    snap = Snapshot(1, 0.0, 1.0, "test", HostInfo(), (), balancing=section)
    (finding,) = judge_balancing(snap)
    assert (finding.kind, finding.pid, finding.workload_key) == (BALANCING_CHURNS, 1, "pid:1")
    assert "migrated 8000 pages" in finding.message and "30% local" in finding.message
    assert finding.evidence["ratio"] == 0.7  # the remote share of its faults
    assert judge_balancing(Snapshot(1, 0.0, 1.0, "test", HostInfo(), ())) == []


def _detail_text(
    section: BalancingSection, pid: int, migrations: MigrationSection | None = None
) -> str:
    from numascope.tui.balancing import balancing_detail

    snap = Snapshot(1, 0.0, 1.0, "test", HostInfo(), (), balancing=section, migrations=migrations)
    return _rendered(balancing_detail(pid, snap))


def test_the_detail_shows_the_threads_balancing_moved_swapped_or_could_not_move(
    tmp_path: Path,
) -> None:
    proc, sysfs = _tree(tmp_path)
    _write(proc, 10, _sched("java", 0, 1, {0: 30, 1: 70}, 0))
    section = BalancingCollector([0, 1], proc=proc, sysfs=sysfs, cgroup_root=tmp_path).read()
    moves = (
        TaskMoveRow(10, "java", "moved", {1: Count(3, 1)}),
        TaskMoveRow(10, "java", "stuck", {UNKNOWN_NODE: Count(40, 5), 1: Count(2, 0)}),
        TaskMoveRow(11, "other", "swapped", {1: Count(9, 9)}),
    )
    counted = MigrationSection(task_moves=moves, tracks_task_moves=True)
    text = " ".join(_detail_text(section, 10, counted).split())
    assert "threads NUMA balancing moved 3 (N1 3) · swapped 0 · stuck 42 (no CPU 40, N1 2)" in text
    # Without the sched_*_numa tracepoints nothing is claimed, not even 0.
    untracked = MigrationSection(task_moves=(), tracks_task_moves=False)
    assert "threads NUMA balancing" not in _detail_text(section, 10, untracked)


def _rendered(renderable: object) -> str:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


def test_cgroup_rows_show_memory_stat_or_say_why_not() -> None:
    from numascope.snapshot.balancing import CgroupBalancing
    from numascope.tui.balancing import balancing_detail

    section = BalancingSection(
        cgroups=(
            CgroupBalancing("/new", numa_pages_migrated=12, numa_hint_faults=33),
            CgroupBalancing("/old"),
        )
    )
    snap = Snapshot(1, 0.0, 1.0, "test", HostInfo(), (), balancing=section)
    assert "pages migrated 12 · hint faults 33 · PTE updates n/a" in _rendered(
        balancing_detail(None, snap, "/new")
    )
    assert "no NUMA balancing fields" in _rendered(balancing_detail(None, snap, "/old"))


def test_snapshot_text_names_the_mode_the_tiers_and_the_churning_process() -> None:
    from numascope.exporters.text.render import render
    from tests.fixtures.balancing_section import balancing

    snap = Snapshot(1, 0.0, 1.0, "test", HostInfo(), (), balancing=balancing(2, 0.0))
    text = render(snap)
    assert "numa balancing: on  demotion: on  tiers: node 0: 4, node 1: 4" in text
    line = next(x for x in text.splitlines() if "membound" in x)
    assert line.split() == ["4242", "membound", "churning", "30", "5000", "0", "0"]


def test_a_snapshot_carries_at_most_max_rows_churning_first_and_counts_all(
    tmp_path: Path,
) -> None:
    proc, sysfs = _tree(tmp_path)
    for pid in range(100, 110):
        _write(proc, pid, _sched("w", 10, 0, {0: 20}, 0))
    collector = BalancingCollector([0, 1], proc=proc, sysfs=sysfs, cgroup_root=tmp_path, max_rows=3)
    collector.read()
    _write(proc, 105, _sched("w", 9000, 1, {0: 10, 1: 30}, 0))
    section = collector.read()
    assert section.processes[0].pid == 105
    assert section.processes[0].verdict is Verdict.CHURNING
    assert (len(section.processes), section.left_out) == (3, 7)
    assert section.verdicts == {"local": 9, "churning": 1}
