"""A pod's identity in what numascope writes: captures (old and new), redaction, /metrics."""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
from pathlib import Path

from numascope.capture.file import read_capture
from numascope.capture.redact import Redactor
from numascope.capture.replay import read_recording, read_stream
from numascope.config import Config
from numascope.exporters.report.build import build_report
from numascope.exporters.report.markdown import render_markdown
from numascope.snapshot.columns import as_new_columns
from numascope.snapshot.model import PodIdentity, Snapshot
from tests.fixtures import streams
from tests.fixtures.capture_files import write_capture
from tests.promtools import promtool
from tests.unit.test_export_metrics import samples, scrape, scrape_stream

WEB = PodIdentity(streams.WEB_POD_UID, streams.WEB_CONTAINER, "burstable")
CACHE = PodIdentity(streams.CACHE_POD_UID, streams.CACHE_CONTAINER, "guaranteed")


def _without_pods(snapshot: Snapshot) -> Snapshot:
    return dataclasses.replace(
        snapshot,
        processes=tuple(dataclasses.replace(w, pod=None) for w in snapshot.processes),
        cgroups=tuple(dataclasses.replace(w, pod=None) for w in snapshot.cgroups),
    )


def _pods_by_pid(snapshot: Snapshot) -> dict[int | None, PodIdentity | None]:
    return {w.pid: w.pod for w in snapshot.processes}


def test_a_capture_keeps_each_workloads_pod(tmp_path: Path) -> None:
    snaps = streams.kubernetes_pods()
    capture = read_capture(write_capture(tmp_path / "k.gz", snaps))
    assert capture.snapshots == tuple(snaps)
    last = _pods_by_pid(capture.snapshots[-1])
    assert (last[7001], last[7002], last[7101], last[812]) == (WEB, WEB, CACHE, None)


def test_a_version_1_0_capture_gets_pods_from_its_cgroup_paths(tmp_path: Path) -> None:
    """A 1.0 file has no `pod` in its workloads: read, it names them as a new one does."""
    path = write_capture(tmp_path / "k.gz", streams.kubernetes_pods())
    records = [json.loads(x) for x in gzip.decompress(path.read_bytes()).splitlines()]
    records[0]["version"] = "1.0"
    for record in records[1:-1]:
        for section in ("processes", "cgroups"):
            for w in record["snapshot"][section]:
                del w["pod"]
    old = tmp_path / "old.gz"
    old.write_bytes(gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in records)))
    capture = read_capture(old)
    assert capture.version == "1.0"
    assert capture.snapshots == tuple(streams.kubernetes_pods())


def test_a_json_stream_without_pods_gets_them_from_its_cgroup_paths(tmp_path: Path) -> None:
    bare = [_without_pods(s) for s in streams.kubernetes_pods()]
    got = list(read_stream(streams.write_stream(tmp_path / "k.jsonl", bare)))
    assert got == streams.kubernetes_pods()


def test_redaction_turns_pod_uid_and_container_id_into_stable_tokens(tmp_path: Path) -> None:
    redactor = Redactor()
    snaps = [redactor.snapshot(s) for s in streams.kubernetes_pods()]
    path = write_capture(tmp_path / "r.gz", snaps)
    text = gzip.decompress(path.read_bytes()).decode()
    for secret in (streams.WEB_POD_UID, streams.WEB_CONTAINER, "kubepods"):
        assert secret not in text
    capture = read_capture(path)
    pods = {w.pod for s in capture.snapshots for w in s.processes if w.pid in (7001, 7002)}
    assert len(pods) == 1
    (pod,) = pods
    assert pod is not None and pod.qos == "burstable"
    assert pod.pod_uid.startswith("pod-") and pod.container_id.startswith("ctr-")
    cgroup_pods = {w.pod for w in capture.snapshots[-1].cgroups if w.pod is not None}
    assert pod in cgroup_pods


