"""The report's NUMA balancing section: the mode, tiers, and each process's verdict.

Present only when the capture's snapshots carry a balancing section. Host and
tier counters are the last snapshot's running totals less the first's (what
happened during the capture); a process's migrations are counted from the first
snapshot that read it.
"""

from __future__ import annotations

from collections.abc import Mapping

from numascope.capture.model import Capture
from numascope.exporters.report.model import Section, Table
from numascope.snapshot.balancing import BalancingSection, ProcessBalancing, Verdict

TOP_PROCESSES = 15
MODES = {0: "off", 1: "on (normal)", 2: "memory tiering only", 3: "on + memory tiering"}


def _moved(last: Mapping[str, int], first: Mapping[str, int], key: str) -> str:
    if key not in last:
        return "not available"
    return f"{last[key] - first.get(key, last[key]):,}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _named(p: ProcessBalancing) -> str:
    if not p.threads_left_out:
        return p.name
    return f"{p.name} ({p.threads_read} of {p.threads} threads read)"


def _processes(recorded: list[BalancingSection]) -> Table:
    first_seen: dict[int, int] = {}
    worst: dict[int, ProcessBalancing] = {}
    latest: dict[int, ProcessBalancing] = {}
    for section in recorded:
        for p in section.processes:
            first_seen.setdefault(p.pid, p.pages_migrated)
            latest[p.pid] = p
            if p.verdict is Verdict.CHURNING:
                worst[p.pid] = p
    ranked = sorted(latest.values(), key=lambda p: (-(p.pages_migrated - first_seen[p.pid]), p.pid))
    return Table(
        "Processes NUMA balancing touched, by pages migrated during the capture "
        "(/proc/PID/sched; verdict at the last reading)",
        (
            "pid",
            "process",
            "verdict",
            "churned",
            "locality",
            "pages migrated",
            "preferred node",
            "runs on",
        ),
        tuple(
            (
                str(p.pid),
                _named(p),
                p.verdict.value,
                "yes" if p.pid in worst else "no",
                _share(p.locality),
                f"{p.pages_migrated - first_seen[p.pid]:,}",
                str(p.preferred_node),
                str(p.current_node),
            )
            for p in ranked[:TOP_PROCESSES]
        ),
        "No process had NUMA hinting faults or migrations.",
    )


def _tiers(first: BalancingSection, last: BalancingSection) -> Table:
    before = {t.node: t.total for t in first.tiers}
    return Table(
        "Memory tiers per node, promotions and demotions during the capture (nodeN/vmstat)",
        ("node", "tier", "CPUs", "promoted", "demoted by kswapd", "demoted directly"),
        tuple(
            (
                str(t.node),
                "not available" if t.tier is None else str(t.tier),
                "none" if t.cpuless else "yes",
                _moved(t.total, before.get(t.node, {}), "pgpromote_success"),
                _moved(t.total, before.get(t.node, {}), "pgdemote_kswapd"),
                _moved(t.total, before.get(t.node, {}), "pgdemote_direct"),
            )
            for t in last.tiers
        ),
        "No node recorded.",
    )


def balancing_section(capture: Capture) -> Section | None:
    """The NUMA balancing section, or None when no snapshot of the capture has one."""
    recorded = [s.balancing for s in capture.snapshots if s.balancing is not None]
    if not recorded:
        return None
    first, last = recorded[0], recorded[-1]
    mode = last.host.mode
    host = ", ".join(
        f"{key} {_moved(last.host.total, first.host.total, key)}"
        for key in (
            "numa_hint_faults",
            "numa_hint_faults_local",
            "numa_pages_migrated",
            "pgpromote_success",
            "pgdemote_kswapd",
            "pgdemote_direct",
        )
    )
    demotion = {None: "not available", True: "on", False: "off"}[last.demotion_enabled]
    churned = {p.pid for s in recorded for p in s.processes if p.verdict is Verdict.CHURNING}
    lines = (
        f"kernel.numa_balancing: {'not available' if mode is None else MODES.get(mode, mode)}; "
        f"demotion: {demotion}",
        f"During the capture (/proc/vmstat): {host}",
        f"Processes judged churning at some reading: {len(churned)}",
        *last.notes,
    )
    return Section(
        "NUMA balancing and memory tiers",
        lines=lines,
        tables=(_processes(recorded), _tiers(first, last)),
    )
