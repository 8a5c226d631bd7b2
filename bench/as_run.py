"""What a workload pays for numascope as users run it, next to other tools, in one run.

Every row is measured the same way, in the same run, interleaved: a round visits
every tool in a fresh random order, `--pairs-per-round` pairs each. A pair is
four runs of the workloads, symmetric in time so that a machine drifting
faster or slower during the pair cancels out: one bare run, then the tool
started as users start it, waited for until its BPF programs are attached (a
fixed time for perf, which attaches none) and `--settle` seconds more, two
runs with the tool on, the tool stopped and `--settle` seconds, one bare run.
The slowdown of a pair is mean(traced) / mean(bare) - 1, in the workload's CPU
time (user + system, its own and its children's, from wait4's rusage): a probe
runs in the context of the task that allocates, so every nanosecond it costs is
in that task's system time, and the tool's reading on another CPU slows the
workload's memory accesses, which its CPU time shows too; what CPU time leaves
out is time the workload waited for a CPU, which on this 2-CPU machine mostly
measures whatever else ran (elapsed time is printed beside it, and the tool's
own CPU share says how much it could have taken). The settling keeps the
tool's start-up (compiling, the first polls, naming every process) out of the
runs: start-up is measured on its own (bench/commands.py), and what a user who
leaves the tool on pays is its steady state. The row with nothing attached
("nothing") is the noise floor: its slowdown should be 0, and its interval says
how finely this run can tell two rows apart.

Workloads (run pinned to the last CPU, `taskset -c N-1`; the tools are not
pinned, as users run them):
- `fault`: bench/fault.c, 64 MiB mapped, touched a page at a time and unmapped,
  `--rounds` times (32: about 1.3 s here): the page allocator's hot path, the
  worst case for a probe on it. Its CPU time is the fault rounds' own (the
  thread's CPU clock around them), and beside it the slowdown against its
  control: a pre-faulted buffer written 4 KiB at a time between the rounds,
  timed apart, which no probe runs for; the machine's swings move both, a probe
  only the fault rounds (see bench/fault.c).
- `compile`: `cc -O1 -c` of a generated C file of 400 functions, three times: a
  build is how many hosts spend their allocations (short-lived processes, page
  cache, anonymous memory in small and large runs, process births and exits that
  exercise numascope's owner bookkeeping, which the fault loop never does).

    sudo .venv/bin/python bench/as_run.py [--rounds-of-tools 12] [--pairs-per-round 2]
        [--workloads fault,compile] [--only export,top] [--settle 3]

Prints, per workload, a Markdown table: median slowdown over the pairs, its 95%
interval (bootstrap of the median), the middle half and the whole spread, the
tool's resident memory at the end of its last run and the CPU it used while
the workload ran (share of one CPU).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from numascope.collectors.probe_families import FAMILY_NAMES

ROOT = Path(__file__).resolve().parent.parent
NUMASCOPE = str(Path(sys.executable).with_name("numascope"))
UNIT = ROOT / "deploy" / "numascope-exporter.service"
CPUS = os.cpu_count() or 1
WORKLOAD_CPU = str(CPUS - 1)


def bpf_programs_held(pid: int) -> int:
    """BPF programs the process `pid` holds open (its own, whatever else runs here)."""
    held = 0
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                held += os.readlink(fd) == "anon_inode:bpf-prog"
            except OSError:
                continue
    except OSError:
        return 0
    return held


@dataclass
class Tool:
    """A way to start one tool as users run it; `argv` None is "nothing attached"."""

    label: str
    argv: list[str] | None
    in_terminal: bool = False
    settle_seconds: float = 0.0  # for tools that attach no BPF program (perf)
    rss_kib: list[int] = field(default_factory=list)
    cpu_shares: list[float] = field(default_factory=list)  # of one CPU, while traced runs ran

    def start(self, tmp: Path) -> subprocess.Popen[bytes] | None:
        if self.argv is None:
            return None
        if self.in_terminal:
            # A real terminal: tmux runs the command in a pane, as a user's shell would.
            session = f"numascope-bench-{os.getpid()}"
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
            subprocess.run(
                [
                    *("tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50"),
                    shlex.join(self.argv),
                ],
                check=True,
            )
            # A handle to stop with the others: the pane's process is found by
            # main_pid, and the session is what stop() ends.
            proc = subprocess.Popen(["tmux", "wait-for", "never-" + session])
        else:
            proc = subprocess.Popen(
                self.argv,
                stdout=subprocess.DEVNULL,
                stderr=(tmp / "stderr").open("wb"),
                cwd=tmp,
            )
        deadline = time.monotonic() + 120
        if self.settle_seconds:
            time.sleep(self.settle_seconds)
        else:
            # Attached when the tool holds programs and their number holds for a second.
            seen, stable_since = 0, time.monotonic()
            while time.monotonic() < deadline:
                pid = self.main_pid(proc)
                now = bpf_programs_held(pid) if pid is not None else 0
                if now != seen:
                    seen, stable_since = now, time.monotonic()
                elif now > 0 and time.monotonic() - stable_since >= 1.0:
                    break
                time.sleep(0.2)
            else:
                self.stop(proc)
                raise RuntimeError(f"{self.label}: no BPF program attached within 120 s")
        if proc.poll() is not None and not self.in_terminal:
            err = (tmp / "stderr").read_text(errors="replace").strip()[-300:]
            raise RuntimeError(f"{self.label} exited: {err}")
        return proc

    def main_pid(self, proc: subprocess.Popen[bytes]) -> int | None:
        if not self.in_terminal:
            return proc.pid
        out = subprocess.run(
            [
                "tmux",
                "list-panes",
                "-s",
                "-t",
                f"numascope-bench-{os.getpid()}",
                "-F",
                "#{pane_pid}",
            ],
            capture_output=True,
            text=True,
        )
        return int(out.stdout.split()[0]) if out.stdout.strip() else None

    def record_rss(self, proc: subprocess.Popen[bytes]) -> None:
        pid = self.main_pid(proc)
        if pid is None:
            return
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.rss_kib.append(int(line.split()[1]))
        except OSError:
            pass

    def cpu_seconds(self, proc: subprocess.Popen[bytes]) -> float:
        """User and system CPU seconds the tool's main process has used so far."""
        pid = self.main_pid(proc)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, proc: subprocess.Popen[bytes] | None) -> None:
        if proc is None:
            return
        if self.in_terminal:
            subprocess.run(
                ["tmux", "kill-session", "-t", f"numascope-bench-{os.getpid()}"],
                capture_output=True,
            )
            proc.kill()
            proc.wait()
            # The pane's process gets SIGHUP; wait for its programs to go.
            time.sleep(1.0)
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def unit_argv() -> list[str]:
    """The shipped unit's ExecStart, with this checkout's numascope when none is installed."""
    for line in UNIT.read_text().splitlines():
        if line.startswith("ExecStart="):
            argv = shlex.split(line.removeprefix("ExecStart=").lstrip("-@:+!"))
            if not Path(argv[0]).exists():
                argv[0] = NUMASCOPE
            return argv
    raise RuntimeError(f"{UNIT}: no ExecStart line")


