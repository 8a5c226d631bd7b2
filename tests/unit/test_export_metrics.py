"""The exporter's /metrics from recorded streams: golden output, hostile names, budget."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from numascope.capture.replay import ReplaySource
from numascope.config import Config
from numascope.exporters.prometheus import (
    METRICS,
    LabelBudget,
    ScrapeState,
    SnapshotCollector,
    exposed_names,
)
from numascope.exporters.prometheus.budgeted import MIN_LINGERING
from numascope.exporters.prometheus.labels import label_value
from numascope.snapshot.columns import WorkloadColumns, as_new_columns
from numascope.snapshot.model import Locality, Snapshot, Workload, WorkloadKind
from tests.fixtures import export_streams
from tests.promtools import STREAMS, promtool

GOLDEN = STREAMS / "two_node.prom"


def scrape(snapshot: Snapshot | None, config: Config | None = None) -> str:
    """One scrape of one snapshot by a fresh exporter: the budgeted families'
    series are all at 0 then (their first exposure)."""
    return scrape_stream([snapshot], config)


def scrape_stream(snapshots: Sequence[Snapshot | None], config: Config | None = None) -> str:
    """The last of one scrape per snapshot by one exporter, as it polls them in turn."""
    registry = CollectorRegistry(auto_describe=False)
    current: list[Snapshot | None] = [None]
    settings = config or Config()
    registry.register(
        SnapshotCollector(lambda: ScrapeState(current[0], settings, polls=3, poll_errors=0))
    )
    text = ""
    for snapshot in snapshots:
        current[0] = snapshot
        text = generate_latest(registry).decode("utf-8")
    return text


def all_of(path: Path) -> list[Snapshot]:
    source = ReplaySource.from_file(path)
    out = []
    while not source.finished:
        out.append(source.poll())
    return out


def samples(text: str, name: str) -> dict[str, float]:
    """label text -> value for the samples of one metric name."""
    out = {}
    for line in text.splitlines():
        m = re.match(rf"^{name}(\{{.*\}})? (\S+)$", line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


def test_golden_metrics_from_the_two_node_stream() -> None:
    text = scrape_stream(all_of(STREAMS / "two_node.jsonl"))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8"), "run with UPDATE_GOLDEN=1 and review"
    promtool("check", "metrics", stdin=text)


def test_the_fixture_exercises_every_metric_in_the_catalogue() -> None:
    text = GOLDEN.read_text(encoding="utf-8")
    emitted = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}
    assert emitted == exposed_names()
    for metric in METRICS.values():
        assert metric.name.startswith("numascope_") and metric.help


def test_values_follow_the_snapshot() -> None:
    text = scrape_stream(all_of(STREAMS / "two_node.jsonl"))
    pages = samples(text, "numascope_node_pages_total")
    assert pages['{locality="remote",node="1"}'] == 3 * 450
    matrix = samples(text, "numascope_matrix_pages_total")
    assert matrix['{cpu_node="0",page_node="1"}'] == 3 * 400
    stalls = samples(text, "numascope_direct_reclaim_stall_seconds_bucket")
    assert stalls['{le="0.016",node="1"}'] == 3 * 400
    assert stalls['{le="+Inf",node="1"}'] == 3 * 500
    assert samples(text, "numascope_kernel_numastat_other_node_total")['{node="1"}'] == 3 * 450


def test_before_the_first_poll_only_exporter_health_is_served() -> None:
    text = scrape(None)
    promtool("check", "metrics", stdin=text)
    assert "numascope_build_info" in text
    assert "numascope_node_pages_total" not in text


def test_hostile_names_pass_promtool_and_stay_one_line() -> None:
    text = scrape_stream(all_of(STREAMS / "hostile.jsonl"))
    promtool("check", "metrics", stdin=text)
    workloads = samples(text, "numascope_workload_locality_pages_total")
    assert any('workload="quote\\"d"' in k for k in workloads)
    assert any('workload="back\\\\slash"' in k for k in workloads)
    assert any('workload="new\\\\x0aline"' in k for k in workloads)
    assert any('workload="lone\\\\udcffsurrogate"' in k for k in workloads)
    assert any('workload="exactly15bytes!"' in k for k in workloads)


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("plain", "plain"),
        ("a\nb", "a\\x0ab"),
        ("nul\x00", "nul\\x00"),
        ("\udcfe", "\\udcfe"),
        ("x" * 300, "x" * 253 + "..."),
    ],
)
def test_label_values(raw: str, label: str) -> None:
    assert label_value(raw) == label


def test_thousands_of_names_stay_within_the_budget_and_add_up() -> None:
    stream = [export_streams.hostile(step=step, count=5000, repeat=2) for step in (1, 2, 3)]
    config = Config.model_validate({"prometheus": {"workload-limit": 40}})
    text = scrape_stream(stream, config)
    promtool("check", "metrics", stdin=text)
    rows = samples(text, "numascope_workload_locality_pages_total")
    workloads = {re.sub(r',?locality="[a-z]+"', "", k) for k in rows}
    assert len(workloads) == 41  # 40 named + other

    def grew(snapshots: str, count: Callable[[Workload], int]) -> int:
        first, last = (getattr(stream[i], snapshots) for i in (0, -1))
        return sum(count(w) for w in last) - sum(count(w) for w in first)

    # Counted from the first poll on, all series together add up to the host.
    assert sum(rows.values()) == grew("processes", lambda w: w.total.pages) > 0
    remote = sum(v for k, v in rows.items() if 'locality="remote"' in k)
    assert remote == grew("processes", lambda w: w.total.remote_pages) > 0
    by_node = samples(text, "numascope_workload_pages_total")
    assert sum(by_node.values()) == grew("processes", lambda w: w.total.pages)
    cgroups = samples(text, "numascope_cgroup_locality_pages_total")
    assert len({re.sub(r',?locality="[a-z]+"', "", k) for k in cgroups}) == 41
    assert sum(cgroups.values()) == grew("cgroups", lambda w: w.total.pages) > 0
    assert samples(text, "numascope_workloads_folded")['{family="process"}'] == 10000 - 40


def test_a_fresh_exporter_starts_every_budgeted_series_at_zero() -> None:
    # Prometheus 2.42 does not count a series' first sample: a value there is lost.
    text = scrape(export_streams.two_node(3))
    for name in (
        "numascope_workload_pages_total",
        "numascope_cgroup_locality_pages_total",
        "numascope_high_order_pages_total",
        "numascope_slab_objects_total",
    ):
        values = samples(text, name)
        assert values and not any(values.values()), name
    assert samples(text, "numascope_node_pages_total")['{locality="remote",node="1"}'] == 3 * 450


def named(budget: LabelBudget, workloads: Sequence[Workload], limit: int) -> list[Workload]:
    """The workloads the budget names at one poll, best first."""
    table = WorkloadColumns.of(workloads)
    return [table[i] for i in budget.named_rows(table, limit)]


def test_named_workloads_are_the_top_remote_ones_and_stay() -> None:
    snapshot = export_streams.hostile(step=1, count=200)
    budget = LabelBudget()
    first = named(budget, snapshot.processes, 10)
    ranked = sorted(snapshot.processes, key=lambda w: w.total.remote_pages, reverse=True)
    assert {w.total.remote_pages for w in first} == {ranked[0].total.remote_pages}
    keys = {w.key for w in first}
    # A newcomer with a little more remote traffic does not displace anyone...
    newcomer = dataclasses.replace(ranked[-1], key="pid:1", pid=1)
    bump = dataclasses.replace(newcomer.total, remote_pages=ranked[0].total.remote_pages + 1)
    more = (*snapshot.processes, dataclasses.replace(newcomer, total=bump))
    assert {w.key for w in named(budget, more, 10)} == keys
    # ...but one with twice the weakest named one's does.
    big = dataclasses.replace(newcomer.total, remote_pages=10 * ranked[0].total.remote_pages)
    much = (*snapshot.processes, dataclasses.replace(newcomer, total=big))
    second = named(budget, much, 10)
    assert "pid:1" in {w.key for w in second} and len(second) == 10


def test_on_a_one_node_host_a_big_newcomer_still_gets_a_series() -> None:
    # All remote counts are zero there; ranking must fall back to pages.
    snapshot = export_streams.hostile(step=1, count=30)
    local_only = [
        dataclasses.replace(w, total=dataclasses.replace(w.total, remote_pages=0))
        for w in snapshot.processes
    ]
    budget = LabelBudget()
    named(budget, local_only, 5)
    dd = dataclasses.replace(local_only[0], key="pid:7", pid=7, name="dd")
    dd = dataclasses.replace(dd, total=dataclasses.replace(dd.total, local_pages=10**6))
    assert "pid:7" in {w.key for w in named(budget, [*local_only, dd], 5)}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.integers(1, 60), st.integers(0, 30), st.integers(0, 30), st.booleans()),
            max_size=40,
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(1, 8),
)
def test_columns_are_named_as_if_every_row_were_ranked(
    polls: list[list[tuple[int, int, int, bool]]], limit: int
) -> None:
    """The budget ranks only the rows that could be named (the best few and
    those named last time) and builds none: it names exactly the rows that
    ranking every row would, poll after poll (membership is sticky)."""
    pruned, everything = LabelBudget(), LabelBudget()
    for poll in polls:
        rows: dict[int, Workload] = {}
        for pid, local, remote, overflow in poll:
            # A node is in a total once it has an event there, as the collector does.
            by_node = {n: v for n, v in ((0, local), (1, remote)) if v}
            total = Locality(by_node, dict(by_node), local, remote, local, remote)
            kind = WorkloadKind.OTHER if overflow and pid == 1 else WorkloadKind.PROCESS
            key = "other" if kind is WorkloadKind.OTHER else f"pid:{pid}"
            still = Locality(dict.fromkeys(by_node, 0), dict.fromkeys(by_node, 0))
            rows[pid] = Workload(key, kind, f"p{pid}", total, still, pid=pid)
        workloads = [w for w in rows.values() if w.kind is not WorkloadKind.OTHER]
        columns = as_new_columns(tuple(rows.values()))
        got = [columns.keys[i] for i in pruned.named_rows(columns, limit)]
        want = everything.named_among(
            [w.total.remote_pages for w in workloads],
            [w.total.pages for w in workloads],
            [w.key for w in workloads],
            limit,
        )
        assert got == [workloads[i].key for i in want]
        assert all(w is None for w in columns._built)


def test_churning_workloads_keep_within_the_budget_and_its_frozen_series() -> None:
    """Series of workloads that left the budget stay a while, frozen, but at
    most max(limit, MIN_LINGERING) of them: limit + that + 1 ("other")."""
    config = Config.model_validate({"prometheus": {"workload-limit": 5}})
    registry = CollectorRegistry(auto_describe=False)
    current: list[Snapshot] = []
    registry.register(SnapshotCollector(lambda: ScrapeState(current[-1], config)))
    most = 0
    for step in range(1, 21):
        # Ten new processes a poll, each busier than any before it.
        procs = tuple(
            export_streams.process(1000 + 10 * step + j, f"job-{step}-{j}", 1, 100 * step, j)
            for j in range(10)
        )
        current.append(dataclasses.replace(export_streams.two_node(step), processes=procs))
        text = generate_latest(registry).decode("utf-8")
        rows = samples(text, "numascope_workload_pages_total")
        most = max(most, len({re.sub(r',?node="\d+"', "", k) for k in rows}))
    assert most == 5 + MIN_LINGERING + 1
