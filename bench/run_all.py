"""Run the whole benchmark suite and rewrite its section of BENCHMARKS.md.

    sudo scripts/bench            # everything (about 15 minutes here)
    sudo scripts/bench --only collector,slowdown

Each benchmark prints Markdown; this script puts the outputs, with the machine,
the kernel, the load before and after each step, the date and the exact commands,
between the `bench:begin` and `bench:end` markers of BENCHMARKS.md. Text
outside the markers (the reading of the figures) is left alone.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ".venv/bin/python"
BEGIN = "<!-- bench:begin (written by scripts/bench; edit the text outside) -->"
END = "<!-- bench:end -->"

STEPS: dict[str, tuple[str, list[str]]] = {
    "bpf_cost": (
        "Per-event cost on kmem:mm_page_alloc: numascope, empty, bpftrace, each alone",
        [PY, "bench/bpf_cost.py", "--loads", "9", "--rounds", "5", "--mib", "128"],
    ),
    "stats_check": (
        "Does bpf_stats measure a program's work here? Near-identical pairs, behind a lead",
        [PY, "bench/bpf_stats_check.py", "--lead", "--loads", "6", "--rounds", "3"],
    ),
    "position": (
        "Identical empty programs on one tracepoint, by position",
        [PY, "bench/bpf_position.py", "--programs", "8", "--rounds", "3"],
    ),
    "reclaim_irq": (
        "Per-event cost of the reclaim and interrupt programs",
        [PY, "bench/bpf_cost_reclaim_irq.py", "--rounds", "5"],
    ),
    "allocator": (
        "Per-event cost of the allocator and slab programs",
        [PY, "bench/bpf_cost_allocator.py", "--rounds", "5"],
    ),
    "slowdown": (
        "Page-fault workload slowdown (interleaved pairs)",
        [PY, "bench/slowdown.py", "--pairs", "10"],
    ),
    "as_run": (
        "What a workload pays for each command as run, next to bpftrace and perf (one run)",
        [PY, "bench/as_run.py", "--rounds-of-tools", "12", "--pairs-per-round", "1"],
    ),
    "collector": (
        "Collector cost per poll at 1 s, real kernel maps filled with N owners",
        [PY, "bench/collector.py", "--polls", "15"],
    ),
    "collector_steps": (
        "Collector: each step of a poll at 10,000 moving owners",
        [PY, "bench/collector_steps.py", "--keys", "10000", "--polls", "14"],
    ),
    "idle_memory": (
        "Memory touched after a pause: one add of 10,000 owner rows",
        [PY, "bench/idle_memory.py", "--rows", "10000", "--rounds", "7"],
    ),
    "commands": (
        "Start-up and memory of the commands",
        [PY, "bench/commands.py", "--runs", "5", "--hold", "60"],
    ),
    "scrape": (
        "One Prometheus scrape at 10,000 workloads (in process, 10 scrapes)",
        [PY, "bench/scrape.py", "10000"],
    ),
    "auth_flood": (
        "The metrics endpoint under 50 wrong-password scrapers (each every 1 s)",
        [PY, "bench/auth_flood.py", "--runs", "3", "--seconds", "15"],
    ),
    "tui_frame": (
        "One TUI frame at 5,000 workloads",
        [PY, "bench/tui_frame.py", "--workloads", "5000", "--frames", "20"],
    ),
}


def machine() -> str:
    mem = Path("/proc/meminfo").read_text().split()[1]
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return (
        f"{os.cpu_count()} CPUs ({model}), {int(mem) / 1024 / 1024:.0f} GiB, "
        f"kernel {platform.release()}, {platform.python_implementation()} "
        f"{platform.python_version()}"
    )


def earlier_sections(text: str) -> dict[str, list[str]]:
    """The "### title" subsections of the last run's block, by title."""
    if BEGIN not in text or END not in text:
        return {}
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    out: dict[str, list[str]] = {}
    for chunk in block.split("\n### ")[1:]:
        title, _, body = chunk.partition("\n")
        out[title.strip()] = [f"### {title.strip()}", *body.rstrip("\n").split("\n"), ""]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated steps: " + ",".join(STEPS))
    parser.add_argument("--no-write", action="store_true", help="print, leave BENCHMARKS.md")
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(STEPS)
    today = datetime.date.today().isoformat()
    path = ROOT / "BENCHMARKS.md"
    kept = earlier_sections(path.read_text()) if args.only else {}
    sections: dict[str, list[str]] = {}
    for name in chosen:
        title, cmd = STEPS[name]
        if not (ROOT / cmd[1]).exists() and cmd[1] != "-m":
            sections[title] = [f"### {title}", "", f"Not run: `{cmd[1]}` does not exist.", ""]
            continue
        load = os.getloadavg()[0]
        print(f"== {name}: {' '.join(cmd)}", file=sys.stderr, flush=True)
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        body = result.stdout.strip()
        if result.returncode:
            body += f"\n\n(exit status {result.returncode}: {result.stderr.strip()[-400:]})"
        sections[title] = [
            f"### {title}",
            "",
            "```sh",
            "sudo " + " ".join(cmd),
            "```",
            "",
            f"Load average {load:.1f} before, {os.getloadavg()[0]:.1f} after.",
            "",
            body,
            "",
        ]
        print(body, file=sys.stderr, flush=True)
    out = [
        BEGIN,
        "",
        f"Run by `scripts/bench` on {today}: {machine()}.",
        "The load average shows what else ran on the machine during each step."
        + (f" This run re-measured only: {', '.join(chosen)}." if args.only else ""),
        "",
    ]
    # Every step in the suite's order; with --only, the others keep their last figures.
    for title, _ in STEPS.values():
        out += sections.get(title) or kept.get(title, [])
    out.append(END)
    text = "\n".join(out) + "\n"
    if args.no_write:
        print(text)
        return 0
    current = path.read_text()
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        path.write_text(head + text.rstrip("\n") + tail)
    else:
        path.write_text(current.rstrip("\n") + "\n\n## Latest full run\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
