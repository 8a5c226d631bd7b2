"""Driving the real `numascope top` in a real terminal (tmux), for the terminal tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import pytest

NUMASCOPE = Path(sys.executable).with_name("numascope")
REPO = Path(__file__).resolve().parents[2]
# How long to wait for the screen to show something: bcc compiles the probe first.
PATIENCE = 90.0


# Seconds a process gets to end after its terminal is closed, before it is killed.
GRACE = 10.0
# How long top may take to end after a hangup: a live one finishes its poll and detaches
# its probes first, slow on a loaded machine. A bound, not a timing check.
EXIT_PATIENCE = 60.0


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie waiting for its parent does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def session_processes(sid: int) -> dict[int, int]:
    """Running processes of session `sid`: pid -> process group."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        state, pgrp, session = fields[0], int(fields[2]), int(fields[3])
        if session == sid and state not in ("Z", "X"):
            found[int(entry)] = pgrp
    return found


def wait_gone(pids: Iterable[int], patience: float) -> list[int]:
    """Wait until none of `pids` runs; the ones still running after `patience` seconds."""
    deadline = time.monotonic() + patience
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in left if alive(p)]
    return left


class Tmux:
    """One detached tmux session running an interactive shell, on a tmux server of its own.

    The server listens on a socket named for this session alone (`tmux -L`), so closing it
    never touches anyone else's tmux, and the shell is the leader of a session (in the
    kernel's sense) that holds every process started in the pane.
    """

    def __init__(self, width: int = 120, height: int = 40) -> None:
        self.socket = f"numascope-test-{uuid.uuid4().hex[:12]}"
        self.name = "top"
        self.shell_pid = 0
        self._tmux(
            "new-session",
            "-d",
            "-s",
            self.name,
            "-x",
            str(width),
            "-y",
            str(height),
            "bash --norc --noprofile",
            env={**os.environ, "PS1": "READY$ ", "TERM": "xterm-256color"},
        )
        self.shell_pid = int(self._tmux("display-message", "-p", "-t", self.name, "#{pane_pid}"))

    def _tmux(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            check=check,
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        return out.stdout

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.name, *keys)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, text: str, patience: float = PATIENCE) -> str:
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        pytest.fail(f"{text!r} never appeared; the screen was:\n{self.screen()}")

    def numascope_pid(self) -> int:
        """The `numascope` process running in the pane."""
        for pid in session_processes(self.shell_pid):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if any(a.endswith(b"/numascope") for a in argv[:2]):
                return pid
        pytest.fail("no numascope process in the pane")

    def hang_up(self) -> None:
        """Close the terminal as a killed pane or a dropped ssh session does."""
        self._tmux("kill-server", check=False)

    def close(self) -> None:
        """Close the terminal, then end whatever still runs in the pane's session.

        Fails the test when a process survives even SIGKILL, or when nothing can be found
        to check (so a teardown that silently checks nothing cannot pass).
        """
        procs = session_processes(self.shell_pid) if self.shell_pid else {}
        self.hang_up()
        left = wait_gone(procs, GRACE)
        for pgrp in {procs[p] for p in left}:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgrp, signal.SIGKILL)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        survivors = wait_gone(left, GRACE)
        after = session_processes(self.shell_pid) if self.shell_pid else {}
        assert not survivors and not after, f"still running: {survivors} {after}"


def quit_and_check_terminal(tmux: Tmux) -> None:
    """`q` ends numascope with status 0 and hands back a working, sane terminal."""
    tmux.send("q")
    tmux.wait_for("EXIT=0", patience=30)
    # The marker is typed split ("SA""NE"), so the echoed command line cannot match
    # before the shell has run it.
    tmux.send(
        "clear; stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(echo|icanon)'; echo SA\"\"NE", "Enter"
    )
    screen = tmux.wait_for("SANE\n")
    lines = screen.split()
    assert "echo" in lines and "icanon" in lines, screen  # not "-echo" / "-icanon"
