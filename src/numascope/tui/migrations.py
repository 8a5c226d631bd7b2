"""Migrations in `top`: a workload's pages moved, by reason and node, for the
detail screen, and one summary line (host totals beside the kernel's count)."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from numascope.snapshot.migration import (
    MigrationRow,
    MigrationSection,
    node_pages,
    pages_by_reason,
)
from numascope.snapshot.model import Snapshot
from numascope.snapshot.sections import Count
from numascope.tui.format import human
from numascope.tui.rows import Row

NOT_RUNNING = "Not measured: the migrate probe family is not running (--probes ...,migrate)."
NO_NODES = "FROM/TO need --probes ...,migrate_nodes (? below: not tracked)."


def nodes_text(counts: Mapping[int, Count], pages: float, tracked: bool) -> str:
    """`N0 16K, N1 2` with what was not seen as `? 30`; `?` alone when untracked."""
    if not tracked:
        return "?"
    nodes = [n for n in sorted(counts) if counts[n].total]
    text = [f"{f'N{n}' if n >= 0 else 'N?'} {human(counts[n].total)}" for n in nodes]
    unseen = pages - node_pages(counts)
    if unseen > 0:
        text.append(f"? {human(unseen)}")
    return ", ".join(text) or "?"


def workload_rows(row: Row, section: MigrationSection) -> list[MigrationRow]:
    keys = {row.key, *row.members}
    found = [m for m in section.rows if m.workload_key in keys]
    return sorted(found, key=lambda m: m.succeeded.total, reverse=True)


def migrations_text(row: Row, snapshot: Snapshot) -> RenderableType:
    """The detail screen's section: this workload's migrations by reason."""
    section = snapshot.migrations
    if section is None:
        return Text(NOT_RUNNING)
    mine = workload_rows(row, section)
    if not mine:
        return Text("No pages migrated by this workload since numascope started.")
    table = Table(box=None, padding=(0, 1), header_style="bold")
    for name in ("REASON", "LAST", "MIGRATED", "FAILED", "THP", "FROM", "TO"):
        table.add_column(name, justify="left" if name in ("REASON", "FROM", "TO") else "right")
    for m in mine:
        pages = m.succeeded.total
        table.add_row(
            m.reason,
            human(m.succeeded.delta),
            human(pages),
            human(m.failed.total),
            human(m.thp_succeeded.total),
            nodes_text(m.sources, pages, section.tracks_nodes),
            nodes_text(m.targets, pages, section.tracks_nodes),
        )
    note = Text(
        "Pages this workload's own threads migrated (a syscall, NUMA balancing in its "
        "faults); kernel threads such as kcompactd have rows of their own. "
        + (
            "FROM/TO: nodes of pages freed/allocated inside the migration, ? not seen."
            if section.tracks_nodes
            else NO_NODES
        )
    )
    return Group(table, note)


def summary_line(section: MigrationSection | None) -> str:
    """`migrated 12K pages (compaction 10K, numa_misplaced 2K) · kernel pgmigrate_success 12K`."""
    if section is None:
        return ""
    by_reason = pages_by_reason(section.rows)
    total = sum(c.total for c in by_reason.values())
    ranked = sorted(by_reason.items(), key=lambda kv: kv[1].total, reverse=True)[:3]
    reasons = ", ".join(f"{r} {human(c.total)}" for r, c in ranked if c.total)
    line = f"migrated {human(total)} pages" + (f" ({reasons})" if reasons else "")
    kernel = section.host_kernel().get("pgmigrate_success")
    if kernel is not None:
        line += f" · kernel pgmigrate_success {human(kernel.total)}"
    return line
