"""Pilot tests: every key and screen of `numascope top`, on recorded streams."""

from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path

from numascope.collectors.mempolicy import read_process_policy
from numascope.config import Config, PolicyHolder
from numascope.pipeline.pacer import Pacer
from numascope.pipeline.policy_step import PolicyStep
from numascope.pipeline.poller import PacedPoller
from numascope.snapshot.model import Health, Snapshot
from numascope.tui.app import TopApp
from numascope.tui.detail import DetailScreen
from numascope.tui.feed import ThreadFeed
from numascope.tui.help import HelpScreen
from numascope.tui.workloads import WorkloadTable
from tests.fixtures import streams
from tests.tui.conftest import FAST, played, replay_app, screen_text, until


def first_row(app: TopApp) -> str:
    return app.query_one(WorkloadTable).rows_shown[0].name


async def test_remote_heavy_workload_tops_the_table(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.remote_heavy())
    async with app.run_test(size=(120, 30)) as pilot:
        await played(pilot)
        text = screen_text(app)
        assert first_row(app) == "dd"
        dd_line = next(line for line in text.splitlines() if " dd " in line)
        assert "54k" in dd_line  # 9000 * 6 remote pages in a 1 s interval
        assert "✖ CRIT remote 90%" in dd_line
        assert "host db-host-1" in text
        assert "kernel 6.1.0-test" in text
        assert "2[no cpus]" in text
        assert "2 (no cpus)" in text  # the nodes panel marks it too
        assert (
            "self: BPF 96 ns/run, 0.48% CPU (kernel-timed, reads high in VMs) · poll 4 ms" in text
        )
        assert "replay ended" in text
        assert "sort REM/s▼" in text


async def test_policy_violation_detail_shows_evidence_and_next_steps(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.policy_violation())
    async with app.run_test(size=(120, 50)) as pilot:
        await played(pilot)
        assert first_row(app) == "postgres"
        line = next(x for x in screen_text(app).splitlines() if "postgres" in x)
        assert "✖ CRIT off-bind 80% +1" in line
        assert "database: bind:1" in line  # the rule the finding was judged by
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "detail screen")
        await pilot.pause()
        text = screen_text(app)
        assert "pid 5151" in text
        assert "/system.slice/postgresql.service" in text
        assert "✖ CRIT off-bind 80%" in text
        assert "▲ WARN drift" in text
        assert "placement: bind:1" in text
        assert "Mems_allowed" in text  # what to check for a page outside its bind
        assert "a replay has no live process" in text
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DetailScreen), "back to the table")


async def test_irq_tab_flags_the_remote_interrupt(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.irq_finding())
    async with app.run_test(size=(120, 30)) as pilot:
        await played(pilot)
        await pilot.press("i")
        await pilot.pause()
        text = screen_text(app)
        nvme = next(line for line in text.splitlines() if "nvme0q1" in line)
        assert "▲ WARN remote-irq 90%" in nvme
        assert "N0:4.5k N1:500" in nvme
        eth = next(line for line in text.splitlines() if "eth0-rx-0" in line)
        assert "ok" in eth
        assert "NET_RX" in text
        await pilot.press("w")
        await pilot.pause()
        assert app.query_one(WorkloadTable).has_focus


async def test_reclaim_storm_shows_kswapd_and_stalls(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.reclaim_storm())
    async with app.run_test(size=(120, 36)) as pilot:
        await played(pilot)
        node0 = next(x for x in screen_text(app).splitlines() if x.strip().startswith("0 "))
        assert "AWAKE" in node0  # kswapd state in the nodes panel
        await pilot.press("r")
        await pilot.pause()
        text = screen_text(app)
        assert "Direct reclaim stalls per workload" in text
        java = next(line for line in text.splitlines() if "java" in line)
        assert "6060" in java and "25" in java and "4.0ms" in java
        assert "60M!" in text  # free memory below the low watermark, marked without colour


async def test_matrix_tab_marks_remote_cells(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.remote_heavy())
    async with app.run_test(size=(120, 30)) as pilot:
        await played(pilot)
        await pilot.press("m")
        await pilot.pause()
        text = screen_text(app)
        row = next(line for line in text.splitlines() if line.strip().startswith("N0 "))
        assert "54k/s*" in row  # node-0 CPUs took 54k pages/s from node 1
        assert "* remote" in text


