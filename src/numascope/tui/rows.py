"""Workload rows for the table: grouping, sorting and filtering, free of widgets.

A row is one process, one cgroup or one command name (`comm`); grouped rows add
up their members' pages. Everything here is plain data so the benchmark and the
tests can drive it without a terminal.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from numascope.snapshot.model import Finding, Locality, Snapshot, Workload, WorkloadKind
from numascope.tui.format import SEVERITY_RANK, finding_cell, human, percent, worst


class Grouping(enum.StrEnum):
    PROCESS = "process"
    CGROUP = "cgroup"
    COMM = "comm"

    def next(self) -> Grouping:
        order = list(Grouping)
        return order[(order.index(self) + 1) % len(order)]


@dataclass(frozen=True)
class Placements:
    """What the policy side knows per workload: its configured rule and actual policy."""

    rules: Mapping[str, str] = field(default_factory=dict)  # workload key -> "name: placement"
    mempolicies: Mapping[int, str] = field(default_factory=dict)  # pid -> dominant policy


# Slots: a frame builds a row per workload, and rows without a __dict__ are half the
# objects for the garbage collector to walk.
@dataclass(frozen=True, slots=True)
class Row:
    key: str
    name: str
    kind: str
    delta: Locality
    total: Locality
    interval: float
    members: tuple[str, ...]
    pid: int | None = None
    cgroup: str | None = None
    alive: bool = True
    rule: str = ""
    mempolicy: str = ""
    findings: tuple[Finding, ...] = ()

    @property
    def pages_per_second(self) -> float:
        return self.delta.pages / self.interval if self.interval > 0 else 0.0

    @property
    def remote_per_second(self) -> float:
        return self.delta.remote_pages / self.interval if self.interval > 0 else 0.0

    @property
    def worst_finding(self) -> Finding | None:
        return worst(self.findings)

    def finding_text(self) -> str:
        text, _ = finding_cell(self.worst_finding, max(0, len(self.findings) - 1))
        return text


def merge(localities: Iterable[Locality]) -> Locality:
    """The sum of several localities."""
    pages: dict[int, int] = defaultdict(int)
    events: dict[int, int] = defaultdict(int)
    lp = rp = le = re_ = 0
    for loc in localities:
        for node, n in loc.pages_by_node.items():
            pages[node] += n
        for node, n in loc.events_by_node.items():
            events[node] += n
        lp += loc.local_pages
        rp += loc.remote_pages
        le += loc.local_events
        re_ += loc.remote_events
    return Locality(dict(pages), dict(events), lp, rp, le, re_)


def _common(values: Iterable[str]) -> str:
    distinct = {v for v in values if v}
    if not distinct:
        return ""
    return distinct.pop() if len(distinct) == 1 else "(mixed)"


def _rule(configured: str, findings: tuple[Finding, ...]) -> str:
    # A finding names the rule it was judged by; in a replay that beats today's config.
    for finding in findings:
        placement = finding.evidence.get("placement")
        return f"{finding.rule}: {placement}" if placement else finding.rule
    return configured


def _process_row(
    w: Workload, interval: float, placements: Placements, found: Mapping[str, tuple[Finding, ...]]
) -> Row:
    # Positional arguments, in Row's field order: this runs for every workload every frame.
    findings = found.get(w.key, ())
    rule = placements.rules.get(w.key, "")
    return Row(
        w.key,
        w.name,
        w.kind.value,
        w.delta,
        w.total,
        interval,
        (w.key,),
        w.pid if w.kind is not WorkloadKind.OTHER else None,
        w.cgroup,
        w.alive,
        _rule(rule, findings) if findings else rule,
        # /proc's numa_maps on Linux; the collector's own word (FreeBSD's domainset) otherwise
        (placements.mempolicies.get(w.pid, "") if w.pid is not None else "") or w.mempolicy,
        findings,
    )


def build_rows(snapshot: Snapshot, grouping: Grouping, placements: Placements) -> list[Row]:
    """One row per process, cgroup or comm, unsorted."""
    found: dict[str, tuple[Finding, ...]] = defaultdict(tuple)
    for finding in snapshot.findings:
        found[finding.workload_key] += (finding,)
    interval = snapshot.interval
    processes = [_process_row(w, interval, placements, found) for w in snapshot.processes]
    if grouping is Grouping.PROCESS:
        return processes
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in processes:
        name = (row.cgroup or "(no cgroup)") if grouping is Grouping.CGROUP else row.name
        groups[name].append(row)
    own = {w.cgroup or w.name: w for w in snapshot.cgroups} if grouping is Grouping.CGROUP else {}
    rows = []
    for name in sorted(set(groups) | set(own)):
        members = groups.get(name, [])
        key = f"{grouping.value}:{name}"
        # The collector's own cgroup totals include exited members, so prefer them.
        cg = own.get(name)
        delta = cg.delta if cg else merge(m.delta for m in members)
        total = cg.total if cg else merge(m.total for m in members)
        findings = tuple(f for m in members for f in m.findings) + found.get(key, ())
        rows.append(
            Row(
                key=key,
                name=name,
                kind=grouping.value,
                delta=delta,
                total=total,
                interval=interval,
                members=tuple(m.key for m in members),
                pid=members[0].pid if len(members) == 1 else None,
                cgroup=name
                if grouping is Grouping.CGROUP
                else _common(m.cgroup or "" for m in members),
                alive=any(m.alive for m in members) or not members,
                rule=_common(m.rule for m in members),
                mempolicy=_common(m.mempolicy for m in members),
                findings=findings,
            )
        )
    return rows


@dataclass(frozen=True)
class Column:
    """A table column: its header, its cell text and its sort key."""

    name: str
    label: str
    width: int
    text: Callable[[Row], str]
    sort_key: Callable[[Row], object]
    descending: bool = True  # numbers sort biggest first; names A to Z


def _pid(row: Row) -> str:
    if row.pid is None:
        return f"n={len(row.members)}" if row.kind in ("cgroup", "comm") else "-"
    return str(row.pid) if row.alive else f"{row.pid}†"


def _severity(row: Row) -> tuple[int, float]:
    f = row.worst_finding
    return (SEVERITY_RANK[f.severity] if f else 0, row.delta.remote_ratio)


def _node_column(node: int) -> Column:
    def pages(row: Row) -> int:
        return row.total.pages_by_node.get(node, 0)

    return Column(f"n{node}", f"N{node}", 6, lambda r: human(pages(r)), pages)


def columns_for(node_ids: Sequence[int]) -> list[Column]:
    """The table's columns, with one per node for pages by node."""
    cols = [
        Column("pid", "PID", 7, _pid, lambda r: r.pid if r.pid is not None else -1, False),
        Column("name", "NAME", 16, lambda r: r.name, lambda r: r.name.lower(), False),
        Column(
            "remote",
            "REM/s",
            6,
            lambda r: human(r.remote_per_second),
            lambda r: r.remote_per_second,
        ),
        Column(
            "ratio",
            "REM%",
            4,
            lambda r: percent(r.delta.remote_ratio) if r.delta.pages else "-",
            lambda r: r.delta.remote_ratio,
        ),
        Column("finding", "FINDING", 22, Row.finding_text, _severity),
        Column(
            "pages", "PG/s", 6, lambda r: human(r.pages_per_second), lambda r: r.pages_per_second
        ),
    ]
    cols += [_node_column(node) for node in node_ids]
    cols += [
        Column("rule", "RULE", 16, lambda r: r.rule or "-", lambda r: r.rule, False),
        Column(
            "policy", "MEMPOLICY", 12, lambda r: r.mempolicy or "-", lambda r: r.mempolicy, False
        ),
        Column("cgroup", "CGROUP", 24, lambda r: r.cgroup or "-", lambda r: r.cgroup or "", False),
    ]
    return cols


def sort_rows(rows: list[Row], column: Column, reverse: bool = False) -> list[Row]:
    """Rows by `column` in its natural direction (flipped by `reverse`), ties by key."""
    descending = column.descending != reverse
    ordered = sorted(rows, key=lambda r: r.key)
    # Secondary key first: Python's sort is stable, so pages/s breaks ties on the column.
    ordered.sort(key=lambda r: r.pages_per_second, reverse=True)
    ordered.sort(key=column.sort_key, reverse=descending)  # type: ignore[arg-type]
    return ordered


def matches_filter(row: Row, text: str) -> bool:
    """Case-insensitive substring on name, pid, cgroup, rule, policy and finding."""
    if not text:
        return True
    needle = text.lower()
    haystack = (
        row.name,
        str(row.pid) if row.pid is not None else "",
        row.cgroup or "",
        row.rule,
        row.mempolicy,
        row.finding_text() if row.findings else "",
        row.kind,
    )
    return any(needle in h.lower() for h in haystack)
