"""The real `numascope top` in a real terminal (tmux): it draws, finds rows, quits cleanly."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from tests.conftest import require, require_root
from tests.fixtures import streams

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
    # The marker is typed split ("SA""NE"), so the echoed command line cannot match
    # before the shell has run it.
    tmux.send(
        "clear; stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(echo|icanon)'; echo SA\"\"NE", "Enter"
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
        ["sh", "-c", "while :; do dd if=/dev/zero of=/dev/null bs=64M count=50 2>/dev/null; done"],
        start_new_session=True,  # its own group: the finally below ends the loop and its dd
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
        with contextlib.suppress(ProcessLookupError):
            os.killpg(workload.pid, signal.SIGKILL)
        workload.wait()


@pytest.mark.parametrize(
    ("source", "shown", "leader"),
    [
        pytest.param("replay", "replay ended", False, id="replay"),
        pytest.param("live", "probes)", False, id="live-bpf", marks=pytest.mark.kernel),
        # Run as the session leader (`exec`, as in `tmux new-session numascope top` or
        # `ssh -t host numascope top`), top gets the hangup's SIGCONT itself.
        pytest.param("replay", "replay ended", True, id="replay-leader"),
        pytest.param("live", "probes)", True, id="live-bpf-leader", marks=pytest.mark.kernel),
    ],
)
def test_closing_the_terminal_ends_top(
    tmux: Tmux, tmp_path: Path, source: str, shown: str, leader: bool
) -> None:
    """A killed pane hangs up the terminal: top ends (and a live one detaches its probes)."""
    if source == "live":
        require_root()
        command = f"{NUMASCOPE} top --source bpf --interval 0.2"
    else:
        stream = streams.write_stream(tmp_path / "remote.jsonl", streams.remote_heavy())
        command = f"{NUMASCOPE} top --replay {stream} --interval 0.2"
    tmux.send(f"exec {command}" if leader else command, "Enter")
    tmux.wait_for(shown)
    pid = tmux.numascope_pid()
    tmux.hang_up()
    left = wait_gone([pid], EXIT_PATIENCE)
    if left:  # say where it is stuck: the threads and what each waits on
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                comm = Path(f"/proc/{pid}/task/{task}/comm").read_text().strip()
                wchan = Path(f"/proc/{pid}/task/{task}/wchan").read_text()
                print(f"thread {task} {comm}: waits in {wchan or '-'}")
    assert not left, "numascope top kept running without its terminal"


def test_sighup_with_the_terminal_reloads_the_policy(tmux: Tmux, tmp_path: Path) -> None:
    """SIGHUP while the terminal is there is the reload signal: top reloads and stays."""
    stream = streams.write_stream(tmp_path / "remote.jsonl", streams.remote_heavy())
    config = tmp_path / "policy.yaml"
    config.write_text((REPO / "examples" / "config.yaml").read_text(encoding="utf-8"))
    tmux.send(
        f"{NUMASCOPE} top --replay {stream} --config {config} --interval 0.2; echo EXIT=$?",
        "Enter",
    )
    tmux.wait_for("replay ended")  # the feed now sleeps: the reload has to wake it
    os.kill(tmux.numascope_pid(), signal.SIGHUP)
    tmux.wait_for("policy reloaded from")
    quit_and_check_terminal(tmux)
