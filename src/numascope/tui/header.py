"""The header: where we are, what runs, and what numascope itself costs."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from numascope.snapshot.model import Health, Snapshot
from numascope.tui.format import cpu_list


@dataclass(frozen=True)
class Status:
    """View state the header reports next to the snapshot."""

    interval: float
    mode: str = "live"  # live, kernel counters or replay
    paused: bool = False
    finished: bool = False
    policy: str = "built-in default"
    error: str = ""


def overhead(health: Health, previous: Health | None, interval: float) -> str:
    """`96 ns/ev 0.3% cpu poll 12ms`: probe cost per event and as CPU share, and poll time.

    The BPF run time is a running total, so its growth over the interval is the
    share of one CPU spent in numascope's programs.
    """
    parts = []
    if health.bpf_run_count:
        parts.append(f"{health.bpf_run_ns / health.bpf_run_count:.0f} ns/ev")
        if previous is not None and interval > 0 and health.bpf_run_ns >= previous.bpf_run_ns:
            share = (health.bpf_run_ns - previous.bpf_run_ns) / (interval * 1e9)
            parts.append(f"{100 * share:.2f}% cpu")
    parts.append(f"poll {1000 * health.poll_seconds:.0f}ms")
    return " ".join(parts)


def probe_summary(attached: tuple[str, ...]) -> str:
    """`kmem:mm_page_alloc`, or for many `irq,kmem,vmscan (9 probes)` to fit one line."""
    if not attached:
        return "no probes"
    if len(attached) <= 2:
        return ",".join(attached)
    groups = sorted({name.partition(":")[0] for name in attached})
    return f"{','.join(groups)} ({len(attached)} probes)"


def header_text(snapshot: Snapshot | None, previous: Snapshot | None, status: Status) -> Text:
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
            text.append(f"{node.node}[cpu {cpu_list(node.cpus)}]")
        text.append(" ")
    text.append(f"· policy {status.policy}\n")
    probes = probe_summary(snapshot.health.probes_attached)
    text.append(f"{stamp} · {snapshot.source}: {probes}")
    prev_health = previous.health if previous is not None else None
    text.append(f" · self {overhead(snapshot.health, prev_health, snapshot.interval)}")
    if status.error:
        text.append(f"\n⚠ {status.error}", style="bold red")
    return text


class HeaderBar(Static):
    DEFAULT_CSS = """
    HeaderBar { height: auto; max-height: 4; background: $boost; padding: 0 1; }
    """
