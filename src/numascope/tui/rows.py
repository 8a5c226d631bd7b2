"""Workload rows for the table: grouping, sorting and filtering, free of widgets.

A row is one process, one cgroup, one Kubernetes pod or one command name
(`comm`); grouped rows add up their members' pages. Everything here is plain
data so the benchmark and the tests can drive it without a terminal.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from numascope.snapshot.model import (
    Finding,
    Locality,
    PodIdentity,
    Snapshot,
    Workload,
    WorkloadKind,
)
from numascope.tui.format import SEVERITY_RANK, finding_cell, human, percent, worst


class Grouping(enum.StrEnum):
    PROCESS = "process"
    CGROUP = "cgroup"
    POD = "pod"
    COMM = "comm"

    def next(self, pods: bool = True) -> Grouping:
        """The grouping after this one; by pod only when `pods` (some workload is
        in a Kubernetes pod), so a host without pods cycles as it always did."""
        order = [g for g in Grouping if pods or g is not Grouping.POD]
        return order[(order.index(self) + 1) % len(order)] if self in order else order[0]


NO_POD = "(no pod)"


def in_pods(snapshot: Snapshot) -> bool:
    """Whether any workload of `snapshot` is in a Kubernetes pod (no row built).

    A process's pod is its cgroup's, so the cgroups answer when there are any:
    a few hundred rows to look at per frame rather than every process."""
    workloads = snapshot.cgroups if len(snapshot.cgroups) else snapshot.processes
    column = getattr(workloads, "pods", None)  # WorkloadColumns
    pods = column.tolist() if column is not None else [w.pod for w in workloads]
    return any(p is not None for p in pods)


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
    pod: PodIdentity | None = None

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
        w.pod,
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
        groups[_group_name(row, grouping)].append(row)
    own = _own_totals(snapshot, grouping)
    rows = []
    for name in sorted(set(groups) | set(own)):
        members = groups.get(name, [])
        key = f"{grouping.value}:{name}"
        # The collector's own cgroup totals include exited members, so prefer them.
        cg = own.get(name)
        delta = cg[0] if cg else merge(m.delta for m in members)
        total = cg[1] if cg else merge(m.total for m in members)
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
                pod=cg[2] if cg else _common_pod(m.pod for m in members),
            )
        )
    return rows


def _group_name(row: Row, grouping: Grouping) -> str:
    if grouping is Grouping.CGROUP:
        return row.cgroup or "(no cgroup)"
    if grouping is Grouping.POD:
        return row.pod.pod_uid if row.pod is not None else NO_POD
    return row.name


def _own_totals(
    snapshot: Snapshot, grouping: Grouping
) -> dict[str, tuple[Locality, Locality, PodIdentity | None]]:
    """The collector's own (delta, total, pod) per cgroup, or per pod summed over
    its cgroups (each process counts in one cgroup, so none twice)."""
    if grouping is Grouping.CGROUP:
        return {w.cgroup or w.name: (w.delta, w.total, w.pod) for w in snapshot.cgroups}
    if grouping is not Grouping.POD:
        return {}
    by_pod: dict[str, list[Workload]] = defaultdict(list)
    for w in snapshot.cgroups:
        if w.pod is not None:
            by_pod[w.pod.pod_uid].append(w)
    return {
        uid: (
            merge(w.delta for w in cgroups),
            merge(w.total for w in cgroups),
            _common_pod(w.pod for w in cgroups),
        )
        for uid, cgroups in by_pod.items()
    }


def _common_pod(pods: Iterable[PodIdentity | None]) -> PodIdentity | None:
    """The pod of a group: its container when all members share one, else the pod alone."""
    distinct = set(pods)
    if len(distinct) != 1:
        uids = {p.pod_uid for p in distinct if p is not None}
        if len(uids) != 1 or None in distinct:
            return None
        qos = {p.qos for p in distinct if p is not None}
        return PodIdentity(uids.pop(), "", qos.pop() if len(qos) == 1 else "")
    return distinct.pop()


def pod_text(row: Row) -> str:
    """A pod in a cell: the start of its UID (enough to tell a node's pods apart) and QoS."""
    pod = row.pod
    return f"{pod.pod_uid[:8]} {pod.qos}" if pod is not None else "-"


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


def columns_for(node_ids: Sequence[int], pods: bool = False) -> list[Column]:
    """The table's columns, with one per node for pages by node, and a pod column
    when some workload is in a Kubernetes pod."""
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
    if pods:
        cols.insert(2, Column("pod", "POD", 19, pod_text, pod_text, False))
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
    """Case-insensitive substring on name, pid, cgroup, pod, rule, policy and finding."""
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
        *((row.pod.pod_uid, row.pod.container_id, row.pod.qos) if row.pod else ()),
    )
    return any(needle in h.lower() for h in haystack)
