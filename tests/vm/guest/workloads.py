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
from pathlib import Path

from numascope.collectors.names import cgroup2_mount

PAGE = 4096
CGROUP_PARENT = "numascope-vm"

# Faults in argv[1] bytes of anonymous memory in one call (a Python loop over the
# pages takes half a minute under software emulation), says "ready", and holds
# them until its stdin closes.
_HOLDER = """
import mmap, sys
flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE
buf = mmap.mmap(-1, int(sys.argv[1]), flags=flags)
print("ready", flush=True)
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


def node_free_bytes(node: int) -> int:
    text = Path(f"/sys/devices/system/node/node{node}/meminfo").read_text()
    for line in text.splitlines():
        parts = line.split()
        if parts[2:3] == ["MemFree:"]:
            return int(parts[3]) * 1024
    raise AssertionError(f"no MemFree in node{node}/meminfo")


@contextmanager
def holding(node: int, nbytes: int, cpu_node: int) -> Iterator[int]:
    """A process that keeps `nbytes` of node `node` touched while the block runs."""
    proc = subprocess.Popen(
        [
            "numactl",
            f"--cpunodebind={cpu_node}",
            f"--membind={node}",
            sys.executable,
            "-c",
            _HOLDER,
            str(nbytes),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        _, err = proc.communicate(timeout=60)
        raise AssertionError(f"the holder of {nbytes} bytes on node {node} failed: {err}")
    try:
        yield proc.pid
    finally:
        proc.stdin.close()
        proc.wait(timeout=120)
