"""Workloads for guest scenarios: touchers started under numactl in their own cgroup.

A scenario needs to know its workload's pid, name and cgroup to find it in
numascope's report. `dd` reading /dev/zero into one buffer of `bs` bytes touches
each page once (comm "dd"); numactl execs it, so the pid stays the same.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from numascope.collectors.names import cgroup2_mount

PAGE = 4096
CGROUP_PARENT = "numascope-vm"

# Fills node argv[1] up to argv[2] bytes above its high watermark, faulting the
# anonymous memory in one call (a Python loop over the pages takes half a minute
# under software emulation), says "ready", and holds it until its stdin closes.
# Free memory and the watermark are read once the interpreter has started: the
# holder's own memory is on the node it is bound to, and the watermarks move
# (enabling THP raises min_free_kbytes: node 1's min went to 33 MB in a guest,
# above the fixed 16 MiB left free before, and the holder was OOM-killed).
_HOLDER = """
import mmap, sys
node, leave = int(sys.argv[1]), int(sys.argv[2])
meminfo = open(f"/sys/devices/system/node/node{node}/meminfo").read().split()
free = int(meminfo[meminfo.index("MemFree:") + 1]) * 1024
high = 0
zone_node = None
for line in open("/proc/zoneinfo"):
    words = line.split()
    if words[:1] == ["Node"]:
        zone_node = int(words[1].rstrip(","))
    elif zone_node == node and len(words) == 2 and words[0] == "high":
        high += int(words[1]) * mmap.PAGESIZE
flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE
size = max(free - high - leave, mmap.PAGESIZE)
buf = mmap.mmap(-1, size, flags=flags)
print("ready", size, flush=True)
sys.stdin.read()
"""


@dataclass(frozen=True)
class Finished:
    pid: int
    cgroup: str  # as numascope names it: the path below the cgroup2 mount
    stderr: str


def dd_touch(mib: int, *numactl: str) -> list[str]:
    """argv touching `mib` MiB once, under numactl options such as "--membind=1"."""
    return ["numactl", *numactl, "dd", "if=/dev/zero", "of=/dev/null", f"bs={mib}M", "count=1"]


def pages(mib: int) -> int:
    return mib * (1 << 20) // PAGE


def run_in_cgroup(name: str, argv: Sequence[str], cpu_node: int, timeout: float = 300) -> Finished:
    """Run `argv` to its end as a process born in a fresh cgroup; return its pid.

    A shell moves itself into the cgroup and then forks the workload, so every
    page the workload allocates carries that cgroup (a process moved after it
    started would have its first pages under the old one). The shell starts on
    `cpu_node`'s CPUs, so the workload is born there too and its start-up is
    counted from the same CPU node as the rest of its run.
    """
    root = cgroup2_mount()
    directory = root / CGROUP_PARENT / name
    directory.mkdir(parents=True, exist_ok=True)
    script = 'echo $$ > "$0/cgroup.procs" && { "$@" & echo "$!"; wait "$!"; }'
    done = subprocess.run(
        ["numactl", f"--cpunodebind={cpu_node}", "sh", "-c", script, str(directory), *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{list(argv)} exited {done.returncode}: {done.stderr}"
    return Finished(
        pid=int(done.stdout.split()[0]),
        cgroup="/" + directory.relative_to(root).as_posix(),
        stderr=done.stderr,
    )


@contextmanager
def holding(node: int, leave_free: int, cpu_node: int) -> Iterator[int]:
    """A process that keeps node `node` full but for `leave_free` bytes above the
    node's high watermark while the block runs (bound there, on `cpu_node`'s CPUs)."""
    proc = subprocess.Popen(
        [
            "numactl",
            f"--cpunodebind={cpu_node}",
            f"--membind={node}",
            sys.executable,
            "-c",
            _HOLDER,
            str(node),
            str(leave_free),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("ready"):
        proc.kill()
        _, err = proc.communicate(timeout=60)
        raise AssertionError(
            f"the holder filling node {node} to {leave_free} bytes above its high "
            f"watermark failed "
            f"(status {proc.returncode}): {err}"
        )
    try:
        yield proc.pid
    finally:
        proc.stdin.close()
        proc.wait(timeout=120)
