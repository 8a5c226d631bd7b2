"""The policy engine against crafted snapshots: every placement kind, pass and fail."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numascope.collectors.mempolicy import MemPolicy, ProcessPolicy
from numascope.config import Config, PolicyHolder
from numascope.policy import (
    DRIFT,
    INTERLEAVE_IMBALANCE,
    OUTSIDE_BIND,
    PREFERRED_FALLBACK,
    REMOTE_ALLOCATION,
    PolicyEngine,
    RollingWindow,
    evaluate,
    judge_drift,
    with_findings,
)
from numascope.policy import engine as engine_module
from numascope.policy.judge import judge
from numascope.policy.matching import RuleMemo, WorkloadFacts
from numascope.snapshot.model import HostInfo, Locality, Severity, Snapshot, Workload, WorkloadKind


def locality(pages: Mapping[int, int], cpu_node: int = 0) -> Locality:
    local = sum(p for n, p in pages.items() if n == cpu_node)
    return Locality(
        pages_by_node=dict(pages),
        events_by_node=dict(pages),
        local_pages=local,
        remote_pages=sum(pages.values()) - local,
        local_events=local,
        remote_events=sum(pages.values()) - local,
    )


def workload(
    name: str,
    pages: Mapping[int, int],
    pid: int | None = 100,
    cpu_node: int = 0,
    kind: WorkloadKind = WorkloadKind.PROCESS,
    cgroup: str | None = None,
) -> Workload:
    key = f"pid:{pid}" if pid is not None else f"{kind.value}:{name}"
    loc = locality(pages, cpu_node)
    return Workload(key, kind, name, total=loc, delta=loc, pid=pid, cgroup=cgroup)


def snapshot(*workloads: Workload, seq: int = 1, interval: float = 1.0) -> Snapshot:
    return Snapshot(
        seq=seq,
        time=float(seq) * interval,
        interval=interval,
        source="test",
        host=HostInfo(),
        nodes=(),
        processes=workloads,
    )


def config(placement: Any, **thresholds: Any) -> Config:
    return Config.model_validate(
        {
            "rules": [{"name": "app", "match": {"comm": "app"}, "placement": placement}],
            "thresholds": {"min-pages": 100, **thresholds},
        }
    )


# (placement, pages by node, cpu node, expected finding kind or None, expected severity)
CASES = [
    # local: pages from the CPU's own node pass; remote ones fail by ratio.
    ("local", {0: 1000}, 0, None, None),
    ("local", {0: 950, 1: 50}, 0, None, None),
    ("local", {0: 800, 1: 200}, 0, REMOTE_ALLOCATION, Severity.WARNING),
    ("local", {1: 1000}, 0, REMOTE_ALLOCATION, Severity.CRITICAL),
    ("local", {1: 1000}, 1, None, None),
    # bind: anything outside the set counts.
    ({"bind": [1]}, {1: 1000}, 0, None, None),
    ({"bind": [0, 1]}, {0: 500, 1: 500}, 0, None, None),
    ({"bind": [1]}, {0: 300, 1: 700}, 0, OUTSIDE_BIND, Severity.WARNING),
    ({"bind": [1]}, {0: 1000}, 1, OUTSIDE_BIND, Severity.CRITICAL),
    ({"bind": [1]}, {-1: 5000, 1: 200}, 0, None, None),
    # preferred: fallback to other nodes over the thresholds.
    ({"preferred": 1}, {1: 990, 0: 10}, 0, None, None),
    ({"preferred": 1}, {1: 600, 0: 400}, 1, PREFERRED_FALLBACK, Severity.WARNING),
    ({"preferred": 1}, {0: 1000}, 0, PREFERRED_FALLBACK, Severity.CRITICAL),
    # preferred-many: any of the set is fine.
    ({"preferred-many": [0, 1]}, {0: 500, 1: 500}, 0, None, None),
    (
        {"preferred-many": [1, 2]},
        {0: 600, 1: 200, 2: 200},
        1,
        PREFERRED_FALLBACK,
        Severity.CRITICAL,
    ),
    # interleave: shares against targets (equal, or weighted).
    ({"interleave": [0, 1]}, {0: 520, 1: 480}, 0, None, None),
    ({"interleave": [0, 1]}, {0: 700, 1: 300}, 0, INTERLEAVE_IMBALANCE, Severity.WARNING),
    ({"interleave": [0, 1]}, {0: 1000}, 0, INTERLEAVE_IMBALANCE, Severity.CRITICAL),
    ({"interleave": [0, 1], "weights": [3, 1]}, {0: 750, 1: 250}, 0, None, None),
    (
        {"interleave": [0, 1], "weights": [3, 1]},
        {0: 500, 1: 500},
        0,
        INTERLEAVE_IMBALANCE,
        Severity.WARNING,
    ),
    ({"interleave": [0, 1]}, {0: 300, 1: 300, 2: 400}, 0, INTERLEAVE_IMBALANCE, Severity.CRITICAL),
]


@pytest.mark.parametrize(("placement", "pages", "cpu_node", "kind", "severity"), CASES)
def test_placement_kinds(
    placement: Any,
    pages: dict[int, int],
    cpu_node: int,
    kind: str | None,
    severity: Severity | None,
) -> None:
    snap = snapshot(workload("app", pages, pid=4242, cpu_node=cpu_node))
    findings = evaluate(snap, config(placement))
    if kind is None:
        assert findings == ()
        return
    assert len(findings) == 1
    finding = findings[0]
    assert (finding.kind, finding.severity) == (kind, severity)
    assert finding.rule == "app"
    assert finding.pid == 4242
    assert finding.workload_key == "pid:4242"
    assert "pid 4242" in finding.message and "'app'" in finding.message
    evidence = finding.evidence
    assert evidence["pages_by_node"] == {str(n): p for n, p in sorted(pages.items())}
    assert evidence["window_seconds"] == 1.0
    assert 0 < float(evidence["ratio"]) <= 1  # type: ignore[arg-type]


def test_too_few_pages_are_not_judged() -> None:
    snap = snapshot(workload("app", {1: 99}))
    assert evaluate(snap, config("local")) == ()
    assert evaluate(snapshot(workload("app", {1: 100})), config("local")) != ()


def test_interrupts_and_overflow_are_not_judged() -> None:
    snap = snapshot(
        workload("NET_RX", {1: 5000}, pid=None, kind=WorkloadKind.SOFTIRQ),
        workload("nvme0q1", {1: 5000}, pid=None, kind=WorkloadKind.HARDIRQ),
        workload("other", {1: 5000}, pid=None, kind=WorkloadKind.OTHER),
    )
    catch_all = Config.model_validate({"rules": [{"name": "all", "placement": "local"}]})
    assert evaluate(snap, catch_all) == ()


def test_kernel_threads_are_judged() -> None:
    snap = snapshot(workload("kswapd0", {1: 5000}, pid=90, kind=WorkloadKind.KTHREAD))
    findings = evaluate(snap, Config())
    assert [f.kind for f in findings] == [REMOTE_ALLOCATION]
    assert findings[0].rule == "default"


def test_first_matching_rule_wins_and_default_applies() -> None:
    cfg = Config.model_validate(
        {
            "rules": [
                {"name": "db", "match": {"comm": "post*"}, "placement": {"bind": [1]}},
                {"name": "also-db", "match": {"comm": "postgres"}, "placement": "local"},
            ],
            "thresholds": {"min-pages": 1},
        }
    )
    snap = snapshot(workload("postgres", {1: 500}, pid=1), workload("cron", {1: 500}, pid=2))
    findings = {f.workload_key: f for f in evaluate(snap, cfg)}
    assert "pid:1" not in findings
    assert findings["pid:2"].rule == "default"
    assert findings["pid:2"].kind == REMOTE_ALLOCATION


def test_matching_on_exe_cgroup_user_and_pid_needs_kernel_facts() -> None:
    cfg = Config.model_validate(
        {
            "rules": [
                {
                    "name": "batch",
                    "match": {
                        "exe": "/usr/bin/stress*",
                        "cgroup": "/system.slice/*.service",
                        "user": 1000,
                        "pid": 4242,
                        "comm-regex": "^stress",
                    },
                    "placement": {"bind": [1]},
                }
            ],
            "thresholds": {"min-pages": 1},
        }
    )
    snap = snapshot(workload("stress-ng", {1: 500}, pid=4242))
    kernel = ProcessPolicy(
        pid=4242,
        comm="stress-ng",
        dominant=MemPolicy("bind", (), (1,)),
        exe="/usr/bin/stress-ng",
        cgroup="/system.slice/batch.service",
        uid=1000,
        user="batch",
    )
    assert evaluate(snap, cfg, {4242: kernel}) == ()
    # Without procfs facts the rule cannot match; the default (local) judges it.
    [finding] = evaluate(snap, cfg)
    assert (finding.rule, finding.kind) == ("default", REMOTE_ALLOCATION)


def test_rule_severity_overrides_the_threshold_level() -> None:
    cfg = Config.model_validate(
        {
            "rules": [{"name": "quiet", "placement": "local", "severity": "info"}],
            "thresholds": {"min-pages": 1},
        }
    )
    [finding] = evaluate(snapshot(workload("x", {1: 1000})), cfg)
    assert finding.severity is Severity.INFO


def test_findings_are_sorted_worst_first_and_attach() -> None:
    snap = snapshot(
        workload("a", {0: 800, 1: 200}, pid=1),
        workload("b", {1: 1000}, pid=2),
    )
    findings = evaluate(snap, Config.model_validate({"thresholds": {"min-pages": 1}}))
    assert [f.severity for f in findings] == [Severity.CRITICAL, Severity.WARNING]
    attached = with_findings(snap, findings)
    assert attached.findings == findings
    assert attached.processes == snap.processes


def kernel_policy(
    mode: str, nodes: tuple[int, ...] = (), mems: tuple[int, ...] = (0, 1)
) -> ProcessPolicy:
    policy = MemPolicy(mode, (), nodes)
    return ProcessPolicy(
        pid=4242,
        comm="app",
        dominant=policy,
        regions_by_policy={str(policy): 3},
        mems_allowed=mems,
    )


DRIFT_CASES = [
    ("local", kernel_policy("default"), False),
    ("local", kernel_policy("local"), False),
    ("local", kernel_policy("bind", (1,)), True),
    ({"bind": [1]}, kernel_policy("bind", (1,)), False),
    ({"bind": [1]}, kernel_policy("default"), True),
    ({"bind": [1]}, kernel_policy("default", mems=(1,)), False),
    ({"bind": [0, 1]}, kernel_policy("bind", (1,)), True),
    ({"preferred": 1}, kernel_policy("prefer", (1,)), False),
    ({"preferred": 1}, kernel_policy("prefer", (0,)), True),
    ({"preferred": 1}, kernel_policy("default"), True),
    ({"preferred-many": [0, 1]}, kernel_policy("prefer (many)", (0, 1)), False),
    ({"preferred-many": [0, 1]}, kernel_policy("interleave", (0, 1)), True),
    ({"interleave": [0, 1]}, kernel_policy("interleave", (0, 1)), False),
    ({"interleave": [0, 1]}, kernel_policy("weighted interleave", (0, 1)), False),
    ({"interleave": [0, 1]}, kernel_policy("interleave", (0,)), True),
    ({"interleave": [0, 1]}, kernel_policy("default"), True),
]


@pytest.mark.parametrize(("placement", "kernel", "drifts"), DRIFT_CASES)
def test_drift(placement: Any, kernel: ProcessPolicy, drifts: bool) -> None:
    cfg = config(placement)
    snap = snapshot(workload("app", {}, pid=4242))
    findings = evaluate(snap, cfg, {4242: kernel})
    assert [f.kind for f in findings] == ([DRIFT] if drifts else [])
    if drifts:
        assert findings[0].evidence["actual"] == str(kernel.dominant)
        assert findings[0].rule == "app"
    rule = cfg.rules[0]
    assert (judge_drift(rule.placement, kernel) is not None) == drifts


def test_membind_under_local_gives_remote_finding_and_drift() -> None:
    snap = snapshot(workload("app", {1: 66833}, pid=4242, cpu_node=0))
    findings = evaluate(snap, config("local"), {4242: kernel_policy("bind", (1,))})
    assert {f.kind for f in findings} == {REMOTE_ALLOCATION, DRIFT}
    assert all(f.pid == 4242 and f.rule == "app" for f in findings)
    assert evaluate(snap, config({"bind": [1]}), {4242: kernel_policy("bind", (1,))}) == ()


def test_window_sums_deltas_until_enough_pages() -> None:
    cfg = config("local", **{"window-seconds": 3})
    window = RollingWindow(cfg.thresholds.window_seconds)
    results = [
        evaluate(snapshot(workload("app", {1: 40}), seq=seq), cfg, window=window)
        for seq in (1, 2, 3, 4)
    ]
    # 40 pages a second: 80 after two seconds, 120 (>= 100) from the third on.
    assert [len(r) for r in results] == [0, 0, 1, 1]
    assert results[3][0].evidence["pages"] == 120
    assert results[3][0].evidence["window_seconds"] == 3.0
    assert window.seconds == 3.0


def test_window_resets_when_time_goes_back() -> None:
    window = RollingWindow(10)
    window.add(snapshot(workload("app", {1: 40}), seq=5))
    window.add(snapshot(workload("app", {1: 40}), seq=5))  # the same snapshot again
    assert window.locality("pid:100").pages == 40
    window.add(snapshot(workload("app", {1: 7}), seq=1))
    assert window.locality("pid:100").pages == 7


def test_engine_follows_reloaded_window(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("thresholds: {min-pages: 100, window-seconds: 1}\n")
    engine = PolicyEngine(PolicyHolder.open(path), proc=None)
    first = engine.judge(snapshot(workload("app", {1: 60}), seq=1))
    assert first.findings == ()
    path.write_text("thresholds: {min-pages: 100, window-seconds: 5}\n")
    assert engine.holder.reload() is None
    engine.judge(snapshot(workload("app", {1: 60}), seq=2))
    third = engine.judge(snapshot(workload("app", {1: 60}), seq=3))
    assert [f.kind for f in third.findings] == [REMOTE_ALLOCATION]


FIXTURE_PROC = str(Path(__file__).parent.parent / "fixtures" / "proc")


def test_engine_reads_procfs_for_drift_and_caches_it(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "rules:\n"
        "  - name: batch\n"
        "    match: {exe: /usr/bin/stress-ng}\n"
        "    placement: {bind: [1]}\n"
        "  - name: db\n"
        "    match: {comm: postgres}\n"
        "    placement: {interleave: [0, 1]}\n"
        "thresholds: {window-seconds: 5}\n"
    )
    now = [0.0]
    engine = PolicyEngine(PolicyHolder.open(path), proc=FIXTURE_PROC, clock=lambda: now[0])
    snap = snapshot(workload("stress-ng", {}, pid=4242), workload("postgres", {}, pid=4343))
    judged = engine.judge(snap)
    # stress-ng runs under bind:1 as configured; postgres runs with `default`.
    assert [(f.workload_key, f.kind, f.rule) for f in judged.findings] == [
        ("pid:4343", DRIFT, "db")
    ]
    assert "kernel applies 'default', expected interleave:0,1" in judged.findings[0].message
    calls: list[int] = []
    real = engine_module.read_process_policy

    def counting(pid: int, *, proc: Any = "/proc") -> Any:
        calls.append(pid)
        return real(pid, proc=proc)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine_module, "read_process_policy", counting)
        now[0] = 4.0
        engine.judge(snapshot(*snap.processes, seq=2))
        assert calls == []
        now[0] = 5.0
        engine.judge(snapshot(*snap.processes, seq=3))
        assert sorted(calls) == [4242, 4343]


def test_engine_without_procfs_judges_traffic_only() -> None:
    engine = PolicyEngine(PolicyHolder(Config()), proc=None)
    judged = engine.judge(snapshot(workload("x", {1: 1000}, pid=4343)))
    assert [f.kind for f in judged.findings] == [REMOTE_ALLOCATION]


def test_kernel_policies_are_read_a_bounded_number_per_poll_new_first_then_oldest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    def reading(pid: int, *, proc: Any = "/proc") -> ProcessPolicy:
        calls.append(pid)
        return kernel_policy("default", ())

    monkeypatch.setattr(engine_module, "read_process_policy", reading)
    now = [0.0]
    holder = PolicyHolder(Config.model_validate({"thresholds": {"window-seconds": 5}}))
    engine = PolicyEngine(holder, proc="/nonexistent", clock=lambda: now[0], reads_per_poll=4)
    procs = [workload("app", {}, pid=pid) for pid in range(1, 11)]
    for seq in (1, 2, 3):
        engine.judge(snapshot(*procs, seq=seq))
        now[0] += 1.0
    # Ten new processes, four a poll: all read within three polls, in order.
    assert calls == list(range(1, 11))
    calls.clear()
    now[0] = 5.5  # pids 1-4 (read at 0 s) are a window old
    engine.judge(snapshot(*procs, workload("new", {}, pid=11), seq=4))
    assert calls == [11, 1, 2, 3]  # the new one first, then the longest unread
    calls.clear()
    now[0] = 6.5  # and 5-8 (read at 1 s) now too: 4 was due first
    engine.judge(snapshot(*procs, seq=5))
    assert calls == [4, 5, 6, 7]


def test_kernel_policy_reads_stop_once_a_poll_spent_its_read_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [0.0]
    calls: list[int] = []
    walk = [0.003]  # how long a process's numa_maps take to read

    def slow_reading(pid: int, *, proc: Any = "/proc") -> ProcessPolicy:
        calls.append(pid)
        now[0] += walk[0]
        return kernel_policy("default", ())

    monkeypatch.setattr(engine_module, "read_process_policy", slow_reading)
    holder = PolicyHolder(Config())
    engine = PolicyEngine(holder, proc="/nonexistent", clock=lambda: now[0], read_seconds=0.004)
    procs = [workload("app", {}, pid=pid) for pid in range(1, 8)]
    engine.judge(snapshot(*procs, seq=1))
    assert calls == [1, 2]  # 3 ms, then 6 ms: over 4 ms, the rest wait
    engine.judge(snapshot(*procs, seq=2))
    assert calls == [1, 2, 3, 4]  # the unread ones first, in order
    walk[0] = 1.0  # a huge process: one read is over the budget, and still happens
    engine.judge(snapshot(*procs, seq=3))
    assert calls == [1, 2, 3, 4, 5]


def test_rules_and_drift_are_remembered_until_the_facts_change() -> None:
    memo = RuleMemo()
    cfg = config({"bind": [1]})
    app = WorkloadFacts(comm="app", pid=7)
    assert memo.rule_for(cfg, app) is memo.rule_for(cfg, app)
    assert memo.rule_for(cfg, app).name == "app"
    assert memo.rule_for(cfg, WorkloadFacts(comm="other", pid=7)).name == "default"
    placement = memo.rule_for(cfg, app).placement
    kernel = kernel_policy("default", ())
    first = memo.drift("pid:7", placement, kernel)
    assert first is not None and first.kind == DRIFT
    assert memo.drift("pid:7", placement, kernel) is first
    # A policy read again (the process now bound as configured) is judged again.
    assert memo.drift("pid:7", placement, kernel_policy("bind", (1,))) is None
    # Another config: its rules, not the remembered ones.
    other = config("local")
    assert memo.rule_for(other, app).placement.kind == "local"
    # Kept over one poll; what a poll did not ask for is gone after the next.
    kept = memo.rule_for(other, app)
    memo.next_poll()
    assert memo.rule_for(other, app) is kept
    memo.next_poll()
    memo.next_poll()
    assert memo._rules == {} and memo._rules_before == {}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.dictionaries(st.sampled_from(["pid:1", "pid:2", "pid:3"]), st.integers(0, 50)),
            st.sampled_from([0.5, 1.0, 2.0]),
        ),
        max_size=20,
    ),
    st.sampled_from([1.0, 3.0, 5.0]),
)
def test_the_window_keeps_the_sum_of_its_snapshots(
    polls: list[tuple[dict[str, int], float]], seconds: float
) -> None:
    """The running sums equal summing the snapshots still in the window."""
    window = RollingWindow(seconds)
    kept: list[tuple[float, dict[str, int]]] = []
    for seq, (pages, interval) in enumerate(polls, start=1):
        procs = [
            Workload(key, WorkloadKind.PROCESS, key, locality({1: n}), locality({1: n}), pid=1)
            for key, n in pages.items()
        ]
        window.add(
            Snapshot(
                seq=seq,
                time=float(seq),
                interval=interval,
                source="t",
                host=HostInfo(),
                nodes=(),
                processes=tuple(procs),
            )
        )
        kept.append((interval, pages))
        while len(kept) > 1 and sum(i for i, _ in kept) - kept[0][0] >= seconds:
            kept.pop(0)
        for key in ("pid:1", "pid:2", "pid:3"):
            expected = sum(p.get(key, 0) for _, p in kept)
            assert window.pages(key) == expected
            assert window.locality(key).pages == expected
            assert window.locality(key).pages_by_node.get(1, 0) == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.dictionaries(
                st.sampled_from(["pid:1", "pid:2", "pid:3"]),
                st.dictionaries(st.sampled_from([-1, 0, 1, 3]), st.integers(0, 40), min_size=1),
            ),
            st.sampled_from([0.5, 1.0, 2.0]),
        ),
        max_size=15,
    ),
    st.sampled_from([1.0, 3.0]),
)
def test_the_window_sums_every_node_as_nodes_come_and_go(
    polls: list[tuple[dict[str, dict[int, int]], float]], seconds: float
) -> None:
    """Snapshots naming different nodes (a node seen first mid-run) add up by node,
    and a workload gone from the window gives its slot back."""
    window = RollingWindow(seconds)
    kept: list[tuple[float, list[Workload]]] = []
    now = 0.0
    for seq, (pages, interval) in enumerate(polls, start=1):
        procs = [
            Workload(key, WorkloadKind.PROCESS, key, locality(p), locality(p), pid=1)
            for key, p in pages.items()
        ]
        now += interval
        window.add(dataclasses.replace(snapshot(*procs, seq=seq, interval=interval), time=now))
        kept.append((interval, procs))
        while len(kept) > 1 and sum(i for i, _ in kept) - kept[0][0] >= seconds:
            kept.pop(0)
        for key in ("pid:1", "pid:2", "pid:3"):
            deltas = [w.delta for _, ws in kept for w in ws if w.key == key and w.delta.pages]
            got = window.locality(key)
            assert got.pages == sum(d.pages for d in deltas)
            assert got.remote_pages == sum(d.remote_pages for d in deltas)
            for node in (-1, 0, 1, 3):
                assert got.pages_by_node.get(node, 0) == sum(
                    d.pages_by_node.get(node, 0) for d in deltas
                )
        moving = {w.key for _, ws in kept for w in ws if w.delta.pages}
        assert window.held == len(moving)


def test_a_spawn_storm_leaves_the_window_holding_only_its_span() -> None:
    window = RollingWindow(2)
    for seq in range(1, 60):
        # 500 new processes every second, each allocating once.
        procs = [workload("p", {0: 3}, pid=seq * 1000 + i) for i in range(500)]
        window.add(snapshot(*procs, seq=seq))
    assert window.held == 2 * 500


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 400)), min_size=1, max_size=12),
    st.sampled_from([0.1, 0.25, 0.5, 1.0]),
)
def test_telling_quiet_workloads_apart_at_once_finds_what_judging_each_finds(
    pages: list[tuple[int, int]], warning: float
) -> None:
    """Under `local`, the workloads whose remote share is below the warning are
    left out before any Locality is built: the findings are still exactly those
    judge_local gives for each (shares at the threshold itself included)."""
    cfg = config("local", **{"remote-ratio-warning": warning, "remote-ratio-critical": 1.0})
    procs = [
        workload("app", {0: local, 1: remote}, pid=10 + i)
        for i, (local, remote) in enumerate(pages)
    ]
    # A share exactly at the threshold: remote = warning x pages.
    procs.append(workload("app", {0: 1000 - int(1000 * warning), 1: int(1000 * warning)}, pid=9))
    found = {f.workload_key for f in evaluate(snapshot(*procs), cfg)}
    expected = {
        w.key
        for w in procs
        if w.delta.pages >= 100
        and judge(cfg.rules[0].placement, w.delta, cfg.thresholds) is not None
    }
    assert found == expected


def test_columns_from_the_attributor_judge_as_their_workloads_do(tmp_path: Path) -> None:
    from numascope.collectors.attribution import Attributor
    from numascope.collectors.names import CgroupResolver
    from numascope.collectors.owner_table import OwnerKey
    from numascope.probes.page_alloc import PageAllocLayout
    from numascope.snapshot.columns import WorkloadColumns
    from numascope.topology import read_topology
    from tests.fakes.owner_objects import OwnerTotals, attribute

    topo = read_topology(Path(__file__).parent.parent / "fixtures" / "sysfs" / "two-node")
    layout = PageAllocLayout(topo.node_ids)
    attr = Attributor(topo, layout, proc=tmp_path, sysfs=tmp_path, cgroups=CgroupResolver(tmp_path))
    slots = layout.count_slots

    def totals(node_slot: int, pages: int) -> OwnerTotals:
        counts = [0] * slots
        counts[node_slot * layout.order_classes] = pages
        return OwnerTotals(list(counts), list(counts), b"app")

    owners = {
        OwnerKey(21, 0, 0, 0): totals(0, 500),  # local
        OwnerKey(22, 0, 0, 0): totals(1, 500),  # remote
        OwnerKey(23, 0, 0, 1): totals(0, 90),  # remote, too few pages
    }
    processes = attribute(attr, owners, {21, 22, 23}, 1.0).processes
    assert isinstance(processes, WorkloadColumns)
    cfg = config("local")
    policies = {22: kernel_policy("bind", (1,))}
    columns = evaluate(dataclasses.replace(snapshot(), processes=processes), cfg, policies)
    as_objects = evaluate(snapshot(*processes), cfg, policies)
    assert columns == as_objects
    assert sorted((f.workload_key, f.kind) for f in columns) == [
        ("pid:22", DRIFT),
        ("pid:22", REMOTE_ALLOCATION),
    ]
