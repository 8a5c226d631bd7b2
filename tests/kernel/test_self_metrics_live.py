"""`numascope export` on the live kernel reports on itself, and attaches what the
config's `probes:` names: nothing more (checked in the kernel, through bpftool)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import require, require_root
from tests.promtools import ROOT, free_port, promtool, tool, wait_http
from tests.unit.test_export_metrics import samples

pytestmark = pytest.mark.kernel

NOBODY = 65534


@contextmanager
def export(tmp_path: Path, *options: str, user: int | None = None) -> Iterator[tuple[str, int]]:
    """`numascope export` on a free port: yields its metrics URL and its pid."""
    address = f"127.0.0.1:{free_port()}"
    log = (tmp_path / "export.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "numascope", "export", "--web.listen-address", address, *options],
        stdout=log,
        stderr=subprocess.STDOUT,
        user=user,
        cwd="/",
    )
    try:
        wait_http(f"http://{address}/metrics", seconds=120)
        yield f"http://{address}/metrics", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return str(r.read().decode())


def label(key: str, name: str) -> str:
    m = re.search(rf'{name}="([^"]*)"', key)
    assert m, key
    return m.group(1)


def kernel_program_names(pid: int) -> set[str]:
    """Names of the BPF programs the process holds, as the kernel lists them."""
    ids = set()
    fd_dir = Path(f"/proc/{pid}/fdinfo")
    for info in fd_dir.iterdir():
        try:
            m = re.search(r"^prog_id:\s+(\d+)$", info.read_text(), re.M)
        except OSError:
            continue  # closed meanwhile
        if m:
            ids.add(m.group(1))
    names = set()
    for prog_id in ids:
        shown = subprocess.run(
            [tool("bpftool"), "prog", "show", "id", prog_id, "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        names.add(json.loads(shown.stdout)["name"])
    return names


def bpf_functions(family: str) -> set[str]:
    """The programs a family's BPF source defines."""
    text = (ROOT / "src" / "numascope" / "probes" / f"{family}.bpf.c").read_text()
    return set(re.findall(r"^int (\w+)\(", text, re.M))


def git_head() -> str:
    git = shutil.which("git")
    require(git is not None and (ROOT / ".git").exists(), "needs git and a checkout")
    assert git is not None
    out = subprocess.run([git, "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip()


def test_config_probes_attach_only_their_family_and_the_exporter_reports_on_itself(
    tmp_path: Path,
) -> None:
    require_root()
    config = tmp_path / "config.yaml"
    config.write_text("version: 1\nprobes: [page_alloc]\n")
    with export(tmp_path, "--config", str(config), "--source", "bpf", "--interval", "0.5") as (
        url,
        pid,
    ):
        for _ in range(3):  # allocations, so that the programs surely run
            subprocess.run(["dd", "if=/dev/zero", "of=/dev/null", "bs=32M", "count=1"], check=True)
            time.sleep(0.6)
        text = scrape(url)
        held = kernel_program_names(pid)
    promtool("check", "metrics", stdin=text)

    # Only the page-allocation family: per the exporter and per the kernel.
    success = samples(text, "numascope_family_poll_success")
    assert {label(k, "family") for k in success} == {"page_alloc"}, success
    assert set(success.values()) == {1.0}
    programs = samples(text, "numascope_bpf_runs_total")
    names = {label(k, "program") for k in programs}
    assert names and all(n.startswith("page_alloc.") for n in names), names
    # The kernel's view: every program the exporter holds is one of page_alloc.bpf.c
    # (calibrate_raw included, loaded for its start-up calibration), none of another
    # family's, and each one the exporter reports is among them.
    assert held <= bpf_functions("page_alloc"), held
    others = set().union(
        *(bpf_functions(f) for f in ("reclaim", "irq", "allocator", "slab", "migrate"))
    )
    assert not held & (others - bpf_functions("page_alloc")), held
    assert {n.removeprefix("page_alloc.") for n in names} <= held

    # The exporter's own figures.
    assert samples(text, "process_resident_memory_bytes")[""] > 10e6
    assert samples(text, "process_cpu_seconds_total")[""] > 0
    assert samples(text, "python_gc_collections_total")
    assert samples(text, "numascope_family_poll_duration_seconds")['{family="page_alloc"}'] > 0
    assert samples(text, "numascope_probe_failures_total") == {'{family="page_alloc"}': 0.0}
    assert sum(programs.values()) > 0, "bpf_stats counted the programs' runs"
    assert sum(samples(text, "numascope_bpf_run_seconds_total").values()) > 0
    assert samples(text, "numascope_source_fallback") == {'{reason=""}': 0.0}
    (build,) = samples(text, "numascope_build_info")
    assert label(build, "revision") == git_head()


def test_a_source_that_falls_back_says_why(tmp_path: Path) -> None:
    require_root()  # to start the exporter as an unprivileged user
    os.chmod(tmp_path, 0o755)
    with export(tmp_path, "--interval", "0.5", user=NOBODY) as (url, _pid):
        text = scrape(url)
    promtool("check", "metrics", stdin=text)
    assert samples(text, "numascope_source_fallback") == {'{reason="no_privilege"}': 1.0}
    assert samples(text, "numascope_source_info") == {'{source="kernel-counters"}': 1.0}
    assert not samples(text, "numascope_family_poll_success"), "no probe family runs"
