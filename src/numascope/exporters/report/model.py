"""A capture, digested for reading: the verdict, the findings, tables and series.

The Markdown and HTML renderers only format what this module decides, so the
two reports always agree on the verdict and the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from numascope.capture.model import Capture
from numascope.snapshot.model import Finding, Locality, MatrixCell, Severity, Snapshot, Workload

_RANK = {Severity.CRITICAL: 3, Severity.WARNING: 2, Severity.INFO: 1}


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str = "Nothing recorded."


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    code: str = ""


@dataclass(frozen=True)
class Series:
    """Remote share (0..1) over seconds since the capture began; None: no traffic."""

    label: str
    points: tuple[tuple[float, float | None], ...]


@dataclass(frozen=True)
class Verdict:
    level: str  # critical, warning, info or ok
    text: str
    workload: str | None = None
    node: int | None = None


@dataclass(frozen=True)
class Report:
    title: str
    verdict: Verdict
    summary: tuple[str, ...]
    sections: tuple[Section, ...]
    node_series: tuple[Series, ...]
    workload_series: tuple[Series, ...]


@dataclass(frozen=True)
class SeenFinding:
    """A finding as the whole capture saw it: its worst form and how often."""

    finding: Finding
    snapshots: int
    first: float
    last: float


def ratio(loc: Locality) -> float | None:
    """Remote share by pages, else by events (kernel counters only), None when idle."""
    if loc.pages:
        return loc.remote_ratio
    if loc.events:
        return loc.remote_events / loc.events
    return None


def who(w: Workload | Finding) -> str:
    name = w.name if isinstance(w, Workload) else w.workload_name
    return f"{name} (pid {w.pid})" if w.pid is not None else name


def _evidence_number(f: Finding, key: str) -> float:
    value = f.evidence.get(key, 0)
    return float(value) if isinstance(value, (int, float)) else 0.0


def seen_findings(snapshots: tuple[Snapshot, ...]) -> list[SeenFinding]:
    """Every (workload, kind, rule) found, at its worst, worst first."""
    start = snapshots[0].time if snapshots else 0.0
    seen: dict[tuple[str, str, str], SeenFinding] = {}
    for snap in snapshots:
        for f in snap.findings:
            key = (f.workload_key, f.kind, f.rule)
            t = snap.time - start
            old = seen.get(key)
            if old is None:
                seen[key] = SeenFinding(f, 1, t, t)
                continue
            # Keep the worst occurrence; at equal severity the latest (more evidence).
            keep = f if _RANK[f.severity] >= _RANK[old.finding.severity] else old.finding
            seen[key] = SeenFinding(keep, old.snapshots + 1, old.first, t)
    return sorted(
        seen.values(),
        key=lambda s: (
            _RANK[s.finding.severity],
            _evidence_number(s.finding, "ratio"),
            _evidence_number(s.finding, "pages"),
        ),
        reverse=True,
    )


def remote_supply(matrix: tuple[MatrixCell, ...]) -> dict[int, tuple[float, int | None]]:
    """Per page node: share of its pages that went to other nodes' CPUs, and the CPU
    node that took most of them."""
    out: dict[int, tuple[float, int | None]] = {}
    by_page: dict[int, list[MatrixCell]] = {}
    for cell in matrix:
        by_page.setdefault(cell.page_node, []).append(cell)
    for node, cells in by_page.items():
        total = sum(c.total_pages for c in cells)
        remote = [c for c in cells if c.cpu_node != node]
        taken = sum(c.total_pages for c in remote)
        top = max(remote, key=lambda c: c.total_pages, default=None)
        cpu = top.cpu_node if top is not None and top.total_pages else None
        out[node] = (taken / total if total else 0.0, cpu)
    return out


def remote_node_of(
    pages_by_node: Mapping[int, int], matrix: tuple[MatrixCell, ...]
) -> tuple[int | None, int | None]:
    """(the node a workload's remote pages most likely came from, the CPU node that
    asked). Per-workload CPU nodes are not recorded, so weigh the workload's pages on
    each node by how much of that node's supply went to remote CPUs."""
    supply = remote_supply(matrix)
    known = {n: p for n, p in pages_by_node.items() if n >= 0 and p > 0}
    if not known:
        return None, None
    scored = {n: p * supply.get(n, (0.0, None))[0] for n, p in known.items()}
    best = max(scored, key=lambda n: (scored[n], known[n]))
    if not scored[best]:
        return max(known, key=lambda n: known[n]), None
    return best, supply[best][1]


def latest(capture: Capture, key: str) -> Workload | None:
    for snap in reversed(capture.snapshots):
        found = snap.process(key)
        if found is not None:
            return found
    return None


def verdict(capture: Capture, findings: list[SeenFinding]) -> Verdict:
    """Name the worst workload and the node its remote pages came from."""
    last = capture.snapshots[-1] if capture.snapshots else None
    matrix = last.matrix if last else ()
    if findings:
        f = findings[0].finding
        workload = latest(capture, f.workload_key)
        pages_map = workload.total.pages_by_node if workload else {}
        if not pages_map:
            raw = f.evidence.get("pages_by_node", {})
            pages_map = {int(k): int(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        node, cpu_node = remote_node_of(pages_map, matrix)
        where = ""
        if node is not None:
            where = f" Its {sum(pages_map.values()):,} pages came mostly from node {node}"
            where += f", remote to CPUs on node {cpu_node}." if cpu_node is not None else "."
        text = f"{f.severity.value.upper()}: {f.message}.{where}"
        return Verdict(f.severity.value, text, who(f), node)
    if last is None:
        return Verdict("ok", "The capture holds no snapshots.")
    remote = [w for w in last.processes if w.total.remote_pages]
    if not remote:
        return Verdict("ok", "OK: no finding and no remote allocation in this capture.")
    worst = max(remote, key=lambda w: w.total.remote_pages)
    node, _ = remote_node_of(worst.total.pages_by_node, matrix)
    text = (
        f"OK: no placement finding. Most remote pages: {who(worst)}, "
        f"{worst.total.remote_pages:,} of {worst.total.pages:,} ({worst.total.remote_ratio:.0%})"
        + (f", mostly from node {node}." if node is not None else ".")
    )
    return Verdict("ok", text, who(worst), node)
