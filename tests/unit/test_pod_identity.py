"""Kubepods cgroup paths -> pod UID, container id and QoS: a table of real shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from numascope.collectors.pod_identity import QOS_CLASSES, pod_identity
from numascope.snapshot.model import PodIdentity

TABLE = Path(__file__).parent.parent / "fixtures" / "kubepods" / "cgroup_paths.tsv"


def _rows() -> list[tuple[str, PodIdentity | None]]:
    rows: list[tuple[str, PodIdentity | None]] = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        path, *expected = line.split("\t")
        if expected == ["-"]:
            rows.append((path, None))
        else:
            uid, container, qos = expected
            rows.append((path, PodIdentity(uid, container, qos)))
    return rows


ROWS = _rows()


def test_the_table_covers_every_qos_class_and_both_answers() -> None:
    found = {pod.qos for _, pod in ROWS if pod is not None}
    assert found == set(QOS_CLASSES)
    assert any(pod is None for _, pod in ROWS)
    assert any(pod is not None and not pod.container_id for _, pod in ROWS)


@pytest.mark.parametrize(("path", "expected"), ROWS, ids=[p for p, _ in ROWS])
def test_path_names_its_pod(path: str, expected: PodIdentity | None) -> None:
    assert pod_identity(path) == expected


@pytest.mark.parametrize("path", [None, "", "id:4242", "kubepods", "/kubepods/pod"])
def test_what_is_not_a_path_names_no_pod(path: str | None) -> None:
    assert pod_identity(path) is None
