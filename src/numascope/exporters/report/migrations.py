"""The report's Migrations section: pages the kernel moved, by who and why.

Present only when the capture recorded the migrate family. Figures are for the
whole capture (the probe and the kernel counters' baseline start with it), so
the running totals of the last snapshot that has the section are what it saw.
"""

from __future__ import annotations

from collections.abc import Mapping

from numascope.capture.model import Capture
from numascope.exporters.report.model import Section, Table
from numascope.snapshot.migration import MigrationSection, node_pages, pages_by_reason
from numascope.snapshot.sections import Count

TOP_ROWS = 15


def _nodes(counts: Mapping[int, Count], pages: float, tracked: bool) -> str:
    if not tracked:
        return "unknown"
    parts = [f"{'?' if n < 0 else n}: {c.total:,.0f}" for n, c in sorted(counts.items()) if c.total]
    unseen = pages - node_pages(counts)
    if unseen > 0:
        parts.append(f"unknown: {unseen:,.0f}")
    return ", ".join(parts) or "unknown"


def _by_reason(section: MigrationSection) -> Table:
    failed: dict[str, float] = {}
    for row in section.rows:
        failed[row.reason] = failed.get(row.reason, 0) + row.failed.total
    reasons = sorted(pages_by_reason(section.rows).items(), key=lambda kv: -kv[1].total)
    return Table(
        "Pages migrated by reason, whole capture",
        ("reason", "migrated", "failed"),
        tuple((r, f"{c.total:,.0f}", f"{failed.get(r, 0):,.0f}") for r, c in reasons),
    )


def _rows(section: MigrationSection) -> Table:
    ranked = sorted(section.rows, key=lambda r: r.succeeded.total, reverse=True)[:TOP_ROWS]
    return Table(
        f"Who migrated them (top {TOP_ROWS}; from/to: nodes of the pages freed and "
        "allocated inside each migration, unknown where not seen)",
        ("workload", "pid", "kind", "reason", "migrated", "failed", "THP", "from", "to"),
        tuple(
            (
                r.name,
                str(r.tgid) if r.tgid else "-",
                "kernel thread" if r.kernel_thread else "process",
                r.reason,
                f"{r.succeeded.total:,.0f}",
                f"{r.failed.total:,.0f}",
                f"{r.thp_succeeded.total:,.0f}",
                _nodes(r.sources, r.succeeded.total, section.tracks_nodes),
                _nodes(r.targets, r.succeeded.total, section.tracks_nodes),
            )
            for r in ranked
        ),
    )


def _task_moves(section: MigrationSection) -> Table:
    ranked = sorted(section.task_moves, key=lambda r: (-r.events.total, r.tgid, r.outcome))
    return Table(
        f"Threads NUMA balancing moved toward their memory (top {TOP_ROWS}; sched_*_numa: "
        "moved, swapped with a thread on the other node, or stuck: it wanted to move them "
        "and could not; node ?: it found no CPU they may use)",
        ("workload", "pid", "outcome", "events", "to node"),
        tuple(
            (
                r.name,
                str(r.tgid) if r.tgid else "-",
                r.outcome,
                f"{r.events.total:,.0f}",
                ", ".join(
                    f"{'?' if n < 0 else n}: {c.total:,.0f}"
                    for n, c in sorted(r.to_nodes.items())
                    if c.total
                ),
            )
            for r in ranked[:TOP_ROWS]
        ),
        "No thread was moved, swapped or stuck."
        if section.tracks_task_moves
        else "Not counted: the sched_*_numa tracepoints were not attached.",
    )


def _kernel(section: MigrationSection) -> Table:
    rows: list[tuple[str, str, str]] = []
    for k in section.kernel:
        where = "host (/proc/vmstat)" if k.node is None else f"node {k.node}"
        rows.extend((where, name, f"{c.total:,.0f}") for name, c in k.counters.items())
    return Table(
        "The kernel's own counters over the capture", ("where", "counter", "value"), tuple(rows)
    )


def migrations_section(capture: Capture) -> Section | None:
    """The section, or None when no snapshot of the capture has migrations."""
    section = next(
        (s.migrations for s in reversed(capture.snapshots) if s.migrations is not None), None
    )
    if section is None:
        return None
    counted = sum(r.succeeded.total for r in section.rows)
    kernel = section.host_kernel().get("pgmigrate_success")
    lines = [f"numascope counted {counted:,.0f} pages migrated."]
    if kernel is not None:
        gap = f"{abs(counted - kernel.total) / kernel.total:.1%}" if kernel.total else "-"
        lines.append(
            f"The kernel's pgmigrate_success rose {kernel.total:,.0f} over the same time "
            f"(difference {gap})."
        )
    return Section(
        "Migrations",
        tuple(lines),
        (_by_reason(section), _rows(section), _task_moves(section), _kernel(section)),
    )
