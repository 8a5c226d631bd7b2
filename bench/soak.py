"""Soak: `numascope export` scraped 10 times a second under a page-fault storm and a
process-spawn storm.

Checks at the end (exit status 1 when one fails, with the figures either way):
no failed scrape, no failed poll, no probe failure; the exporter's per-node
allocation events over the run within 1% of the kernel's own numastat
(`local_node + other_node`, read in the same poll); at most
`prometheus.workload-limit` process and cgroup series (plus `other`); the
exporter still detaches on SIGTERM; memory flat: RSS, sampled once a second, may
grow while the bounded structures fill (exited rows, caches: at most
--max-rss-growth-mib from the start to the middle of the run) and then must stay
flat (at most --max-late-rss-growth-mib above its middle value over the second
half). RSS at the start, each quarter, the end and its peak are printed.

    sudo .venv/bin/python bench/soak.py --seconds 600
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from numascope.exporters.prometheus.budgeted import MIN_LINGERING

ROOT = Path(__file__).resolve().parent.parent
NUMASCOPE = ROOT / ".venv" / "bin" / "numascope"
WORKLOAD_LIMIT = 50  # the default prometheus.workload-limit
SCRAPES_PER_SECOND = 10


@dataclass
class Figures:
    seconds: float = 0.0
    scrapes: int = 0
    scrape_errors: int = 0
    poll_errors: float = 0.0
    probe_failures: float = 0.0
    processes_spawned: int = 0
    fault_rounds: int = 0
    numascope_events: float = 0.0
    kernel_events: float = 0.0
    events_gap_ratio: float = 0.0
    max_process_series: int = 0
    max_cgroup_series: int = 0
    rss_start_mib: float = 0.0
    rss_middle_mib: float = 0.0
    rss_end_mib: float = 0.0
    rss_peak_mib: float = 0.0
    rss_late_growth_mib: float = 0.0  # second half's highest sample above the middle's
    # RSS at 0, 1/4, 1/2, 3/4 and all of the storms' time: (seconds, MiB)
    rss_quarters: list[tuple[float, float]] = field(default_factory=list)
    # (seconds into the storms, RSS MiB), one a second
    rss_samples: list[tuple[float, float]] = field(default_factory=list)
    exit_status: int | None = None
    failures: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) / 1024 if m else 0.0


def samples(text: str, name: str) -> dict[str, float]:
    out = {}
    for m in re.finditer(rf"^{name}(\{{[^}}]*\}})? (\S+)$", text, re.M):
        out[m.group(1) or ""] = float(m.group(2))
    return out


def total(text: str, name: str) -> float:
    return sum(samples(text, name).values())


def label_values(text: str, name: str, label: str) -> set[str]:
    return {
        m.group(1)
        for labels in samples(text, name)
        if (m := re.search(rf'{label}="((?:[^"\\]|\\.)*)"', labels))
    }


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as reply:
        if reply.status != 200:
            raise OSError(f"HTTP {reply.status}")
        return str(reply.read().decode("utf-8"))


def build_fault(workdir: Path) -> Path:
    binary = workdir / "fault"
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit("soak: a C compiler (cc) is needed for bench/fault.c")
    subprocess.run([cc, "-O2", "-o", str(binary), str(ROOT / "bench" / "fault.c")], check=True)
    return binary


def fault_storm(binary: Path, stop: threading.Event, figures: Figures) -> None:
    while not stop.is_set():
        subprocess.run([str(binary), "32", "4"], stdout=subprocess.DEVNULL, check=True)
        figures.fault_rounds += 4


def spawn_storm(stop: threading.Event, figures: Figures) -> None:
    # Short-lived processes, each allocating a little: pids come and go (and wrap).
    while not stop.is_set():
        procs = [subprocess.Popen(["/bin/true"]) for _ in range(20)]
        for p in procs:
            p.wait()
        figures.processes_spawned += len(procs)


def events_pair(text: str) -> tuple[float, float]:
    """(numascope's allocation events, the kernel's local_node + other_node), host-wide."""
    ours = total(text, "numascope_node_allocation_events_total")
    kernel = total(text, "numascope_kernel_numastat_local_node_total") + total(
        text, "numascope_kernel_numastat_other_node_total"
    )
    return ours, kernel


def rss_at(samples: list[tuple[float, float]], when: float) -> tuple[float, float]:
    """The sample taken nearest to `when` seconds into the storms."""
    return min(samples, key=lambda sample: abs(sample[0] - when))


def rss_figures(figures: Figures) -> None:
    samples = figures.rss_samples
    if not samples:
        return
    half = figures.seconds / 2
    figures.rss_quarters = [rss_at(samples, figures.seconds * q / 4) for q in range(5)]
    figures.rss_middle_mib = rss_at(samples, half)[1]
    late = [rss for when, rss in samples if when >= half]
    figures.rss_late_growth_mib = max(late, default=0.0) - figures.rss_middle_mib


def run(seconds: float, max_rss_growth_mib: float, max_late_rss_growth_mib: float) -> Figures:
    figures = Figures()
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    with tempfile.TemporaryDirectory(prefix="numascope-soak-") as tmp:
        workdir = Path(tmp)
        fault = build_fault(workdir)
        log = (workdir / "export.log").open("w")
        exporter = subprocess.Popen(
            [
                str(NUMASCOPE),
                "export",
                "--source",
                "bpf",
                "--web.listen-address",
                f"127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    first = scrape(url)
                    break
                except OSError:
                    if exporter.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("soak: the exporter did not start") from None
                    time.sleep(0.5)
            time.sleep(1.5)  # a poll with the baseline counts in it
            first = scrape(url)
            base_ours, base_kernel = events_pair(first)
            figures.rss_start_mib = figures.rss_peak_mib = rss_mib(exporter.pid)
            stop = threading.Event()
            workers = [
                threading.Thread(target=fault_storm, args=(fault, stop, figures)),
                threading.Thread(target=spawn_storm, args=(stop, figures)),
            ]
            for w in workers:
                w.start()
            started = time.monotonic()
            tick = started
            text = first
            try:
                while time.monotonic() - started < seconds:
                    tick += 1 / SCRAPES_PER_SECOND
                    time.sleep(max(0.0, tick - time.monotonic()))
                    try:
                        text = scrape(url)
                        figures.scrapes += 1
                    except OSError as exc:
                        figures.scrape_errors += 1
                        print(f"soak: scrape failed: {exc}", file=sys.stderr)
                        continue
                    procs = label_values(text, "numascope_workload_pages_total", "workload")
                    groups = label_values(text, "numascope_cgroup_pages_total", "cgroup")
                    figures.max_process_series = max(figures.max_process_series, len(procs))
                    figures.max_cgroup_series = max(figures.max_cgroup_series, len(groups))
                    if figures.scrapes % SCRAPES_PER_SECOND == 0:
                        rss = rss_mib(exporter.pid)
                        figures.rss_samples.append((round(time.monotonic() - started, 1), rss))
                        figures.rss_peak_mib = max(figures.rss_peak_mib, rss)
            finally:
                stop.set()
                for w in workers:
                    w.join()
            figures.seconds = time.monotonic() - started
            time.sleep(2.5)  # two more polls: the storms' last pages are drained
            text = scrape(url)
            figures.rss_end_mib = rss_mib(exporter.pid)
            rss_figures(figures)
            ours, kernel = events_pair(text)
            figures.numascope_events = ours - base_ours
            figures.kernel_events = kernel - base_kernel
            figures.events_gap_ratio = abs(figures.numascope_events - figures.kernel_events) / max(
                figures.kernel_events, 1.0
            )
            figures.poll_errors = total(text, "numascope_poll_errors_total")
            figures.probe_failures = total(text, "numascope_probe_failures_total")
        finally:
            exporter.send_signal(signal.SIGTERM)
            try:
                figures.exit_status = exporter.wait(timeout=60)
            except subprocess.TimeoutExpired:
                exporter.kill()
                exporter.wait()
            log.close()
            logged = (workdir / "export.log").read_text()
    f = figures.failures
    if figures.scrape_errors:
        f.append(f"{figures.scrape_errors} scrapes failed")
    if figures.poll_errors or figures.probe_failures:
        f.append(f"{figures.poll_errors} failed polls, {figures.probe_failures} probe failures")
    if figures.events_gap_ratio > 0.01:
        f.append(f"events differ from the kernel's by {figures.events_gap_ratio:.2%}")
    # Named series, those frozen after leaving the budget, and "other".
    most = WORKLOAD_LIMIT + max(WORKLOAD_LIMIT, MIN_LINGERING) + 1
    if figures.max_process_series > most:
        f.append(f"{figures.max_process_series} process series: budget broken")
    if figures.max_cgroup_series > most:
        f.append(f"{figures.max_cgroup_series} cgroup series: budget broken")
    if figures.rss_middle_mib - figures.rss_start_mib > max_rss_growth_mib:
        f.append(
            f"RSS grew {figures.rss_middle_mib - figures.rss_start_mib:.1f} MiB "
            f"by the middle of the run ({figures.rss_start_mib:.1f} -> "
            f"{figures.rss_middle_mib:.1f})"
        )
    if figures.rss_late_growth_mib > max_late_rss_growth_mib:
        f.append(
            f"RSS grew {figures.rss_late_growth_mib:.1f} MiB over the second half "
            f"(middle {figures.rss_middle_mib:.1f}, end {figures.rss_end_mib:.1f}, "
            f"peak {figures.rss_peak_mib:.1f} MiB)"
        )
    if figures.exit_status != 0:
        f.append(f"exporter exited with {figures.exit_status}: {logged[-500:]}")
    if figures.scrapes == 0 or figures.processes_spawned == 0 or figures.fault_rounds == 0:
        f.append("the storms or the scrapes did not run")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--max-rss-growth-mib", type=float, default=32.0)
    parser.add_argument("--max-late-rss-growth-mib", type=float, default=8.0)
    parser.add_argument("--json", action="store_true", help="figures as one JSON object")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("soak: run as root (the exporter attaches BPF probes)", file=sys.stderr)
        return 2
    figures = run(args.seconds, args.max_rss_growth_mib, args.max_late_rss_growth_mib)
    if args.json:
        print(json.dumps(asdict(figures)))
    else:
        for name, value in asdict(figures).items():
            if name != "rss_samples":  # one a second: in --json only
                print(f"{name:22} {value}")
    return 1 if figures.failures else 0


if __name__ == "__main__":
    sys.exit(main())
