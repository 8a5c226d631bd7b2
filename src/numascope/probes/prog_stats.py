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
import threading
import time
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
    """BPF run-time statistics on while this object is open (no global sysctl).

    Statistics are not free: the kernel reads the clock twice around every run of
    every BPF program on the host while they are on (tens of ns per run in a VM,
    more than numascope's own programs cost). Given `duty`, a sampler thread keeps
    them on for `duty.on_seconds` out of every `duty.period_seconds`, starting at
    once, so the cost per run is still measured while the workload pays for the
    measurement a small part of the time. `on_seconds()` says for how long
    statistics have been on: run time over that time is the share of a CPU the
    programs take, whatever the duty.
    """

    def __init__(self, duty: StatsDuty | None = None) -> None:
        self.fd = -1
        self._lock = threading.Lock()
        self._on_total = 0.0
        self._on_since: float | None = None
        self._closed = threading.Event()
        self._available = _libbpf() is not None
        self._enable()
        self._thread: threading.Thread | None = None
        if duty is not None and self.active:
            self._thread = threading.Thread(
                target=self._cycle, args=(duty,), name="numascope-bpf-stats", daemon=True
            )
            self._thread.start()

    @property
    def active(self) -> bool:
        """Statistics could be turned on (they may be between samples now)."""
        return self._available and (self.fd >= 0 or self._thread is not None)

    def on_seconds(self) -> float:
        """Seconds statistics have been on since this session opened."""
        with self._lock:
            running = time.monotonic() - self._on_since if self._on_since is not None else 0.0
            return self._on_total + running

    def _enable(self) -> None:
        lib = _libbpf()
        if lib is None:
            return
        with self._lock:
            if self.fd >= 0:
                return
            fd = int(lib.bpf_enable_stats(BPF_STATS_RUN_TIME))
            if fd >= 0:
                self.fd = fd
                self._on_since = time.monotonic()
            else:
                self._available = False

    def _disable(self) -> None:
        with self._lock:
            if self.fd < 0:
                return
            os.close(self.fd)
            self.fd = -1
            if self._on_since is not None:
                self._on_total += time.monotonic() - self._on_since
                self._on_since = None

    def _cycle(self, duty: StatsDuty) -> None:
        while True:
            if self._closed.wait(duty.on_seconds):
                return
            self._disable()
            if self._closed.wait(duty.period_seconds - duty.on_seconds):
                return
            self._enable()

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._disable()

    def __enter__(self) -> StatsSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class StatsDuty:
    """How long BPF statistics stay on (`on_seconds`) in every `period_seconds`."""

    on_seconds: float
    period_seconds: float

    def __post_init__(self) -> None:
        if not 0 < self.on_seconds <= self.period_seconds:
            raise ValueError("a stats duty needs 0 < on_seconds <= period_seconds")


# What long-running commands use: 2 s of every 60, so the statistics cost the
# traced workload about 3% of what they would cost left on.
SAMPLED = StatsDuty(on_seconds=2.0, period_seconds=60.0)
