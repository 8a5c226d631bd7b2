"""Put a capture's report together: verdict and summary first, then the evidence."""

from __future__ import annotations

import time

from numascope.capture.model import Capture
from numascope.exporters.report.allocator import allocator_section
from numascope.exporters.report.balancing import balancing_section
from numascope.exporters.report.migrations import migrations_section
from numascope.exporters.report.model import (
    Report,
    Section,
    Series,
    ratio,
    seen_findings,
    verdict,
    who,
)
from numascope.exporters.report.residence import residence_section
from numascope.exporters.report.sections import (
    findings_section,
    health_section,
    irq_section,
    matrix_section,
    reclaim_section,
    system_section,
    top_workloads,
    workloads_section,
)
from numascope.snapshot.model import Severity

CHARTED_WORKLOADS = 5


def _series(capture: Capture) -> tuple[tuple[Series, ...], tuple[Series, ...]]:
    snaps = capture.snapshots
    start = snaps[0].time
    nodes = tuple(
        Series(
            f"node {node}",
            tuple(
                (s.time - start, next((ratio(n.delta) for n in s.nodes if n.node == node), None))
                for s in snaps
            ),
        )
        for node in snaps[-1].node_ids
    )
    workloads = []
    for w in top_workloads(snaps[-1], CHARTED_WORKLOADS):
        points = []
        for s in snaps:
            found = s.process(w.key)
            points.append((s.time - start, ratio(found.delta) if found else None))
        workloads.append(Series(who(w), tuple(points)))
    return nodes, tuple(workloads)


def build_report(capture: Capture) -> Report:
    """The report of a capture that holds at least one snapshot."""
    h = capture.header
    snaps = capture.snapshots
    first, last = snaps[0], snaps[-1]
    findings = seen_findings(snaps)
    judged = verdict(capture, findings)
    counts = {s: sum(1 for f in findings if f.finding.severity is s) for s in Severity}
    span = last.time - first.time + first.interval
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(first.time - first.interval))
    worst_node = max(last.nodes, key=lambda n: n.total.remote_pages, default=None)
    summary = [
        f"Capture: {len(snaps)} snapshots over {span:.0f} s from {started}, every "
        f"{h.interval or first.interval:g} s, source {last.source}, ended by "
        f"{capture.trailer.reason}",
        f"Host: {h.host or last.host.hostname}, kernel {h.kernel or last.host.kernel}, "
        f"{len(last.nodes)} NUMA node{'s' * (len(last.nodes) != 1)}",
        f"Findings: {len(findings)} ({counts[Severity.CRITICAL]} critical, "
        f"{counts[Severity.WARNING]} warning, {counts[Severity.INFO]} info)",
    ]
    if judged.workload:
        summary.append(f"Worst workload: {judged.workload}")
    if worst_node is not None and worst_node.total.remote_pages:
        summary.append(
            f"Node supplying most remote pages: node {worst_node.node} "
            f"({worst_node.total.remote_pages:,} pages, "
            f"{worst_node.total.remote_ratio:.0%} of its supply)"
        )
    sections: tuple[Section, ...] = (
        findings_section(findings),
        matrix_section(last, capture),
        workloads_section(last, capture),
        reclaim_section(last, capture),
        *filter(
            None,
            (
                allocator_section(capture),
                residence_section(capture),
                migrations_section(capture),
                balancing_section(capture),
            ),
        ),
        irq_section(last, capture),
        system_section(capture),
        health_section(capture),
    )
    nodes, workloads = _series(capture)
    title = f"numascope capture report: {h.host or last.host.hostname}"
    return Report(title, judged, tuple(summary), sections, nodes, workloads)
