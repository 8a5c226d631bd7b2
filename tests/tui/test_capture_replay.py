"""`numascope top --replay CAPTURE`: a capture file plays in the TUI like a live kernel."""

from __future__ import annotations

from pathlib import Path

from numascope.capture.replay import open_replay
from numascope.config import Config, PolicyHolder
from numascope.pipeline.pacer import Pacer
from numascope.pipeline.policy_step import PolicyStep
from numascope.pipeline.poller import PacedPoller
from numascope.tui.app import TopApp
from numascope.tui.feed import ThreadFeed
from numascope.tui.workloads import WorkloadTable
from tests.fixtures.capture_files import V1_0_CAPTURE, policy_violation_capture
from tests.tui.conftest import FAST, played, screen_text


def capture_app(path: Path) -> TopApp:
    """The app as `numascope top --replay FILE` builds it for a capture file."""
    step = PolicyStep(PolicyHolder(Config()), proc=None, rejudge=False)
    feed = ThreadFeed(PacedPoller(open_replay(path), Pacer(FAST), step))
    return TopApp(feed, interval=FAST, mode="replay")


async def test_checked_in_capture_shows_the_dd_row() -> None:
    app = capture_app(V1_0_CAPTURE)
    async with app.run_test(size=(140, 40)) as pilot:
        await played(pilot)
        rows = app.query_one(WorkloadTable).rows_shown
        dd = [r for r in rows if r.name == "dd"]
        assert dd, [r.name for r in rows]
        assert dd[0].total.pages >= 16384
        assert "replay ended" in screen_text(app)


async def test_capture_with_a_finding_shows_the_row_and_its_flag(tmp_path: Path) -> None:
    app = capture_app(policy_violation_capture(tmp_path / "c.capture.gz"))
    async with app.run_test(size=(120, 30)) as pilot:
        await played(pilot)
        assert app.query_one(WorkloadTable).rows_shown[0].name == "postgres"
        line = next(x for x in screen_text(app).splitlines() if "postgres" in x)
        assert "CRIT" in line and "80%" in line  # the flag, however the TUI words it