def tools(tmp: Path) -> list[Tool]:
    return [
        Tool("nothing (noise floor)", None),
        Tool(
            "probes alone (attached, nothing polling, no statistics)",
            [sys.executable, str(ROOT / "bench" / "attach_only.py")],
        ),
        Tool("numascope snapshot --json", [NUMASCOPE, "snapshot", "--json"]),
        Tool(
            "numascope export (default flags)",
            [NUMASCOPE, "export", "--web.listen-address", "127.0.0.1:19481"],
        ),
        Tool("numascope export (as the shipped unit runs it)", unit_argv()),
        Tool("numascope top (in tmux)", [NUMASCOPE, "top"], in_terminal=True),
        Tool(
            "numascope capture",
            [NUMASCOPE, "capture", "--duration", "1h", "-o", str(tmp / "bench.capture.gz")],
        ),
        Tool(
            # What the opt-in families add (slab, migrate_nodes' page hooks).
            "numascope capture --probes (every family)",
            [
                NUMASCOPE,
                "capture",
                "--duration",
                "1h",
                "-o",
                str(tmp / "bench-all.capture.gz"),
                "--probes",
                ",".join(FAMILY_NAMES),
            ],
        ),
        Tool(
            "bpftrace @[pid, numaid] = count()",
            ["bpftrace", "-e", "tracepoint:kmem:mm_page_alloc { @[pid, numaid] = count(); }"],
        ),
        Tool(
            "perf record -e kmem:mm_page_alloc",
            [
                "perf",
                "record",
                "-q",
                "-a",
                "-e",
                "kmem:mm_page_alloc",
                "-o",
                str(tmp / "perf.data"),
            ],
            settle_seconds=3.0,
        ),
    ]