def test_metrics_label_workloads_and_cgroups_with_their_pod() -> None:
    # Named at the first snapshot, at 0: the series then count what the next two add.
    text = scrape_stream(streams.kubernetes_pods())
    web = (
        f'container_id="{WEB.container_id}",kind="process",node="0",pid="7001",'
        f'pod_uid="{WEB.pod_uid}",qos="burstable",workload="nginx"'
    )
    assert samples(text, "numascope_workload_pages_total")[f"{{{web}}}"] == 100
    cache = samples(text, "numascope_cgroup_locality_pages_total")
    key = next(k for k in cache if f'pod_uid="{CACHE.pod_uid}"' in k and "remote" in k)
    assert f'container_id="{CACHE.container_id}"' in key and 'qos="guaranteed"' in key
    assert cache[key] == 1800
    host = samples(text, "numascope_workload_pages_total")
    assert any('pid="812"' in k and 'pod_uid=""' in k for k in host)
    promtool("check", "metrics", stdin=text)


def _series(text: str, family: str) -> set[frozenset[tuple[str, str]]]:
    """Each series of `family` as Prometheus stores it (empty labels are absent), its
    pod labels left out."""
    return {
        frozenset(
            (k, v)
            for k, v in re.findall(r'(\w+)="([^"]*)"', labels)
            if v and k not in ("pod_uid", "container_id", "qos")
        )
        for labels in samples(text, family)
    }


def test_pod_labels_add_no_series_and_the_folded_row_has_none() -> None:
    """One pod per workload: the same series as without pods, and the label budget's
    "other" row names no pod."""
    snap = streams.kubernetes_pods()[-1]
    config = Config.model_validate({"prometheus": {"workload-limit": 2}})
    for family in ("numascope_workload_pages_total", "numascope_cgroup_pages_total"):
        with_pods = scrape(snap, config)
        without = scrape(_without_pods(snap), config)
        assert len(samples(with_pods, family)) == len(samples(without, family))
        assert _series(with_pods, family) == _series(without, family)
        other = [k for k in samples(with_pods, family) if '"other"' in k]
        assert other and all('pod_uid=""' in k and 'qos=""' in k for k in other)


def test_a_host_without_pods_writes_no_pod_labels() -> None:
    """Empty pod labels name the same series as none (Prometheus drops empty labels),
    so a host without pods is spared them: its /metrics is what it was before pods."""
    text = scrape(_without_pods(streams.kubernetes_pods()[-1]))
    assert "pod_uid" not in text and "container_id" not in text and "qos=" not in text
    assert samples(text, "numascope_cgroup_pages_total")


def test_columns_as_a_poll_hands_them_over_give_the_same_labels() -> None:
    snap = streams.kubernetes_pods()[-1]
    live = dataclasses.replace(
        snap, processes=as_new_columns(snap.processes), cgroups=as_new_columns(snap.cgroups)
    )
    assert scrape(live) == scrape(snap)


def test_the_report_lists_pods_and_the_pod_of_each_top_workload(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "k.gz", streams.kubernetes_pods())
    text = render_markdown(build_report(read_recording(path)))
    workloads = text.split("## Top workloads")[1].split("## Reclaim")[0]
    redis = next(line for line in workloads.splitlines() if "| redis-server |" in line)
    assert f"{CACHE.pod_uid} (guaranteed, container {CACHE.container_id[:12]})" in redis
    pods = workloads.split("Kubernetes pods by remote pages")[1].split("\n\n###")[0]
    rows = [line for line in pods.splitlines() if line.startswith(f"| {CACHE.pod_uid}")]
    # redis: 3 intervals of 100 pages from node 0 and 900 from node 1, remote to its node 0 CPUs
    assert rows == [f"| {CACHE.pod_uid} | guaranteed | 1 | 3,000 | 300 | 2,700 | 0 | 90.0% |"]
    web = next(line for line in pods.splitlines() if line.startswith(f"| {WEB.pod_uid}"))
    assert "| burstable | 1 | 255 | 240 | 15 | 0 | 5.9% |" in web


def test_a_report_without_pods_has_no_pod_column_or_table(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.gz", streams.policy_violation())
    text = render_markdown(build_report(read_recording(path)))
    assert "Kubernetes pods" not in text and "| pod |" not in text
