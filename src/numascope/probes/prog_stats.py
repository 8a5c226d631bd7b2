"""What the kernel says our programs cost: bpf_prog_info through libbpf.

`run_time_ns` and `run_cnt` only advance while BPF statistics are on. The
`kernel.bpf_stats_enabled` sysctl turns them on for every program on the host;
`bpf_enable_stats()` turns them on only while the returned descriptor is held,
which is what numascope does to report its own overhead. `recursion_misses`
counts events the kernel skipped because another program was running on that
CPU: allocations numascope could not see.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from dataclasses import dataclass

BPF_STATS_RUN_TIME = 0
INFO_SIZE = 256
# Offsets in struct bpf_prog_info (include/uapi/linux/bpf.h), stable UAPI.
OFF_ID = 4
OFF_NAME = 64
OFF_RUN_TIME_NS = 192
OFF_RUN_CNT = 200
OFF_RECURSION_MISSES = 208


@dataclass(frozen=True)
class ProgStats:
    prog_id: int
    name: str
    run_time_ns: int
    run_count: int
    recursion_misses: int

    @property
    def ns_per_run(self) -> float:
        return self.run_time_ns / self.run_count if self.run_count else 0.0


@functools.cache
def _libbpf() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libbpf.so.1", use_errno=True)
    except OSError:
        pass
    # find_library runs ldconfig: only worth it once, and only as a fallback.
    name = ctypes.util.find_library("bpf")
    try:
        return ctypes.CDLL(name, use_errno=True) if name else None
    except OSError:
        return None


def prog_stats(fd: int) -> ProgStats | None:
    """Kernel-side statistics of the program behind `fd` (None if unavailable)."""
    lib = _libbpf()
    if lib is None:
        return None
    buf = ctypes.create_string_buffer(INFO_SIZE)
    size = ctypes.c_uint32(INFO_SIZE)
    if lib.bpf_obj_get_info_by_fd(fd, buf, ctypes.byref(size)) != 0:
        return None
    raw = buf.raw

    def u64(offset: int) -> int:
        return int.from_bytes(raw[offset : offset + 8], "little")

    return ProgStats(
        prog_id=int.from_bytes(raw[OFF_ID : OFF_ID + 4], "little"),
        name=raw[OFF_NAME : OFF_NAME + 16].split(b"\0", 1)[0].decode(errors="replace"),
        run_time_ns=u64(OFF_RUN_TIME_NS),
        run_count=u64(OFF_RUN_CNT),
        recursion_misses=u64(OFF_RECURSION_MISSES),
    )


class StatsSession:
    """BPF run-time statistics on while this object is open (no global sysctl)."""

    def __init__(self) -> None:
        self.fd = -1
        lib = _libbpf()
        if lib is not None:
            self.fd = int(lib.bpf_enable_stats(BPF_STATS_RUN_TIME))

    @property
    def active(self) -> bool:
        return self.fd >= 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> StatsSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
