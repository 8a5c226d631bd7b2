"""The real `numascope top` in a real terminal (tmux): it draws, finds rows, quits cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_root
from tests.fixtures import streams
from tests.tui.terminal import (
    EXIT_PATIENCE,
    NUMASCOPE,
    REPO,
    Tmux,
    quit_and_check_terminal,
    wait_gone,
)


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
