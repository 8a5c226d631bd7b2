"""The real `numascope top` in a real terminal (tmux): it draws, finds rows, quits cleanly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require, require_root
from tests.fixtures import streams

NUMASCOPE = Path(sys.executable).with_name("numascope")
# How long to wait for the screen to show something: bcc compiles the probe first.
PATIENCE = 90.0


class Tmux:
    """One detached tmux session running an interactive shell."""

    def __init__(self, width: int = 120, height: int = 40) -> None:
        self.name = f"numascope-test-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                str(width),
                "-y",
                str(height),
                "bash --norc --noprofile",
            ],
            check=True,
            env={**os.environ, "PS1": "READY$ ", "TERM": "xterm-256color"},
        )

    def send(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        out = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout

    def wait_for(self, text: str, patience: float = PATIENCE) -> str:
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        pytest.fail(f"{text!r} never appeared; the screen was:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    require(shutil.which("tmux") is not None, "needs tmux (scripts/setup --test installs it)")
    session = Tmux()
    try:
        yield session
    finally:
        session.close()


def quit_and_check_terminal(tmux: Tmux) -> None:
    """`q` ends numascope with status 0 and hands back a working, sane terminal."""
    tmux.send("q")
    tmux.wait_for("EXIT=0", patience=30)
    tmux.send(
        "clear; stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(echo|icanon)'; echo SANE", "Enter"
    )
    screen = tmux.wait_for("SANE\n")
    lines = screen.split()
    assert "echo" in lines and "icanon" in lines, screen  # not "-echo" / "-icanon"


def test_replay_in_a_real_terminal(tmux: Tmux, tmp_path: Path) -> None:
    stream = streams.write_stream(tmp_path / "remote.jsonl", streams.remote_heavy())
    tmux.send(f"{NUMASCOPE} top --replay {stream} --interval 0.2; echo EXIT=$?", "Enter")
    screen = tmux.wait_for("replay ended")
    dd = next(line for line in screen.splitlines() if " dd " in line)
    assert "CRIT remote 90%" in dd
    quit_and_check_terminal(tmux)


@pytest.mark.kernel
def test_live_top_finds_a_running_workload(tmux: Tmux) -> None:
    require_root()
    workload = subprocess.Popen(
        ["sh", "-c", "while :; do dd if=/dev/zero of=/dev/null bs=64M count=50 2>/dev/null; done"]
    )
    try:
        tmux.send(f"{NUMASCOPE} top --source bpf --interval 0.5; echo EXIT=$?", "Enter")
        tmux.wait_for("probes)")  # the probe compiled, attached and delivered a snapshot
        # The filter keeps the row on screen however busy the host is. Each step waits for
        # the screen to answer, as a person would, before the next key.
        tmux.send("/")
        tmux.wait_for("Esc clears")
        tmux.send("dd")
        tmux.wait_for("filter “dd”")
        tmux.send("Enter")
        tmux.wait_for("Quit")
        tmux.send("g", "g")  # group by comm: every dd of the loop adds up in one row
        screen = tmux.wait_for("by comm")
        screen = tmux.wait_for(" dd ")
        row = next(line for line in screen.splitlines() if " dd " in line)
        members, name, *_ = row.split()
        assert members.startswith("n=") and int(members[2:]) >= 1 and name == "dd"
        assert "default: local" in row  # the rule it falls under
        quit_and_check_terminal(tmux)
    finally:
        workload.kill()
        workload.wait()
