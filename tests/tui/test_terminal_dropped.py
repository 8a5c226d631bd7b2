"""The real `numascope top`, started as root in a real terminal, runs on as `nobody`.

After the probes are attached top becomes `nobody` with only the kept capabilities;
a workload started after that must still show up with its pages, which only map
reads through the descriptors opened as root can deliver.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from numascope.privileges import KEPT_CAPABILITIES
from tests.conftest import require, require_root
from tests.tui.terminal import NUMASCOPE, PATIENCE, Tmux, quit_and_check_terminal

pytestmark = pytest.mark.kernel

# The workload's command name (at most 15 bytes): the name of the link it is run through.
COMM = "nsdroptouch"
TOUCHED_MIB = 64
TOUCHED_PAGES = TOUCHED_MIB << 8  # 4 KiB pages
# Touches TOUCHED_MIB once, then says so and waits (stdin is a pipe that never closes
# until the test ends it), so its row stays a live process.
WORKLOAD = f"""
import sys
b = bytearray({TOUCHED_MIB} << 20)
b[::4096] = b"x" * len(b[::4096])
print("touched", flush=True)
sys.stdin.read()
"""
_UNITS = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}


def ids(status: str, field: str) -> set[int]:
    """The real, effective, saved and filesystem ids of a `Uid:`/`Gid:` line."""
    line = re.search(rf"^{field}:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", status, re.M)
    assert line is not None, status
    return {int(v) for v in line.groups()}


def cap_mask(status: str, field: str) -> int:
    line = re.search(rf"^{field}:\s+([0-9a-f]+)$", status, re.M)
    assert line is not None, status
    return int(line.group(1), 16)


def shown_count(text: str) -> float:
    """A count as the table prints it (12, 3.4k, 56M) back to a number."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kMG]?)", text)
    assert m is not None, f"not a count: {text!r}"
    return float(m.group(1)) * _UNITS[m.group(2)]


def node0_pages(screen: str) -> float | None:
    """Pages on node 0 in the workload's row, read under the table's `N0` header."""
    lines = screen.splitlines()
    header = next((line for line in lines if re.search(r"\bPID\b.*\bN0\b", line)), None)
    row = next((line for line in lines if re.match(rf"\s*\d+\s+{COMM}\s", line)), None)
    if header is None or row is None:
        return None
    column = header.index(" N0 ") + 1
    cell = row[column:].split()
    return shown_count(cell[0]) if cell else None


def test_top_runs_on_as_nobody_and_still_counts_pages(tmux: Tmux, tmp_path: Path) -> None:
    require_root()
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        require(False, "needs the user nobody")
        raise
    tmux.send(f"{NUMASCOPE} top --source bpf --interval 0.5; echo EXIT=$?", "Enter")
    tmux.wait_for("probes)")  # compiled, attached, dropped, and a first snapshot drawn
    pid = tmux.numascope_pid()
    status = Path(f"/proc/{pid}/status").read_text()
    assert ids(status, "Uid") == {nobody.pw_uid}, status
    assert ids(status, "Gid") == {nobody.pw_gid}, status
    kept = sum(1 << cap for cap in KEPT_CAPABILITIES)
    assert cap_mask(status, "CapEff") == kept, status
    assert cap_mask(status, "CapPrm") == kept, status
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M), status

    # Started only now: every page the row shows was read after the drop.
    python = tmp_path / COMM  # the kernel names a process after the file it executes
    python.symlink_to(Path(sys.executable).resolve())
    workload = subprocess.Popen(
        [python, "-c", WORKLOAD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert workload.stdout is not None and workload.stdout.readline() == "touched\n"
        tmux.send("/")
        tmux.wait_for("Esc clears")
        tmux.send(COMM)
        tmux.wait_for(f"filter “{COMM}”")
        tmux.send("Enter")
        tmux.wait_for("Quit")  # the filter box is closed, the footer back
        # Counts arrive with the polls: wait until the row holds all the touched pages
        # (the table rounds to thousands above 10k: 16,384 shows as "16k").
        wanted = 1000 * (TOUCHED_PAGES // 1000)
        deadline = time.monotonic() + PATIENCE
        screen = tmux.wait_for(f" {COMM} ")
        while (pages := node0_pages(screen)) is None or pages < wanted:
            assert time.monotonic() < deadline, f"node-0 pages {pages}, not {wanted}:\n{screen}"
            time.sleep(0.2)
            screen = tmux.screen()
        assert ids(Path(f"/proc/{pid}/status").read_text(), "Uid") == {nobody.pw_uid}
        quit_and_check_terminal(tmux)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(workload.pid, signal.SIGKILL)
        workload.wait()
