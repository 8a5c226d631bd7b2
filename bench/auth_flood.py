"""What a wrong-password flood costs `numascope export`, and whether good scrapes
are still served through it.

`numascope export` runs with basic auth (one user, a bcrypt hash of cost 10, as
`htpasswd -nBC 10` makes) on a replayed stream, so only the endpoint is measured.
A good scraper with the right password scrapes every `--good-every` seconds from
before the flood to its end. Then `--scrapers` scrapers, each with its own wrong
password, scrape every `--every` seconds (0: each as fast as it is answered) for
`--seconds`, over keep-alive connections where the server keeps them. With
`--fresh`, every wrong scrape sends a password never sent before (a guessing
attack: no cache can help, only the one-at-a-time bcrypt lock bounds it).

The flood first settles: until every wrong scraper has been answered 401 once
(on code that caches failures, each wrong password has then cost bcrypt once);
the CPU seconds that took are printed apart. From then on the exporter's CPU
(user + system, from /proc/PID/stat) is read every second for `--seconds`: its
share of one core, median and spread over every second of every run.
The good scrapes' latency: median and p95, and how many were not answered 200.

    .venv/bin/python bench/auth_flood.py [--runs 3] [--seconds 20] [--scrapers 50]
    .venv/bin/python bench/auth_flood.py --src /path/to/other/checkout/src   # other code

Prints a Markdown table row per setting.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt

ROOT = Path(__file__).resolve().parents[1]
STREAM = ROOT / "tests" / "fixtures" / "streams" / "two_node.jsonl"
TICKS = os.sysconf("SC_CLK_TCK")
PASSWORD = "s3cret"


@dataclass
class Tally:
    """What the scrapers saw; lists are appended to from many threads (GIL-safe)."""

    statuses: dict[int, int] = field(default_factory=dict)
    good_latency: list[float] = field(default_factory=list)
    good_failed: dict[int, int] = field(default_factory=dict)  # status (0: no answer): count
    refused_once: set[int] = field(default_factory=set)  # scrapers that have seen a 401
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(conn: http.client.HTTPConnection, auth: str) -> int:
    header = "Basic " + base64.b64encode(auth.encode()).decode()
    try:
        conn.request("GET", "/metrics", headers={"Authorization": header})
        response = conn.getresponse()
        response.read()
        if response.will_close:
            conn.close()
        return response.status
    except (OSError, http.client.HTTPException):
        conn.close()  # the next request reconnects
        return 0


def wrong_scraper(
    port: int, index: int, every: float, fresh: bool, stop: threading.Event, tally: Tally
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sent = 0
    while not stop.is_set():
        began = time.monotonic()
        password = f"wrong-{index}-{sent}" if fresh else f"wrong-{index}"
        status = scrape(conn, f"prometheus:{password}")
        tally.count(status)
        if status == 401:
            tally.refused_once.add(index)
        sent += 1
        stop.wait(max(0.0, every - (time.monotonic() - began)))
    conn.close()


def good_scraper(port: int, every: float, stop: threading.Event, tally: Tally) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        began = time.monotonic()
        status = scrape(conn, f"prometheus:{PASSWORD}")
        took = time.monotonic() - began
        if status == 200:
            tally.good_latency.append(took)
        else:
            tally.good_failed[status] = tally.good_failed.get(status, 0) + 1
        stop.wait(max(0.0, every - took))
    conn.close()


def start_exporter(src: Path, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()
    (folder / "web.yml").write_text(f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    port = free_port()
    log = folder / "export.log"
    argv = [sys.executable, "-m", "numascope", "export", "--replay", str(STREAM)]
    argv += ["--web.listen-address", f"127.0.0.1:{port}"]
    argv += ["--web.config.file", str(folder / "web.yml")]
    env = {**os.environ, "PYTHONPATH": str(src)}
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while "serving" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"numascope export did not start: {log.read_text()}")
        time.sleep(0.05)
    return proc, port


def one_run(args: argparse.Namespace) -> tuple[list[float], Tally, tuple[float, float]]:
    """Per-second CPU shares of one core once settled, the tally then, and the
    settling's CPU seconds and wall seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_exporter(args.src, Path(tmp))
        tally = Tally()
        stop = threading.Event()
        try:
            warm = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if scrape(warm, f"prometheus:{PASSWORD}") != 200:
                sys.exit("the good password was refused")
            warm.close()
            threads = [
                threading.Thread(target=good_scraper, args=(port, args.good_every, stop, tally))
            ]
            threads += [
                threading.Thread(
                    target=wrong_scraper, args=(port, i, args.every, args.fresh, stop, tally)
                )
                for i in range(args.scrapers)
            ]
            for t in threads:
                t.start()
            # Settle: until every scraper's password has been checked once (cached
            # from then on, on code that caches failures).
            began_cpu, began = cpu_seconds(proc.pid), time.monotonic()
            while len(tally.refused_once) < args.scrapers and time.monotonic() - began < 60:
                time.sleep(0.1)
            time.sleep(1.0)
            settle = (cpu_seconds(proc.pid) - began_cpu, time.monotonic() - began)
            tally.statuses.clear()
            tally.good_latency.clear()
            tally.good_failed.clear()
            shares = []
            before, at = cpu_seconds(proc.pid), time.monotonic()
            for _ in range(int(args.seconds)):
                time.sleep(1.0)
                now_cpu, now = cpu_seconds(proc.pid), time.monotonic()
                shares.append(100 * (now_cpu - before) / (now - at))
                before, at = now_cpu, now
            stop.set()
            for t in threads:
                t.join(timeout=60)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return shares, tally, settle


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def by_status(counts: dict[int, int]) -> str:
    return ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="numascope's src folder")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--scrapers", type=int, default=50)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between wrong scrapes")
    parser.add_argument("--good-every", type=float, default=0.5)
    parser.add_argument("--fresh", action="store_true", help="a new wrong password each time")
    args = parser.parse_args()

    shares: list[float] = []
    latency: list[float] = []
    failed: dict[int, int] = {}
    statuses: dict[int, int] = {}
    run_means = []
    settles = []
    for _ in range(args.runs):
        run_shares, tally, settle = one_run(args)
        settles.append(settle)
        shares += run_shares
        run_means.append(statistics.fmean(run_shares))
        latency += tally.good_latency
        for status, n in tally.good_failed.items():
            failed[status] = failed.get(status, 0) + n
        for status, n in tally.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    wrong = sum(statuses.values())
    seconds = args.runs * args.seconds
    every = "back to back" if args.every == 0 else f"every {args.every:g} s"
    print(
        f"{args.scrapers} wrong-password scrapers, {every}"
        f"{', a new password each time' if args.fresh else ''}; src {args.src}; "
        f"{args.runs} runs x {args.seconds:g} s"
    )
    print()
    print(
        "| settling: CPU s in wall s, per run "
        "| exporter CPU, % of a core: mean; median of seconds (p10-p90, min-max) "
        "| per-run means "
        "| wrong scrapes answered per s (statuses) "
        "| good scrapes: median / p95 latency, not 200 |"
    )
    print("|---|---|---|---|---|")
    good = (
        f"{statistics.median(latency) * 1000:.1f} / {percentile(latency, 0.95) * 1000:.1f} ms"
        if latency
        else "none served"
    )
    print(
        f"| {', '.join(f'{c:.1f} in {w:.1f}' for c, w in settles)} "
        f"| {statistics.fmean(shares):.1f}; {statistics.median(shares):.1f} "
        f"({percentile(shares, 0.1):.1f}-"
        f"{percentile(shares, 0.9):.1f}, {min(shares):.1f}-{max(shares):.1f}) "
        f"| {', '.join(f'{m:.1f}' for m in run_means)} "
        f"| {wrong / seconds:.0f} ({by_status(statuses)}) "
        f"| {good}, {sum(failed.values())} of {sum(failed.values()) + len(latency)}"
        f"{' (' + by_status(failed) + ')' if failed else ''} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
