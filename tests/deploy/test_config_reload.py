"""`numascope export` follows its config file as a Kubernetes ConfigMap updates it.

The kubelet writes each version of a ConfigMap into a new folder and swaps the
`..data` symlink to it; `config.yaml` is a symlink through `..data`. No signal is
sent, so the exporter must notice the swap itself. The real command serves a
replayed capture (no root needed) and the test reads the policy it applies back
from /metrics.
"""

from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path

from tests.fixtures import export_streams
from tests.promtools import exporter


def configmap_version(mount: Path, name: str, text: str) -> None:
    """Publish `text` as the mounted ConfigMap's config.yaml, as the kubelet does."""
    version = mount / f"..{name}"
    version.mkdir()
    (version / "config.yaml").write_text(text)
    staged = mount / "..data_tmp"
    staged.symlink_to(version.name)
    os.replace(staged, mount / "..data")  # rename(2): atomic, as the kubelet's swap
    if not (mount / "config.yaml").is_symlink():
        (mount / "config.yaml").symlink_to("..data/config.yaml")


def warning_ratio(address: str) -> float | None:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as reply:
        for line in reply.read().decode().splitlines():
            if line.startswith('numascope_policy_remote_ratio{severity="warning"}'):
                return float(line.rsplit(" ", 1)[1])
    return None


def wait_for_ratio(address: str, want: float, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while (seen := warning_ratio(address)) != want:
        assert time.monotonic() < deadline, f"warning ratio {seen}, expected {want}"
        time.sleep(0.2)


def policy(warning: float) -> str:
    return f"thresholds:\n  remote-ratio-warning: {warning}\n"


def test_configmap_symlink_swap_reloads_and_a_bad_version_keeps_the_policy(
    tmp_path: Path,
) -> None:
    stream = export_streams.write_stream(
        tmp_path / "s.jsonl", [export_streams.two_node(step) for step in range(1, 301)]
    )
    mount = tmp_path / "config"
    mount.mkdir()
    configmap_version(mount, "v1", policy(0.2))
    log = tmp_path / "export.log"
    config = str(mount / "config.yaml")
    with exporter("--replay", str(stream), "--config", config, "--interval", "0.2", log=log) as at:
        wait_for_ratio(at, 0.2)
        configmap_version(mount, "v2", policy(0.3))
        wait_for_ratio(at, 0.3)
        assert f'msg="policy reloaded from {config}"\n' in log.read_text()

        configmap_version(mount, "v3", "thresholds:\n  remote-ratio-warning: [\n")
        deadline = time.monotonic() + 20
        while "keeping the previous policy" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        time.sleep(1)  # several polls: the bad version is reported once, not per poll
        errors = [line for line in log.read_text().splitlines() if "keeping" in line]
        assert len(errors) == 1, errors
        assert " level=error " in errors[0], errors[0]
        assert f'msg="policy reload failed: {config}:3:1: ' in errors[0], errors[0]
        assert warning_ratio(at) == 0.3

        configmap_version(mount, "v4", policy(0.25))
        wait_for_ratio(at, 0.25)
