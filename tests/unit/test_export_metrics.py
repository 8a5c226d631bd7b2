"""The exporter's /metrics from recorded streams: golden output, hostile names, budget."""

from __future__ import annotations

import dataclasses
import os
import re
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
from numascope.exporters.prometheus.labels import label_value
from numascope.snapshot.columns import as_new_columns
from numascope.snapshot.model import Locality, Snapshot, Workload, WorkloadKind
from tests.fixtures import export_streams
from tests.promtools import STREAMS, promtool

GOLDEN = STREAMS / "two_node.prom"


def scrape(snapshot: Snapshot | None, config: Config | None = None) -> str:
    registry = CollectorRegistry(auto_describe=False)
    state = ScrapeState(snapshot, config or Config(), polls=3, poll_errors=0)
    registry.register(SnapshotCollector(lambda: state))
    return generate_latest(registry).decode("utf-8")


def last_of(path: Path) -> Snapshot:
    source = ReplaySource.from_file(path)
    while not source.finished:
        snapshot = source.poll()
    return snapshot


def samples(text: str, name: str) -> dict[str, float]:
    """label text -> value for the samples of one metric name."""
    out = {}
    for line in text.splitlines():
        m = re.match(rf"^{name}(\{{.*\}})? (\S+)$", line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


def test_golden_metrics_from_the_two_node_stream() -> None:
    text = scrape(last_of(STREAMS / "two_node.jsonl"))
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
    text = scrape(last_of(STREAMS / "two_node.jsonl"))
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
    text = scrape(last_of(STREAMS / "hostile.jsonl"))
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
    snapshot = export_streams.hostile(step=3, count=5000, repeat=2)
    config = Config.model_validate({"prometheus": {"workload-limit": 40}})
    text = scrape(snapshot, config)
    promtool("check", "metrics", stdin=text)
    rows = samples(text, "numascope_workload_locality_pages_total")
    workloads = {re.sub(r',?locality="[a-z]+"', "", k) for k in rows}
    assert len(workloads) == 41  # 40 named + other
    assert sum(rows.values()) == sum(w.total.pages for w in snapshot.processes)
    remote = sum(v for k, v in rows.items() if 'locality="remote"' in k)
    assert remote == sum(w.total.remote_pages for w in snapshot.processes)
    by_node = samples(text, "numascope_workload_pages_total")
    assert sum(by_node.values()) == sum(w.total.pages for w in snapshot.processes)
    cgroups = samples(text, "numascope_cgroup_locality_pages_total")
    assert len({re.sub(r',?locality="[a-z]+"', "", k) for k in cgroups}) == 41
    assert sum(cgroups.values()) == sum(w.total.pages for w in snapshot.cgroups)
    assert samples(text, "numascope_workloads_folded")['{family="process"}'] == 10000 - 40


def test_named_workloads_are_the_top_remote_ones_and_stay() -> None:
    snapshot = export_streams.hostile(step=1, count=200)
    budget = LabelBudget()
    first = budget.select(snapshot.processes, 10)
    ranked = sorted(snapshot.processes, key=lambda w: w.total.remote_pages, reverse=True)
    assert {w.total.remote_pages for w in first.named} == {ranked[0].total.remote_pages}
    named = {w.key for w in first.named}
    # A newcomer with a little more remote traffic does not displace anyone...
    newcomer = dataclasses.replace(ranked[-1], key="pid:1", pid=1)
    bump = dataclasses.replace(newcomer.total, remote_pages=ranked[0].total.remote_pages + 1)
    more = (*snapshot.processes, dataclasses.replace(newcomer, total=bump))
    assert {w.key for w in budget.select(more, 10).named} == named
    # ...but one with twice the weakest named one's does.
    big = dataclasses.replace(newcomer.total, remote_pages=10 * ranked[0].total.remote_pages)
    much = (*snapshot.processes, dataclasses.replace(newcomer, total=big))
    second = budget.select(much, 10)
    assert "pid:1" in {w.key for w in second.named} and len(second.named) == 10
    total = sum(w.total.pages for w in second.named) + second.other.pages
    assert total == sum(w.total.pages for w in much)


def test_on_a_one_node_host_a_big_newcomer_still_gets_a_series() -> None:
    # All remote counts are zero there; ranking must fall back to pages.
    snapshot = export_streams.hostile(step=1, count=30)
    local_only = [
        dataclasses.replace(w, total=dataclasses.replace(w.total, remote_pages=0))
        for w in snapshot.processes
    ]
    budget = LabelBudget()
    budget.select(local_only, 5)
    dd = dataclasses.replace(local_only[0], key="pid:7", pid=7, name="dd")
    dd = dataclasses.replace(dd, total=dataclasses.replace(dd.total, local_pages=10**6))
    assert "pid:7" in {w.key for w in budget.select([*local_only, dd], 5).named}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.integers(1, 60), st.integers(0, 30), st.integers(0, 30), st.booleans()),
            max_size=40,
        ),
        min_size=1,
        max_size=4,
    ),
    st.integers(1, 8),
)
def test_columns_are_selected_as_their_workloads_are(
    scrapes: list[list[tuple[int, int, int, bool]]], limit: int
) -> None:
    """The budget ranks a live collector's columns without building their rows, and
    names, folds and sums exactly what it does for the same workloads as objects,
    scrape after scrape (membership is sticky)."""
    by_objects, by_columns = LabelBudget(), LabelBudget()
    for scrape in scrapes:
        rows: dict[int, Workload] = {}
        for pid, local, remote, overflow in scrape:
            # A node is in a total once it has an event there, as the collector does.
            by_node = {n: v for n, v in ((0, local), (1, remote)) if v}
            total = Locality(by_node, dict(by_node), local, remote, local, remote)
            kind = WorkloadKind.OTHER if overflow and pid == 1 else WorkloadKind.PROCESS
            key = "other" if kind is WorkloadKind.OTHER else f"pid:{pid}"
            still = Locality(dict.fromkeys(by_node, 0), dict.fromkeys(by_node, 0))
            rows[pid] = Workload(key, kind, f"p{pid}", total, still, pid=pid)
        workloads = tuple(rows.values())
        columns = as_new_columns(workloads)
        a, b = by_objects.select(workloads, limit), by_columns.select(columns, limit)
        assert [w.key for w in a.named] == [w.key for w in b.named]
        assert a.named == b.named
        assert (a.folded, a.other) == (b.folded, b.other)
        assert all(
            w is None
            for i, w in enumerate(columns._built)
            if columns.keys[i] not in {n.key for n in b.named}
        )
