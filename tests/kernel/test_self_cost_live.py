"""numascope's own probe cost: measured through bpf_stats by default, and not at all
with --no-self-cost (the statistics would time every BPF program on the host)."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import require_root
from tests.promtools import ROOT

pytestmark = pytest.mark.kernel

NUMASCOPE = str(ROOT / ".venv" / "bin" / "numascope")


def last_health(*options: str) -> dict[str, object]:
    """The health of the third snapshot of `numascope snapshot --json` with `options`,
    while a process faults 64 MiB so that the probes surely run."""
    toucher = subprocess.Popen(
        ["sh", "-c", "while :; do dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; done"]
    )
    try:
        out = subprocess.run(
            [NUMASCOPE, "snapshot", "--json", "--count", "3", "--interval", "0.5", *options],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        toucher.kill()
        toucher.wait()
    assert out.returncode == 0, out.stderr
    health: dict[str, object] = json.loads(out.stdout.splitlines()[-1])["health"]
    return health


def test_own_cost_is_measured_by_default_and_not_with_no_self_cost() -> None:
    require_root()
    measured = last_health()
    runs, ns = measured["bpf_run_count"], measured["bpf_run_ns"]
    assert isinstance(runs, int) and isinstance(ns, int)
    assert runs > 1000 and 5 < ns / runs < 100_000  # nanoseconds per run, plausibly
    unmeasured = last_health("--no-self-cost")
    assert (unmeasured["bpf_run_count"], unmeasured["bpf_run_ns"]) == (0, 0)
    assert unmeasured["probes_attached"]  # the probes still ran
