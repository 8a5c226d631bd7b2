"""Pilot tests: Kubernetes pods in `numascope top` (a POD column, grouping, filter, detail)."""

from __future__ import annotations

from pathlib import Path

from numascope.tui.app import TopApp
from numascope.tui.detail import DetailScreen
from numascope.tui.rows import NO_POD, Grouping
from numascope.tui.workloads import WorkloadTable
from tests.fixtures import streams
from tests.tui.conftest import played, replay_app, screen_text, until


def line_of(app: TopApp, pid: int) -> str:
    """The screen line of the process with this pid."""
    return next(x for x in screen_text(app).splitlines() if x.startswith(f" {pid} "))


async def test_pod_column_names_each_process_pod(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.kubernetes_pods())
    async with app.run_test(size=(160, 40)) as pilot:
        await played(pilot)
        text = screen_text(app)
        assert " POD " in text
        for pid in (7001, 7002):  # two nginx workers of the web pod's container
            assert "nginx             5b3a7c1e burstable " in line_of(app, pid)
        assert "redis-server      0e8d1f2a guaranteed " in line_of(app, 7101)
        for pid in (2301, 812):  # the host's own nginx and sshd: in no pod
            assert "burstable" not in line_of(app, pid) and " - " in line_of(app, pid)


async def test_group_by_pod_sums_each_pods_processes(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.kubernetes_pods())
    async with app.run_test(size=(160, 40)) as pilot:
        await played(pilot)
        await pilot.press("g", "g")  # process -> cgroup -> pod
        await pilot.pause()
        assert app.grouping is Grouping.POD and "by pod" in screen_text(app)
        rows = {r.name: r for r in app.query_one(WorkloadTable).rows_shown}
        assert set(rows) == {streams.WEB_POD_UID, streams.CACHE_POD_UID, NO_POD}
        web = rows[streams.WEB_POD_UID]
        assert len(web.members) == 2 and web.delta.pages == 50 + 30 + 5
        assert web.total.pages == 3 * (50 + 30 + 5)
        assert web.pod is not None and web.pod.container_id == streams.WEB_CONTAINER
        assert rows[NO_POD].pod is None and len(rows[NO_POD].members) == 4
        await pilot.press("g")
        await pilot.pause()
        assert app.grouping is Grouping.COMM


async def test_filter_by_container_id_and_detail_shows_the_pod(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.kubernetes_pods())
    async with app.run_test(size=(160, 50)) as pilot:
        await played(pilot)
        await pilot.press("slash", *streams.CACHE_CONTAINER[:12], "enter")
        await pilot.pause()
        assert [r.name for r in app.query_one(WorkloadTable).rows_shown] == ["redis-server"]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "detail screen")
        await pilot.pause()
        text = screen_text(app)
        assert f"pod {streams.CACHE_POD_UID}" in text
        assert "qos guaranteed" in text
        assert f"container {streams.CACHE_CONTAINER}" in text


def test_g_offers_the_pod_grouping_only_where_there_are_pods() -> None:
    cycle = {g: g.next(pods=False) for g in (Grouping.PROCESS, Grouping.CGROUP, Grouping.COMM)}
    assert cycle == {
        Grouping.PROCESS: Grouping.CGROUP,
        Grouping.CGROUP: Grouping.COMM,
        Grouping.COMM: Grouping.PROCESS,
    }
    assert Grouping.POD.next(pods=False) is Grouping.PROCESS  # the pods went away
    assert [Grouping.CGROUP.next(), Grouping.POD.next()] == [Grouping.POD, Grouping.COMM]
