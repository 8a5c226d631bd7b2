"""Processes are named by their leader, whichever thread allocates, on the live kernel.

The kernel names threads apart (a JVM's "GC Thread#0", prctl(PR_SET_NAME)), and
the page-allocation program sees the allocating thread's name. A process's row
must carry the name ps and top show for it: its leader's, renamed or not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from numascope.collectors.live import open_live_source
from tests.conftest import require_root

pytestmark = pytest.mark.kernel

# One CPU, so one per-CPU cache holds the process's counts. A worker thread
# renames itself and faults 32 MiB: the first allocation after the test's poll
# is the worker's, so the kernel records the worker's name. Then the leader
# faults a page (opening the cache under its own name), renames itself and
# faults 32 MiB more in the same poll: the kernel keeps the old name for them.
CHILD = r"""
import ctypes, mmap, os, sys, threading
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
libc = ctypes.CDLL(None)
def touch(size):
    m = mmap.mmap(-1, size)
    for off in range(0, size, 4096):
        m[off] = 1
    return m
keep = []
def worker():
    libc.prctl(15, b"nsc-worker", 0, 0, 0)  # PR_SET_NAME
    print("ready", flush=True)
    sys.stdin.readline()
    keep.append(touch(32 << 20))
t = threading.Thread(target=worker)
t.start()
t.join()
print("worker done", flush=True)
sys.stdin.readline()
keep.append(touch(4096))
libc.prctl(15, b"nsc-renamed", 0, 0, 0)
keep.append(touch(32 << 20))
print("leader done", flush=True)
sys.stdin.readline()
"""


def tell(child: subprocess.Popen[str], line: str, reply: str) -> None:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(line + "\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == reply


def test_a_process_row_carries_its_leaders_name(tmp_path: Path) -> None:
    require_root()
    link = tmp_path / "nsc-leader"
    os.symlink(sys.executable, link)
    source = open_live_source(probes=["page_alloc"])
    child = subprocess.Popen(
        [str(link), "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready"
        source.poll()
        tell(child, "go", "worker done")
        first = source.poll().process(f"pid:{child.pid}")
        assert first is not None and first.total.pages >= 8192
        # The worker thread asked for the pages; the process is still "nsc-leader".
        assert first.name == "nsc-leader", first.name

        tell(child, "rename", "leader done")
        second = source.poll().process(f"pid:{child.pid}")
        assert second is not None and second.total.pages >= 16384
        assert second.name == "nsc-renamed", second.name
    finally:
        child.kill()
        child.wait()
        source.close()