async def test_sort_cycles_columns_and_reverses(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.remote_heavy())
    async with app.run_test(size=(120, 30)) as pilot:
        await played(pilot)
        await pilot.press("s")  # REM/s -> REM%
        assert app.sort == "ratio"
        assert "sort REM%▼" in screen_text(app)
        assert first_row(app) == "dd"
        await pilot.press("S")
        await pilot.pause()
        assert "sort REM%▲" in screen_text(app)
        assert first_row(app) in ("nginx", "systemd")  # 0% remote first
        await pilot.press("s", "s", "s")  # FINDING, PG/s, N0
        assert app.sort == "n0"
        await pilot.press("s", "s", "s", "s", "s", "s")  # N1, N2, RULE, MEMPOLICY, CGROUP, PID
        assert app.sort == "pid"
        assert first_row(app) == "systemd"  # pid 1, ascending


async def test_filter_narrows_rows_and_escape_clears(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.remote_heavy())
    async with app.run_test(size=(120, 30)) as pilot:
        await played(pilot)
        await pilot.press("slash", *"nginx", "enter")
        await pilot.pause()
        names = {r.name for r in app.query_one(WorkloadTable).rows_shown}
        assert names == {"nginx"}
        assert "2 of 5 rows" in screen_text(app)
        assert "filter “nginx”" in screen_text(app)
        await pilot.press("q")  # typed into nothing: the box is closed, so q would quit...
        await until(pilot, lambda: app.return_value == 0, "q quits with status 0")


async def test_filter_escape_restores_all_rows(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.remote_heavy())
    async with app.run_test(size=(120, 30)) as pilot:
        await played(pilot)
        await pilot.press("slash", *"crit")
        await pilot.pause()
        assert [r.name for r in app.query_one(WorkloadTable).rows_shown] == ["dd"]
        await pilot.press("q")  # inside the box, q is text, not quit
        assert app.is_running and app.filter_text == "critq"
        await pilot.press("escape")
        await pilot.pause()
        assert app.filter_text == ""
        assert len(app.query_one(WorkloadTable).rows_shown) == 5


async def test_group_by_cgroup_then_comm_then_process(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.remote_heavy())
    async with app.run_test(size=(120, 30)) as pilot:
        await played(pilot)
        await pilot.press("g")
        await pilot.pause()
        rows = {r.name: r for r in app.query_one(WorkloadTable).rows_shown}
        nginx = rows["/system.slice/nginx.service"]
        assert len(nginx.members) == 2 and nginx.delta.pages == 40 + 37
        assert "by cgroup" in screen_text(app)
        assert "n=2" in screen_text(app)
        await pilot.press("g")
        await pilot.pause()
        names = [r.name for r in app.query_one(WorkloadTable).rows_shown]
        assert sorted(names) == ["dd", "nginx", "sshd", "systemd"]
        assert "by comm" in screen_text(app)
        await pilot.press("g")
        await pilot.pause()
        assert len(app.query_one(WorkloadTable).rows_shown) == 5


class CountingSource:
    """An endless source: each poll is a new snapshot (seq 1, 2, 3...)."""

    def __init__(self, template: Snapshot) -> None:
        self.template = template
        self.polls = 0
        self.closed = False

    def poll(self) -> Snapshot:
        self.polls += 1
        return dataclasses.replace(self.template, seq=self.polls)

    def close(self) -> None:
        self.closed = True


def live_app(source: object, **kwargs: object) -> TopApp:
    step = PolicyStep(PolicyHolder(Config()), proc=None, rejudge=False)
    feed = ThreadFeed(PacedPoller(source, Pacer(FAST), step))
    return TopApp(feed, interval=FAST, **kwargs)  # type: ignore[arg-type]


async def test_pause_stops_polling_and_resume_restarts_it() -> None:
    source = CountingSource(streams.remote_heavy(1)[0])
    app = live_app(source)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.frames_seen >= 3, "frames arrive")
        await pilot.press("p")
        assert "PAUSED" in screen_text(app)
        seen = app.frame.snapshot.seq if app.frame else 0
        for _ in range(20):
            await pilot.pause(0.01)
        assert app.frame is not None and app.frame.snapshot.seq == seen
        await pilot.press("p")
        await until(
            pilot, lambda: app.frame is not None and app.frame.snapshot.seq > seen, "resumed"
        )
        assert "PAUSED" not in screen_text(app)
    assert source.closed  # quitting stops the feed and closes the source


