"""NUMA balancing section of `numascope snapshot`'s text output."""

from __future__ import annotations

from numascope.snapshot.balancing import Verdict
from numascope.snapshot.model import Snapshot

TOP_PROCESSES = 5
MODES = {0: "off", 1: "on", 2: "memory tiering", 3: "on + memory tiering"}


def balancing_lines(snapshot: Snapshot) -> list[str]:
    """The balancing mode, tiers and demotion, then the processes balancing moved most."""
    section = snapshot.balancing
    if section is None:
        return []
    mode = section.host.mode
    tiers = ", ".join(
        f"node {t.node}: {'n/a' if t.tier is None else t.tier}{' (no cpus)' if t.cpuless else ''}"
        for t in section.tiers
    )
    demotion = {None: "n/a", True: "on", False: "off"}[section.demotion_enabled]
    lines = [
        "",
        f"numa balancing: {'n/a' if mode is None else MODES.get(mode, mode)}  "
        f"demotion: {demotion}  tiers: {tiers or 'n/a'}",
    ]
    moved = sorted(
        (p for p in section.processes if p.verdict is not Verdict.QUIET),
        key=lambda p: (-p.pages_migrated_delta, -p.pages_migrated, p.pid),
    )[:TOP_PROCESSES]
    if moved:
        lines.append(
            f"{'':16}{'pid':>7} {'comm':<18} {'verdict':<9} {'local%':>6} {'migrated':>9} "
            f"{'pref':>4} {'node':>4}"
        )
    for p in moved:
        local = "-" if p.locality is None else f"{100 * p.locality:.0f}"
        lines.append(
            f"{'':16}{p.pid:>7} {p.name[:18]:<18} {p.verdict.value:<9} {local:>6} "
            f"{p.pages_migrated_delta:>9} {p.preferred_node:>4} {p.current_node:>4}"
        )
    return lines
