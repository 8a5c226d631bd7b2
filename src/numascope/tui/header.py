"""The header: where we are, what runs, and what numascope itself costs."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from numascope.snapshot.model import Health, Snapshot
from numascope.topology import format_list
from numascope.tui.migrations import summary_line


@dataclass(frozen=True)
class Status:
    """View state the header reports next to the snapshot."""

    interval: float
    mode: str = "live"  # live, kernel counters or replay
    paused: bool = False
    finished: bool = False
    policy: str = "built-in default"
    error: str = ""


# What the kernel's BPF statistics measure is not what the traced workload pays:
# they time each run with the kernel clock, which in a VM reads several times
# what the same run slows a page fault down by (BENCHMARKS.md). Say so wherever
# the figure is shown.
KERNEL_TIMED = "kernel-timed, reads high in VMs"


def overhead(health: Health) -> str:
    """`BPF 96 ns/run, 0.48% CPU (kernel-timed, reads high in VMs) · poll 12 ms`.

    Statistics are sampled (on a few seconds a minute), so the CPU share is the
    programs' run time over the time statistics were on, not over the interval.
    """
    parts = []
    if health.bpf_run_count:
        probes = f"BPF {health.bpf_run_ns / health.bpf_run_count:.0f} ns/run"
        if health.bpf_stats_seconds > 0:
            share = health.bpf_run_ns / (health.bpf_stats_seconds * 1e9)
            probes += f", {100 * share:.2f}% CPU"
        parts.append(f"{probes} ({KERNEL_TIMED})")
    parts.append(f"poll {1000 * health.poll_seconds:.0f} ms")
    return " · ".join(parts)


def probe_summary(attached: tuple[str, ...]) -> str:
    """`kmem:mm_page_alloc`, or for many `irq,kmem,vmscan (9 probes)` to fit one line."""
    if not attached:
        return "no probes"
    if len(attached) <= 2:
        return ",".join(attached)
    groups = sorted({name.partition(":")[0] for name in attached})
    return f"{','.join(groups)} ({len(attached)} probes)"


def header_text(snapshot: Snapshot | None, status: Status) -> Text:
    text = Text()
    text.append("numascope ", style="bold")
    if status.paused:
        text.append("❚❚ PAUSED", style="bold reverse")
    elif status.finished:
        text.append("■ replay ended", style="bold")
    else:
        text.append(f"▶ {status.mode}")
    text.append(f" · every {status.interval:g}s")
    if snapshot is None:
        text.append("  waiting for the first snapshot…")
        if status.error:
            text.append(f"\n⚠ {status.error}", style="bold red")
        return text
    host = snapshot.host
    stamp = time.strftime("%H:%M:%S", time.localtime(snapshot.time))
    text.append(f" · host {host.hostname or '?'} · kernel {host.kernel or '?'}\n")
    text.append("nodes ")
    for node in snapshot.nodes:
        if node.cpuless:
            text.append(f"{node.node}[no cpus]", style="bold")
        else:
            text.append(f"{node.node}[cpu {format_list(node.cpus)}]")
        text.append(" ")
    text.append(f"· policy {status.policy}\n")
    probes = probe_summary(snapshot.health.probes_attached)
    text.append(f"{stamp} · {snapshot.source}: {probes}")
    moved = summary_line(snapshot.migrations)
    if moved:
        text.append(f"\n{moved}")
    text.append(f"\nself: {overhead(snapshot.health)}")
    if status.error:
        text.append(f"\n⚠ {status.error}", style="bold red")
    return text


class HeaderBar(Static):
    DEFAULT_CSS = """
    HeaderBar { height: auto; max-height: 6; background: $boost; padding: 0 1; }
    """
