"""Helpers for driving `numascope top` with Pilot against recorded streams."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from textual.pilot import Pilot

from numascope.capture.replay import ReplaySource
from numascope.config import Config, PolicyHolder
from numascope.pipeline.pacer import Pacer
from numascope.pipeline.policy_step import PolicyStep
from numascope.pipeline.poller import PacedPoller
from numascope.snapshot.model import Snapshot
from numascope.tui.app import TopApp
from numascope.tui.feed import ThreadFeed
from tests.conftest import require
from tests.fixtures.streams import write_stream
from tests.tui.terminal import Tmux

# Feed interval for tests: fast enough that a stream plays out in a few frames.
FAST = 0.01
# Upper bound on event-loop turns while waiting for the feed; generous, never a timing check.
MAX_TURNS = 1500
# Every process a test starts inherits this variable, with a value of its own per test,
# tmux servers and the shells in their panes included (they are not our children).
TAG = "NUMASCOPE_TEST_TAG"


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests on a fresh event loop (no asyncio plugin needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**args))
    return True


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The header prints local time: pin the zone so screens compare equal anywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def tagged_processes(tag: str, marker: str = "numascope") -> dict[int, str]:
    """Processes other than this one whose environment carries `tag` and whose command
    line mentions `marker`: pid -> command line."""
    found = {}
    needle = f"{TAG}={tag}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read().split(b"\0")
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone meanwhile, or a kernel thread
        if needle in environ and marker in cmdline:
            found[int(entry)] = cmdline
    return found


@pytest.fixture(autouse=True)
def no_leftover_numascope(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Fail a test that leaves a `numascope` process running (and end that process).

    Runs last at teardown, after the tmux fixture has closed its terminal.
    """
    tag = uuid.uuid4().hex
    monkeypatch.setenv(TAG, tag)
    yield tag
    left = tagged_processes(tag)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if left:
        pytest.fail(f"numascope processes left running: {left}")


def replay_app(tmp_path: Path, snapshots: Sequence[Snapshot], **kwargs: object) -> TopApp:
    """The app as `numascope top --replay FILE` builds it, over a stream written to disk."""
    stream = write_stream(tmp_path / "stream.jsonl", snapshots)
    source = ReplaySource.from_file(stream)
    step = PolicyStep(PolicyHolder(Config()), proc=None, rejudge=False)
    feed = ThreadFeed(PacedPoller(source, Pacer(FAST), step))
    return TopApp(feed, interval=FAST, mode="replay", **kwargs)  # type: ignore[arg-type]


async def until(pilot: Pilot[int], condition: object, what: str) -> None:
    """Let the app run until `condition()` holds; fail (not hang) if it never does."""
    for _ in range(MAX_TURNS):
        if condition():  # type: ignore[operator]
            return
        await pilot.pause(0.01)
    pytest.fail(f"never happened: {what}")


async def played(pilot: Pilot[int]) -> None:
    """Wait until the whole replay is on screen."""
    app = pilot.app
    assert isinstance(app, TopApp)
    await until(pilot, lambda: app.feed.finished and app.status.finished, "replay played out")
    await pilot.pause()


def screen_text(app: TopApp) -> str:
    """What the terminal shows now, as plain text lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    require(shutil.which("tmux") is not None, "needs tmux (scripts/setup --test installs it)")
    session = Tmux()
    try:
        yield session
    finally:
        session.close()
