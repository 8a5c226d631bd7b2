"""The Alertmanager example: amtool accepts it, and a real Alertmanager inhibits with it.

One breach pages once: with a placement violation firing for a workload, the
remote-ratio warning for that same workload is inhibited, and the warning for
another workload is not.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.promtools import INHIBIT, free_port, tool, wait_http


def test_amtool_accepts_the_example() -> None:
    result = subprocess.run(
        [tool("amtool"), "check-config", str(INHIBIT)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 inhibit rules" in result.stdout


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """Debian's Alertmanager on loopback with the example configuration."""
    port = free_port()
    log = (tmp_path / "alertmanager.log").open("w")
    proc = subprocess.Popen(
        [
            tool("prometheus-alertmanager"),
            f"--config.file={INHIBIT}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/-/ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def alert(name: str, workload: str, pid: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": {
            "alertname": name,
            "job": "numascope",
            "instance": "db1:9477",
            "workload": workload,
            "pid": pid,
            "severity": "warning",
        },
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
    }


def test_a_placement_violation_inhibits_the_same_workloads_remote_ratio(
    alertmanager: str,
) -> None:
    alerts = [
        alert("NumascopePlacementViolated", "postgres", "5151"),
        alert("NumascopeRemoteRatioAbovePolicy", "postgres", "5151"),
        alert("NumascopeRemoteRatioAbovePolicy", "nginx", "2301"),
    ]
    request = urllib.request.Request(
        f"{alertmanager}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
    with urllib.request.urlopen(f"{alertmanager}/api/v2/alerts", timeout=10) as r:
        got = json.load(r)
    state = {(a["labels"]["alertname"], a["labels"]["workload"]): a["status"]["state"] for a in got}
    assert state == {
        ("NumascopePlacementViolated", "postgres"): "active",
        ("NumascopeRemoteRatioAbovePolicy", "postgres"): "suppressed",
        ("NumascopeRemoteRatioAbovePolicy", "nginx"): "active",
    }
