"""The workloads table: cursor, keys, mouse and drawing, with frames handed in by the test."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pytest
from textual.pilot import Pilot

from numascope.snapshot.model import Snapshot
from numascope.tui import workloads
from numascope.tui.app import TopApp
from numascope.tui.detail import DetailScreen
from numascope.tui.feed import Feed
from numascope.tui.frame import Frame
from numascope.tui.messages import FeedFailed, FrameReady
from numascope.tui.rows import Column, Placements, Row
from numascope.tui.workloads import WorkloadTable
from tests.fixtures import streams
from tests.tui.conftest import screen_text, until


class HandFeed(Feed):
    """The test posts each frame itself."""

    finished = False

    def start(self, post: Callable[[FrameReady | FeedFailed], object]) -> None: ...
    def set_paused(self, paused: bool) -> None: ...
    def set_interval(self, seconds: float) -> None: ...
    def stop(self) -> None: ...


def busy(seq: int, remote: Mapping[int, int]) -> Snapshot:
    """Processes 1000.. with `remote[pid]` pages per second from node 1 (CPU node 0)."""
    procs = [streams.process(pid, f"w{pid}", {0: 10, 1: r}, seq) for pid, r in remote.items()]
    return streams.snapshot(seq, procs)


async def show(pilot: Pilot[int], snapshot: Snapshot) -> None:
    app = pilot.app
    assert isinstance(app, TopApp)
    app.post_message(FrameReady(Frame(snapshot, Placements())))
    await until(pilot, lambda: app.frame is not None and app.frame.snapshot is snapshot, "frame")
    await pilot.pause()


def table(app: TopApp) -> WorkloadTable:
    return app.query_one(WorkloadTable)


def on_screen(app: TopApp, pid: int) -> bool:
    return any(line.lstrip().startswith(f"{pid} ") for line in screen_text(app).splitlines())


async def test_the_cursor_stays_on_its_workload_when_the_order_changes() -> None:
    app = TopApp(HandFeed(), interval=1.0)
    async with app.run_test(size=(120, 30)) as pilot:
        await show(pilot, busy(1, {1001: 300, 1002: 200, 1003: 100}))
        await pilot.press("down")
        assert table(app).selected_key() == "pid:1002"
        await show(pilot, busy(2, {1001: 100, 1002: 300, 1003: 200}))  # 1002 now on top
        assert table(app).cursor_row == 0
        assert table(app).selected_key() == "pid:1002"
        await show(pilot, busy(3, {1001: 100, 1003: 200}))  # 1002 gone: the place is kept
        assert table(app).cursor_row == 0
        assert table(app).selected_key() == "pid:1003"


async def test_keys_move_the_cursor_and_the_view_follows_it() -> None:
    remote = {1000 + i: 1000 - i for i in range(100)}  # listed in pid order
    app = TopApp(HandFeed(), interval=1.0)
    async with app.run_test(size=(120, 30)) as pilot:
        await show(pilot, busy(1, remote))
        assert on_screen(app, 1000) and not on_screen(app, 1099)
        await pilot.press("ctrl+end")
        assert table(app).selected_key() == "pid:1099"
        assert on_screen(app, 1099) and not on_screen(app, 1000)
        await pilot.press("up")
        assert table(app).selected_key() == "pid:1098"
        await pilot.press("ctrl+home")
        assert table(app).selected_key() == "pid:1000" and on_screen(app, 1000)
        await pilot.press("pagedown")
        page = table(app).cursor_row
        assert page > 1 and on_screen(app, 1000 + page)
        await pilot.press("pageup")
        assert table(app).cursor_row == 0
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "detail screen")
        assert "pid 1002" in screen_text(app)


async def test_end_and_home_scroll_the_columns_sideways() -> None:
    app = TopApp(HandFeed(), interval=1.0)
    async with app.run_test(size=(60, 24)) as pilot:
        await show(pilot, busy(1, {1001: 300}))
        header = next(line for line in screen_text(app).splitlines() if "REM/s" in line)
        assert "CGROUP" not in header
        await pilot.press("end")
        await pilot.pause()
        header = next(line for line in screen_text(app).splitlines() if "MEMPOLICY" in line)
        assert "CGROUP" in header and "PID" not in header
        assert "/system.slice/app.servic" in screen_text(app)  # cropped to the column's 24
        await pilot.press("home")
        await pilot.pause()
        assert on_screen(app, 1001)


async def test_clicking_a_header_sorts_by_its_column() -> None:
    app = TopApp(HandFeed(), interval=1.0)
    async with app.run_test(size=(120, 30)) as pilot:
        await show(pilot, busy(1, {1001: 100, 1002: 300}))
        header = next(line for line in screen_text(app).splitlines() if "REM/s" in line)
        name_at = header.index("NAME")
        await pilot.click(WorkloadTable, offset=(name_at, 0))
        await pilot.pause()
        assert (app.sort, app.reverse) == ("name", False)
        assert [r.name for r in table(app).rows_shown] == ["w1001", "w1002"]
        assert "NAME▲" in screen_text(app)
        await pilot.click(WorkloadTable, offset=(name_at, 0))
        await pilot.pause()
        assert (app.sort, app.reverse) == ("name", True)
        assert [r.name for r in table(app).rows_shown] == ["w1002", "w1001"]


async def test_a_click_moves_the_cursor_and_a_second_opens_the_detail() -> None:
    app = TopApp(HandFeed(), interval=1.0)
    async with app.run_test(size=(120, 30)) as pilot:
        await show(pilot, busy(1, {1001: 300, 1002: 200, 1003: 100}))
        await pilot.click(WorkloadTable, offset=(3, 3))  # the header, then rows 0, 1, 2
        await pilot.pause()
        assert table(app).selected_key() == "pid:1003"
        assert not isinstance(app.screen, DetailScreen)
        await pilot.click(WorkloadTable, offset=(3, 3))
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "detail screen")
        assert "pid 1003" in screen_text(app)


async def test_a_frame_formats_only_the_rows_on_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    formatted: list[str] = []
    real = workloads.row_cells

    def counting(columns: Sequence[Column], row: Row) -> tuple[workloads.Cell, ...]:
        formatted.append(row.key)
        return real(columns, row)

    monkeypatch.setattr(workloads, "row_cells", counting)
    app = TopApp(HandFeed(), interval=1.0)
    async with app.run_test(size=(120, 30)) as pilot:
        remote = {1000 + i: 1000 - i for i in range(150)}
        await show(pilot, busy(1, remote))
        formatted.clear()
        await show(pilot, busy(2, remote))
        lines = table(app).scrollable_content_region.height
        assert len(table(app).rows_shown) == 150
        assert 0 < len(set(formatted)) <= lines  # the header line holds no row
        assert len(formatted) == len(set(formatted))  # each at most once per frame


async def test_a_control_character_in_a_name_never_reaches_the_terminal() -> None:
    evil = streams.process(1001, "x\x1b]2;owned\x07y", {0: 10, 1: 90}, 1)
    app = TopApp(HandFeed(), interval=1.0)
    async with app.run_test(size=(120, 30)) as pilot:
        await show(pilot, streams.snapshot(1, [evil]))
        text = screen_text(app)
        assert "x?]2;owned?y" in text
        assert "\x1b" not in text and "\x07" not in text
