"""Real processes and cgroups with hostile names, through the live kernel.

A process is started through a symlink whose name is bytes a careless tool
would choke on (the kernel names a process after the file it executes), and
allocates in a cgroup whose directory name is just as odd. The
snapshot must name both safely, and the Prometheus output must stay valid.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from numascope.collectors.live import open_live_source
from numascope.collectors.names import cgroup2_mount
from numascope.config import Config
from numascope.exporters.prometheus.collector import SnapshotCollector
from numascope.exporters.prometheus.families import ScrapeState
from tests.conftest import require, require_root

pytestmark = pytest.mark.kernel

# 15 bytes (the kernel keeps 15 and a NUL): a quote, a backslash, a newline, a
# brace, an invalid UTF-8 byte and a tab.
HOSTILE = b'x"\\\n{\xff\tq}=y\xfe"zz'
CHILD = r"""
import mmap, time
m = mmap.mmap(-1, 32 << 20)
for off in range(0, 32 << 20, 4096):
    m[off] = 1
time.sleep(1.5)
"""


def test_hostile_process_and_cgroup_names_are_reported_safely(tmp_path: Path) -> None:
    require_root()
    promtool = shutil.which("promtool")
    require(promtool is not None, "needs promtool (Debian prometheus)")
    root = cgroup2_mount()
    group = root / f'numascope "odd\\ {uuid.uuid4().hex[:6]}'
    try:
        group.mkdir()
    except OSError as exc:
        require(False, f"cannot make a cgroup under {root}: {exc}")
    source = open_live_source(probes=["page_alloc"])
    try:
        source.poll()
        procs = group / "cgroup.procs"
        link = os.path.join(os.fsencode(tmp_path), HOSTILE)
        os.symlink(os.fsencode(sys.executable), link)
        child = subprocess.Popen(
            [link, "-c", CHILD],
            # Joins the odd cgroup before exec, so every page it faults is charged there.
            preexec_fn=lambda: procs.write_text(str(os.getpid())),
        )
        time.sleep(1.0)
        snap = source.poll()
        assert child.wait(timeout=30) == 0
        row = snap.process(f"pid:{child.pid}")
        assert row is not None, [w.name for w in snap.processes]
        assert row.total.pages >= 8192
        # The name as the kernel keeps it: odd bytes escaped, nothing dropped.
        assert row.name == HOSTILE[:15].decode("utf-8", errors="backslashreplace")
        assert row.cgroup == "/" + group.name
        cgroup_rows = [c for c in snap.cgroups if c.cgroup == "/" + group.name]
        assert any(group.name in w.name for w in snap.cgroups)
        assert cgroup_rows and cgroup_rows[0].total.pages >= 8192
        registry = CollectorRegistry(auto_describe=False)
        state = ScrapeState(snap, Config())
        registry.register(SnapshotCollector(lambda: state))
        result = subprocess.run(
            [str(promtool), "check", "metrics"],
            input=generate_latest(registry),
            capture_output=True,
        )
        assert result.returncode == 0, (result.stdout + result.stderr).decode()
    finally:
        source.close()
        time.sleep(0.2)
        group.rmdir()
