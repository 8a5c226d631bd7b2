"""Names for what the kernel reports as numbers: cgroup ids, pids, IRQs.

Every reader takes its root (procfs, cgroupfs) as a parameter. Processes come
and go while we read: a vanished or unreadable entry is an answer ("unknown"),
never an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

SOFTIRQ_NAMES = (
    "HI",
    "TIMER",
    "NET_TX",
    "NET_RX",
    "BLOCK",
    "IRQ_POLL",
    "TASKLET",
    "SCHED",
    "HRTIMER",
    "RCU",
)

PF_KTHREAD = 0x00200000


def softirq_name(vector: int) -> str:
    return SOFTIRQ_NAMES[vector] if 0 <= vector < len(SOFTIRQ_NAMES) else f"vec{vector}"


def decode_comm(raw: bytes) -> str:
    """A comm as text; odd bytes stay visible as escapes rather than vanish.

    The kernel's 16-byte comm ends at its first NUL; what follows can be stale
    bytes of an older, longer name (seen on 6.1), never part of this one.
    """
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="backslashreplace")


def live_pids(proc: Path = Path("/proc")) -> set[int]:
    try:
        return {int(name) for name in os.listdir(proc) if name.isdigit()}
    except OSError:
        return set()


@dataclass(frozen=True)
class ProcessStat:
    kernel_thread: bool  # PF_KTHREAD
    name: bytes  # the thread group leader's comm: the process's own name


def process_stat(pid: int, *, proc: Path = Path("/proc")) -> ProcessStat | None:
    """What /proc/PID/stat says of a live process, None when it is gone."""
    # os.open on a formatted path: a third of the cost of Path.read_bytes, and
    # 32 of these are read every poll.
    try:
        fd = os.open(f"{proc}/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        stat = b"".join(iter(lambda: os.read(fd, 4096), b""))
    except OSError:
        return None
    finally:
        os.close(fd)
    # comm may hold spaces and parentheses: it runs from the first '(' to the
    # last ')', and the fields resume after that.
    close = stat.rfind(b")")
    fields = stat[close + 2 :].split()
    try:
        flags = int(fields[6])
    except (IndexError, ValueError):
        return None
    return ProcessStat(bool(flags & PF_KTHREAD), stat[stat.find(b"(") + 1 : close])


def cgroup2_mount(proc: Path = Path("/proc")) -> Path:
    """Where the cgroup v2 hierarchy is mounted (hybrid hosts: .../unified)."""
    try:
        for line in (proc / "self/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2] == "cgroup2":
                return Path(fields[1])
    except OSError:
        pass
    return Path("/sys/fs/cgroup")


@dataclass
class CgroupResolver:
    """cgroup v2 id -> path. The id is the cgroup directory's inode number."""

    root: Path = Path("/sys/fs/cgroup")
    _paths: dict[int, str] = field(default_factory=dict, init=False)
    _rescanned_at: float = field(default=-1.0, init=False)

    def path(self, cgroup_id: int, now: float) -> str | None:
        if cgroup_id == 0:
            return None
        found = self._paths.get(cgroup_id)
        if found is None and now != self._rescanned_at:
            # A new cgroup: rescan once per poll at most, however many are new.
            self._rescan()
            self._rescanned_at = now
            found = self._paths.get(cgroup_id)
        return found

    def _rescan(self) -> None:
        paths: dict[int, str] = {}
        stack = [self.root]
        while stack:
            directory = stack.pop()
            try:
                st = directory.stat()
                entries = list(os.scandir(directory))
            except OSError:
                continue
            rel = directory.relative_to(self.root).as_posix()
            paths[st.st_ino] = "/" if rel == "." else f"/{rel}"
            stack.extend(Path(e.path) for e in entries if e.is_dir(follow_symlinks=False))
        self._paths = paths
