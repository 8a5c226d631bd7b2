"""A workload in a cgroup named like a burstable pod's container, on this host's kernel:
the live source names its pod, and the real `numascope export` labels its series with
the pod UID, container id and QoS class."""

from __future__ import annotations

import re
import time
import urllib.request
from pathlib import Path

import pytest

from numascope.collectors.live import LiveSource
from numascope.snapshot.model import PodIdentity, Snapshot
from tests.conftest import require_root
from tests.fixtures.pod_cgroup import PodCgroup, burstable_pod_container
from tests.promtools import exporter

pytestmark = pytest.mark.kernel

# A safety net so a broken probe cannot hang the run; never a timing check.
PATIENCE = 120.0
CONFIG = "prometheus:\n  workload-limit: 10000\n"  # every workload by name: none folded


def pod_snapshot(source: LiveSource, cgroup: str) -> Snapshot:
    """Poll until the cgroup has pages; fail (not hang) if it never does."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        snapshot = source.poll()
        row = next((w for w in snapshot.cgroups if w.cgroup == cgroup), None)
        if row is not None and row.total.pages:
            return snapshot
        time.sleep(0.5)
    pytest.fail(f"no pages counted in {cgroup}")


def test_live_source_names_the_pod_of_a_workload_in_its_cgroup(live_source: LiveSource) -> None:
    with burstable_pod_container() as pod:
        snapshot = pod_snapshot(live_source, pod.path)
    expected = PodIdentity(pod.pod_uid, pod.container_id, "burstable")
    (row,) = [w for w in snapshot.cgroups if w.cgroup == pod.path]
    assert row.pod == expected
    dds = [w for w in snapshot.processes if w.cgroup == pod.path]
    assert dds and all(w.pod == expected for w in dds)
    assert {w.name for w in dds} <= {"dd", "sh"}
    assert all(w.pod is None for w in snapshot.processes if w.cgroup == "/")


def scrape_until(address: str, pattern: str) -> str:
    deadline = time.monotonic() + PATIENCE
    while True:
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as r:
            text = r.read().decode()
        if re.search(pattern, text, re.MULTILINE):
            return text
        if time.monotonic() > deadline:
            pytest.fail(f"/metrics never matched {pattern!r}")
        time.sleep(0.5)


def labels_of(text: str, metric: str, cgroup: str) -> list[str]:
    return [x for x in text.splitlines() if x.startswith(f"{metric}{{") and f'"{cgroup}"' in x]


def test_export_labels_the_pods_series(tmp_path: Path) -> None:
    require_root()
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    with (
        burstable_pod_container() as pod,
        exporter(
            "--source", "bpf", "--interval", "0.5", "--config", str(config), log=tmp_path / "x.log"
        ) as address,
    ):
        text = scrape_until(
            address, rf'^numascope_workload_pages_total{{.*pod_uid="{pod.pod_uid}".*}} [1-9]'
        )
        text = scrape_until(address, rf'^numascope_cgroup_pages_total{{.*cgroup="{pod.path}"')
    _check(text, pod)


def _check(text: str, pod: PodCgroup) -> None:
    want = (
        f'container_id="{pod.container_id}"',
        f'pod_uid="{pod.pod_uid}"',
        'qos="burstable"',
    )
    cgroup = labels_of(text, "numascope_cgroup_pages_total", pod.path)
    assert cgroup and all(all(w in line for w in want) for line in cgroup), cgroup
    workloads = [
        x
        for x in text.splitlines()
        if x.startswith("numascope_workload_pages_total{") and f'pod_uid="{pod.pod_uid}"' in x
    ]
    assert workloads and all(all(w in line for w in want) for line in workloads)
    assert any('workload="dd"' in line for line in workloads)
    # Everything else on the host is in no pod: its pod labels are empty.
    others = [
        x
        for x in text.splitlines()
        if x.startswith("numascope_cgroup_pages_total{") and "kubepods" not in x
    ]
    assert others and all('pod_uid=""' in x and 'container_id=""' in x for x in others)
