"""Start-up time and memory of numascope's commands, run as a user would.

Start-up: wall time of `numascope snapshot --count 1 --interval I` (the first
snapshot covers one interval, so the interval is reported apart from the rest).
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
    walls = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run(
            [NUMASCOPE, "snapshot", "--count", "1", "--interval", str(args.interval)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        walls.append(time.perf_counter() - started)
    med = statistics.median(walls)
    print(
        f"| command | to first snapshot, s (median of {args.runs}) | min..max "
        "| of which the interval |"
    )
    print("|---|---:|---:|---:|")
    print(
        f"| `numascope snapshot --count 1 --interval {args.interval:g}` | {med:.2f} | "
        f"{min(walls):.2f}..{max(walls):.2f} | {args.interval:g} |"
    )
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
    tmux = shutil.which("tmux")
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
