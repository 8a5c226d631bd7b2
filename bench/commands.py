"""Start-up time and memory of numascope's commands, run as a user would.

Start-up, from the command's start:
- to its first snapshot: the first line `numascope snapshot --json --interval I`
  writes (the first snapshot covers one interval, reported apart from the rest);
- to its end after SIGTERM (detaching every probe), timed apart: it is not start-up,
  but it is how long a user waits after `q` or `systemctl stop`;
- to the first screen of `numascope top --interval I` in a tmux pane, and to the
  first screen showing a snapshot (polled with `tmux capture-pane` every 10 ms).
Memory: VmRSS of each long-running command (`snapshot`, `top` in a tmux pane,
`export`) a few seconds after start and after a minute, all three at once.

    sudo .venv/bin/python bench/commands.py [--runs 5] [--hold 60]

Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

NUMASCOPE = str(Path(sys.executable).with_name("numascope"))


def rss_mib(pid: int) -> float:
    """VmRSS of `pid` and its children (the command may be behind a wrapper)."""
    total = 0.0
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    out = [int(k) for k in kids]
    for k in list(out):
        out.extend(children(k))
    return out


def snapshot_start(interval: float) -> tuple[float, float]:
    """Seconds to the first snapshot line, and from SIGTERM to the process's end."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [NUMASCOPE, "snapshot", "--json", "--interval", str(interval)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    first = time.perf_counter() - started
    if not line:
        raise SystemExit("commands: numascope snapshot ended before its first snapshot")
    stopping = time.perf_counter()
    proc.terminate()
    proc.communicate(timeout=60)
    return first, time.perf_counter() - stopping


def top_start(tmux: str, interval: float) -> tuple[float, float]:
    """Seconds from starting `numascope top` in a tmux pane to its first screen,
    and to the first screen that shows a snapshot (the header names the host)."""
    session = f"nsstart{os.getpid()}"
    subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)
    started = time.perf_counter()
    subprocess.run(
        [
            tmux,
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "160",
            "-y",
            "50",
            NUMASCOPE,
            "top",
            "--interval",
            str(interval),
        ],
        check=True,
    )
    screen = frame = 0.0
    try:
        deadline = started + 120
        while time.perf_counter() < deadline and not frame:
            shown = subprocess.run(
                [tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            now = time.perf_counter() - started
            if not screen and "numascope" in shown:
                screen = now
            if " · host " in shown:
                frame = now
            time.sleep(0.01)
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)
    if not frame:
        raise SystemExit("commands: numascope top showed no snapshot within 120 s")
    return screen, frame


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--hold", type=float, default=60.0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("commands: run as root", file=sys.stderr)
        return 2
    print(f"kernel {os.uname().release}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print()
    firsts: list[float] = []
    exits: list[float] = []
    for _ in range(args.runs):
        to_first, ended = snapshot_start(args.interval)
        firsts.append(to_first)
        exits.append(ended)
    tmux = shutil.which("tmux")
    screens: list[float] = []
    frames: list[float] = []
    for _ in range(args.runs if tmux else 0):
        screen, frame = top_start(str(tmux), args.interval)
        screens.append(screen)
        frames.append(frame)
    print(f"| from the command's start (median of {args.runs}) | s | min..max |")
    print("|---|---:|---:|")
    rows = [
        (f"`snapshot --json --interval {args.interval:g}`: first snapshot", firsts),
        ("`snapshot`: end after SIGTERM (probes detached)", exits),
        (f"`top --interval {args.interval:g}`: first screen", screens),
        (f"`top --interval {args.interval:g}`: first screen with a snapshot", frames),
    ]
    for label, values in rows:
        if values:
            print(
                f"| {label} | {statistics.median(values):.2f} | "
                f"{min(values):.2f}..{max(values):.2f} |"
            )
    print()
    print(f"Each first snapshot includes its interval ({args.interval:g} s).")
    print()

    procs: dict[str, subprocess.Popen[bytes]] = {
        "snapshot": subprocess.Popen(
            [NUMASCOPE, "snapshot"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ),
        "export": subprocess.Popen(
            [NUMASCOPE, "export", "--web.listen-address", "127.0.0.1:19479"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    }
    top_pid = None
    if tmux:
        subprocess.run([tmux, "kill-session", "-t", "nsbench"], capture_output=True)
        subprocess.run(
            [tmux, "new-session", "-d", "-s", "nsbench", "-x", "160", "-y", "50", NUMASCOPE, "top"],
            check=True,
        )
        pane = subprocess.run(
            [tmux, "list-panes", "-t", "nsbench", "-F", "#{pane_pid}"],
            capture_output=True,
            text=True,
        )
        top_pid = int(pane.stdout.split()[0])
    time.sleep(10)
    first = {name: rss_mib(p.pid) for name, p in procs.items()}
    if top_pid:
        first["top"] = rss_mib(top_pid)
    time.sleep(max(0.0, args.hold - 10))
    later = {name: rss_mib(p.pid) for name, p in procs.items()}
    if top_pid:
        later["top"] = rss_mib(top_pid)
    for p in procs.values():
        p.terminate()
        p.wait(timeout=30)
    if tmux:
        subprocess.run([tmux, "kill-session", "-t", "nsbench"], capture_output=True)
    print(f"| command (all three running) | RSS after 10 s, MiB | RSS after {args.hold:g} s, MiB |")
    print("|---|---:|---:|")
    for name in first:
        print(f"| `numascope {name}` | {first[name]:.0f} | {later[name]:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