async def test_help_screen_lists_every_key() -> None:
    app = live_app(CountingSource(streams.remote_heavy(1)[0]))
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: "Keys" in screen_text(app), "help screen")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for key in ("p ", "s / S", "/ ", "g ", "Enter", "a ", "q "):
            assert f"  {key}" in text, key
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "help closed")


async def test_footer_shows_the_keys() -> None:
    app = live_app(CountingSource(streams.remote_heavy(1)[0]))
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: "Quit" in screen_text(app), "the footer drawn")
        footer = screen_text(app).splitlines()[-1]
        for label in ("Detail", "Quit", "Pause", "Sort", "Filter", "Group", "Alloc", "Help"):
            assert label in footer


class BlockedSource(CountingSource):
    """A poll that hangs until released, like a kernel read stuck behind a lock."""

    def __init__(self, template: Snapshot) -> None:
        super().__init__(template)
        self.release = threading.Event()

    def poll(self) -> Snapshot:
        self.release.wait()
        return super().poll()

    def close(self) -> None:
        self.release.set()
        super().close()


async def test_a_hung_poll_never_freezes_the_screen() -> None:
    source = BlockedSource(streams.remote_heavy(1)[0])
    app = live_app(source)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "waiting for the first snapshot" in screen_text(app)
        await pilot.press("question_mark")  # the UI answers while the poll hangs
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help while polling")
        await pilot.press("escape")
        source.release.set()
        await until(pilot, lambda: app.frames_seen >= 1, "the poll finished")
        assert first_row(app) == "dd"


class FailingSource(CountingSource):
    def poll(self) -> Snapshot:
        raise OSError("map read failed")


async def test_a_failed_poll_is_reported_on_screen() -> None:
    app = live_app(FailingSource(streams.remote_heavy(1)[0]))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "poll failed" in app.status.error, "error shown")
        assert "poll failed: OSError: map read failed" in screen_text(app)


def counters_only() -> Snapshot:
    full = streams.remote_heavy(1)[0]
    return dataclasses.replace(
        full,
        source="kernel-counters",
        processes=(),
        matrix=(),
        findings=(),
        health=Health(notes=("kernel counters only: BPF needs root",)),
    )


async def test_kernel_counter_view_says_what_is_missing() -> None:
    app = live_app(CountingSource(counters_only()), mode="kernel counters")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.frames_seen >= 1, "a frame")
        text = screen_text(app)
        assert "▶ kernel counters" in text
        assert "⚠ kernel counters only: BPF needs root" in text
        assert "no per-process data in this snapshot" in text
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, DetailScreen)
        await pilot.press("m")
        await pilot.pause()
        assert "No node-to-node matrix in this snapshot" in screen_text(app)
        await pilot.press("i")
        await pilot.pause()
        assert "No IRQ data in this snapshot" in screen_text(app)
        await pilot.press("r")
        await pilot.pause()
        text = screen_text(app)
        assert "No reclaim data in this snapshot" in text
        assert "No direct-reclaim stalls" in text


async def test_detail_reads_the_real_numa_maps_of_a_live_process() -> None:
    me = streams.process(os.getpid(), "pytest", {0: 500}, 1)
    snap = streams.snapshot(1, [me])
    reader = lambda pid: read_process_policy(pid, proc="/proc")  # noqa: E731
    app = live_app(CountingSource(snap), policy_reader=reader)
    async with app.run_test(size=(120, 50)) as pilot:
        await until(pilot, lambda: app.frames_seen >= 2, "frames")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "detail")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await until(pilot, lambda: screen.policy is not None, "numa_maps read")
        await pilot.pause()
        text = screen_text(app)
        assert "dominant default" in text  # pytest runs without a memory policy
        assert "mems_allowed 0" in text
        assert "Nothing stands out" in text


async def test_a_panel_that_grows_between_frames_is_laid_out_again(tmp_path: Path) -> None:
    """Frames update the panels in place and lay the screen out only when a panel's
    height changes: a node that appears mid-replay still gets its line."""
    full = streams.remote_heavy()
    two_nodes = [dataclasses.replace(s, nodes=s.nodes[:2]) for s in full[:3]]
    app = replay_app(tmp_path, [*two_nodes, *full[3:]])
    async with app.run_test(size=(120, 30)) as pilot:
        await played(pilot)
        nodes = app.query_one("#nodes")
        assert nodes.size.height == 4  # the heading and three nodes
        assert "2 (no cpus)" in screen_text(app)