@dataclass(frozen=True)
class Run:
    """One run of a workload: its CPU time (user + system, the workload's own and
    its children's) and its elapsed time, both per unit of work, and the CPU time
    of its control (bench/fault.c's), when it has one."""

    cpu: float
    wall: float
    control: float | None = None


def timed(argv: list[str], units: float) -> tuple[Run, str]:
    """Run `argv` to completion: its CPU and elapsed seconds per unit of work, and
    what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, check=True, text=True).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(cpu / units, wall / units), out


def make_workloads(tmp: Path, rounds: int) -> dict[str, Callable[[], Run]]:
    fault = tmp / "fault"
    subprocess.run(["cc", "-O2", "-o", str(fault), str(ROOT / "bench" / "fault.c")], check=True)
    source = tmp / "unit.c"
    source.write_text(
        "".join(
            f"int f{i}(int *a, int n) {{ int s = 0; for (int j = 0; j < n; j++) "
            f"s += a[j] * {i} ^ (s >> 3); return s; }}\n"
            for i in range(400)
        )
    )
    pin = ["taskset", "-c", WORKLOAD_CPU]
    pages = rounds * (64 << 20) // 4096

    def fault_run() -> Run:
        # An untimed warm-up round first: attaching a tool frees a compiler's worth
        # of cache-warm pages, which would flatter the run right after it.
        subprocess.run([*pin, str(fault), "64", "1"], capture_output=True, check=True)
        run, out = timed([*pin, str(fault), "64", str(rounds), "control"], pages)
        # The fault rounds' and the control's thread CPU ns per page, timed apart
        # inside the workload; elapsed time (both phases) per page beside them.
        faulting, control = (float(f) for f in out.split())
        return Run(faulting, run.wall * 1e9, control)

    def compile_run() -> Run:
        argv = [*pin, "sh", "-c", 'for i in 1 2 3; do cc -O1 -c -o "$0" "$1"; done']
        return timed([*argv, str(tmp / "unit.o"), str(source)], 3)[0]  # s per compile

    return {"fault": fault_run, "compile": compile_run}


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """First quartile, median, third quartile (all three the value when alone)."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return q1, q2, q3


