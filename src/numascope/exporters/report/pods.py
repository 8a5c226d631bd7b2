"""The report's Kubernetes view: pages per pod, and the pod of each top workload."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from numascope.exporters.report.model import Table, ratio
from numascope.snapshot.model import Locality, Snapshot, Workload, sum_localities


def pod_cell(w: Workload) -> str:
    """A workload's pod in a table cell: UID, QoS and container id."""
    pod = w.pod
    if pod is None:
        return "-"
    container = f", container {pod.container_id[:12]}" if pod.container_id else ""
    return f"{pod.pod_uid} ({pod.qos}{container})"


def any_pods(workloads: Sequence[Workload]) -> bool:
    return any(w.pod is not None for w in workloads)


def pods_table(last: Snapshot, limit: int) -> Table | None:
    """Pages per pod over the whole capture, most remote pages first; None when no
    workload of `last` is in a pod. Summed over the pod's cgroups (the collector's
    totals, exited processes included), or its processes when the capture has no
    cgroup rows."""
    members = last.cgroups if any_pods(last.cgroups) else last.processes
    by_pod: dict[str, list[Workload]] = defaultdict(list)
    for w in members:
        if w.pod is not None:
            by_pod[w.pod.pod_uid].append(w)
    if not by_pod:
        return None
    nodes = last.node_ids
    rows = []
    for uid, ws in by_pod.items():
        total = sum_localities(w.total for w in ws)
        containers = {w.pod.container_id for w in ws if w.pod is not None and w.pod.container_id}
        qos = {w.pod.qos for w in ws if w.pod is not None}
        rows.append((total, uid, ", ".join(sorted(qos)) or "-", len(containers)))
    rows.sort(key=lambda r: (r[0].remote_pages, r[0].pages, r[1]), reverse=True)
    return Table(
        "Kubernetes pods by remote pages, whole capture (pod UID: kube_pod_info's uid)",
        ("pod UID", "QoS", "containers", "pages", *(f"node {n}" for n in nodes), "remote %"),
        tuple(_row(total, uid, qos, n, nodes) for total, uid, qos, n in rows[:limit]),
    )


def _row(
    total: Locality, uid: str, qos: str, containers: int, nodes: tuple[int, ...]
) -> tuple[str, ...]:
    share = ratio(total)
    return (
        uid,
        qos,
        str(containers),
        f"{total.pages:,}",
        *(f"{total.pages_by_node.get(n, 0):,}" for n in nodes),
        "-" if share is None else f"{100 * share:.1f}%",
    )
