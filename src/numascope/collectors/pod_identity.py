"""Kubernetes pod and container identity from a cgroup path.

The kubelet names the cgroups it makes after the pod's QoS class and UID, and
the container runtime names each container's cgroup after its id, so a path is
enough; no API server or runtime socket is asked. Two layouts exist, one per
kubelet cgroup driver:

    systemd   /kubepods.slice/kubepods-burstable.slice/
                  kubepods-burstable-pod<uid, "-" written "_">.slice/
                  cri-containerd-<id>.scope      (crio-<id>, docker-<id>)
    cgroupfs  /kubepods/burstable/pod<uid>/<id>

A guaranteed pod sits directly under the kubepods root (no QoS level). The
tree may itself be nested (kind or k3s in a container: `/docker/<node>/kubepods/...`,
`/kubelet.slice/kubelet-kubepods.slice/...`), and a container may make cgroups
of its own below its scope; both still name the same pod and container.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence

from numascope.snapshot.model import PodIdentity, Snapshot, Workload

QOS_CLASSES = ("guaranteed", "burstable", "besteffort")

# The root of the tree: "kubepods" (cgroupfs) or "[prefix-]kubepods.slice".
_ROOT = re.compile(r"(?:[\w.-]+-)?kubepods(?:\.slice)?")
# A QoS level: "burstable" (cgroupfs) or "[prefix-]kubepods-burstable.slice".
_QOS = re.compile(r"(?:(?:[\w.-]+-)?kubepods-)?(burstable|besteffort)(?:\.slice)?")
# A pod: "pod<uid>" (cgroupfs) or "[prefix-]kubepods[-qos]-pod<uid>.slice".
# UIDs are UUIDs (systemd writes their dashes as "_") or, for static pods, the
# 32 hex digits of the manifest's hash.
_POD = re.compile(
    r"(?:(?:[\w.-]+-)?kubepods(?:-burstable|-besteffort)?-)?pod([0-9a-fA-F_-]{32,36})(?:\.slice)?"
)
_HEX_ID = r"([0-9a-f]{12,128})"
# A container: the runtime's prefix (none for cgroupfs with Docker or
# containerd) and its id; ".scope" with the systemd driver.
_CONTAINER = re.compile(rf"(?:cri-containerd-|crio-|docker-|containerd-)?{_HEX_ID}(?:\.scope)?")
# CRI-O's monitor process beside each container: in the pod, not in a container.
_CONMON = re.compile(rf"crio-conmon-{_HEX_ID}(?:\.scope)?")


def _uid(raw: str) -> str | None:
    """The UID as the API server writes it, or None when `raw` is not one."""
    digits = raw.replace("_", "").replace("-", "")
    if len(digits) != 32:
        return None
    if "_" in raw or "-" in raw:
        uid = raw.replace("_", "-").lower()
        parts = uid.split("-")
        return uid if [len(p) for p in parts] == [8, 4, 4, 4, 12] else None
    return raw.lower()  # a static pod's hash, used as is


@functools.lru_cache(maxsize=4096)
def pod_identity(path: str | None) -> PodIdentity | None:
    """The pod (and container) of the cgroup at `path` (a cgroup v2 path from the
    hierarchy's root), or None when it is not in a kubepods tree or names no pod."""
    if not path:
        return None
    parts = [p for p in path.split("/") if p]
    for at, name in enumerate(parts):
        if _ROOT.fullmatch(name):
            found = _below_root(parts[at + 1 :])
            if found is not None:
                return found
    return None


def _below_root(parts: list[str]) -> PodIdentity | None:
    if not parts:
        return None
    qos = "guaranteed"
    level = _QOS.fullmatch(parts[0])
    if level is not None:
        qos, parts = level.group(1), parts[1:]
    pod = _POD.fullmatch(parts[0]) if parts else None
    uid = _uid(pod.group(1)) if pod is not None else None
    if uid is None:
        return None
    container = ""
    if len(parts) > 1 and _CONMON.fullmatch(parts[1]) is None:
        found = _CONTAINER.fullmatch(parts[1])
        container = found.group(1) if found is not None else ""
    return PodIdentity(pod_uid=uid, container_id=container, qos=qos)


def with_pods(snapshot: Snapshot) -> Snapshot:
    """`snapshot` with each workload's pod filled in from its cgroup path where
    it has none: a capture written before workloads carried their pod reads as
    a new one does. The same snapshot when nothing was missing."""
    processes, cgroups = _with_pods(snapshot.processes), _with_pods(snapshot.cgroups)
    if processes is None and cgroups is None:
        return snapshot
    return dataclasses.replace(
        snapshot,
        processes=snapshot.processes if processes is None else processes,
        cgroups=snapshot.cgroups if cgroups is None else cgroups,
    )


def _with_pods(workloads: Sequence[Workload]) -> tuple[Workload, ...] | None:
    found = [(w, pod_identity(w.cgroup) if w.pod is None else None) for w in workloads]
    if all(pod is None for _, pod in found):
        return None
    return tuple(w if pod is None else dataclasses.replace(w, pod=pod) for w, pod in found)