def bootstrap_median_interval(values: list[float], draws: int = 2000) -> tuple[float, float]:
    rng = random.Random(7)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(draws))
    return medians[int(0.025 * draws)], medians[int(0.975 * draws) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds-of-tools", type=int, default=12)
    parser.add_argument("--pairs-per-round", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=32, help="fault loop rounds per run")
    parser.add_argument("--workloads", default="fault,compile")
    parser.add_argument("--only", default="", help="comma-separated parts of tool labels")
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds after attaching and after stopping"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("as_run: run as root", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="numascope-as-run-"))
    everything = tools(tmp)
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    chosen = [
        t for t in everything if t.argv is None or not wanted or any(w in t.label for w in wanted)
    ]
    workloads = make_workloads(tmp, args.rounds)
    names = [w for w in args.workloads.split(",") if w]
    # By (tool, workload): each pair's slowdown in CPU time and in elapsed time, in %.
    ratios: dict[tuple[str, str], list[float]] = {}
    wall_ratios: dict[tuple[str, str], list[float]] = {}
    # The same against the control (fault rounds / control, traced over bare).
    controlled: dict[tuple[str, str], list[float]] = {}
    bare_values: dict[tuple[str, str], list[float]] = {}
    failed: dict[str, str] = {}
    rng = random.Random(11)
    print(
        f"kernel {os.uname().release}, {CPUS} CPUs, workload pinned to CPU {WORKLOAD_CPU}, "
        f"tools unpinned; {args.rounds_of_tools} rounds x {args.pairs_per_round} pairs per "
        f"tool and workload, {args.settle:g} s settling; load before {os.getloadavg()[0]:.2f}"
    )

    def run_all() -> dict[str, Run]:
        return {name: workloads[name]() for name in names}

    for round_no in range(args.rounds_of_tools):
        order = [t for t in chosen if t.label not in failed]
        rng.shuffle(order)
        for tool in order:
            for _ in range(args.pairs_per_round):
                # bare, tool on (two runs), bare: symmetric in time.
                before = run_all()
                try:
                    proc = tool.start(tmp)
                except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                    failed[tool.label] = str(exc)
                    break
                try:
                    time.sleep(args.settle)
                    cpu0, wall0 = (tool.cpu_seconds(proc), time.monotonic()) if proc else (0, 0)
                    traced = [run_all(), run_all()]
                    if proc is not None:
                        used = tool.cpu_seconds(proc) - cpu0
                        tool.cpu_shares.append(used / (time.monotonic() - wall0))
                        tool.record_rss(proc)
                finally:
                    tool.stop(proc)
                time.sleep(args.settle)
                after = run_all()
                for name in names:
                    key = (tool.label, name)
                    bare = (before[name].cpu + after[name].cpu) / 2
                    on = (traced[0][name].cpu + traced[1][name].cpu) / 2
                    ratios.setdefault(key, []).append((on / bare - 1) * 100)
                    bare_values.setdefault(key, []).append(bare)
                    bare_wall = (before[name].wall + after[name].wall) / 2
                    on_wall = (traced[0][name].wall + traced[1][name].wall) / 2
                    wall_ratios.setdefault(key, []).append((on_wall / bare_wall - 1) * 100)
                    runs = (before[name], after[name], *(t[name] for t in traced))
                    if all(r.control for r in runs):
                        ratio = [r.cpu / (r.control or 1) for r in runs]
                        on_ratio, bare_ratio = ratio[2] + ratio[3], ratio[0] + ratio[1]
                        controlled.setdefault(key, []).append((on_ratio / bare_ratio - 1) * 100)
        print(f"round {round_no + 1}/{args.rounds_of_tools} done", file=sys.stderr)
    for name in names:
        unit = "CPU ns/page" if name == "fault" else "CPU s/compile"
        print()
        print(f"Workload `{name}` (slowdown in the workload's CPU time; elapsed time beside it):")
        print()
        print(
            f"| tool | pairs | bare {unit} (median) | slowdown (median) | 95% interval "
            "| middle half | min..max | elapsed: median (middle half) "
            "| against the control: median (95% interval) | tool RSS MiB | tool CPU |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for tool in chosen:
            values = ratios.get((tool.label, name))
            if not values:
                print(
                    f"| {tool.label} | 0 | | not measured: {failed.get(tool.label, '?')} "
                    "| | | | | | | |"
                )
                continue
            low, high = bootstrap_median_interval(values)
            q1, _, q3 = quartiles(values)
            walls = wall_ratios[(tool.label, name)]
            w1, wmid, w3 = quartiles(walls)
            bare = statistics.median(bare_values[(tool.label, name)])
            rss = f"{max(tool.rss_kib) / 1024:.0f}" if tool.rss_kib else ""
            cpu = f"{statistics.median(tool.cpu_shares):.1%}" if tool.cpu_shares else ""
            against = controlled.get((tool.label, name))
            versus = ""
            if against:
                c_low, c_high = bootstrap_median_interval(against)
                versus = f"{statistics.median(against):+.1f}% ({c_low:+.1f}%..{c_high:+.1f}%)"
            print(
                f"| {tool.label} | {len(values)} | {bare:.3g} | "
                f"{statistics.median(values):+.1f}% | {low:+.1f}%..{high:+.1f}% | "
                f"{q1:+.1f}%..{q3:+.1f}% | {min(values):+.1f}%..{max(values):+.1f}% "
                f"| {wmid:+.1f}% ({w1:+.1f}%..{w3:+.1f}%) | {versus} | {rss} | {cpu} |"
            )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
