"""BPF statistics are sampled: on for a few seconds a minute, and the program
figures only advance while they are on (the workload pays for them only then)."""

from __future__ import annotations

import ctypes
import mmap
import os
import subprocess
import sys
import time

import pytest

from numascope.probes import bcc_loader
from numascope.probes.prog_stats import StatsDuty, StatsSession, prog_stats
from tests.conftest import require, require_root

pytestmark = pytest.mark.kernel


def fault_pages(count: int) -> None:
    with mmap.mmap(-1, count * 4096) as area:
        for offset in range(0, count * 4096, 4096):
            area[offset] = 1


def test_statistics_run_only_inside_their_window() -> None:
    require_root()
    bpf = bcc_loader.load_program("int on_alloc(void *ctx) { return 0; }")
    bpf.attach_tracepoint(tp=b"kmem:mm_page_alloc", fn_name=b"on_alloc")
    fd = bpf.funcs[b"on_alloc"].fd
    duty = StatsDuty(on_seconds=0.5, period_seconds=3.0)
    try:
        with StatsSession(duty) as stats:
            assert stats.active
            fault_pages(2000)
            inside = prog_stats(fd)
            assert inside is not None and inside.run_count > 0
            time.sleep(0.8)  # now past the window: statistics are off
            assert stats.fd < 0
            before = prog_stats(fd)
            on_before = stats.on_seconds()
            fault_pages(2000)
            after = prog_stats(fd)
            assert before is not None and after is not None
            # Other processes allocate too while statistics are off, but
            # nothing is counted: the kernel does not time runs then.
            assert after.run_count == before.run_count
            assert after.run_time_ns == before.run_time_ns
            assert stats.on_seconds() == on_before
            assert 0.45 <= on_before <= 0.7
            time.sleep(2.5)  # the next window has begun
            assert stats.fd >= 0
            fault_pages(2000)
            again = prog_stats(fd)
            assert again is not None and again.run_count > after.run_count
        assert stats.fd < 0
    finally:
        bpf.cleanup()


# Faults `argv[1]` fresh pages, each once, a mapping of `argv[2]` pages at a time,
# on the CPU it is pinned to.
FAULTER = """
import mmap, sys
pages, chunk = int(sys.argv[1]), int(sys.argv[2])
for _ in range(pages // chunk):
    with mmap.mmap(-1, chunk * 4096) as area:
        for offset in range(0, chunk * 4096, 4096):
            area[offset] = 1
"""
FAULTER_PAGES = 500_000  # about 2 s here: statistics on and off some 80 times
FAULTER_CHUNK = 50_000


def test_flipping_statistics_never_stalls_a_cpu_running_the_programs() -> None:
    """Statistics going on or off patch a branch inside every BPF tracepoint run,
    on every CPU, while other CPUs may be running it (under qemu's multi-threaded
    software emulation that hung a guest: tests/vm/guest_runner.py). Here they
    go on and off 40 times a second while another CPU faults through the
    page-allocation tracepoint: the faults finish, and the program ran at least
    once for each faulted page."""
    require_root()
    cpus = sorted(os.sched_getaffinity(0))
    require(len(cpus) >= 2, "needs two CPUs: one faulting, one flipping")
    bpf = bcc_loader.load_program(
        "BPF_ARRAY(runs, u64, 1);"
        "int on_alloc(void *ctx) { int k = 0; u64 *n = runs.lookup(&k);"
        " if (n) __sync_fetch_and_add(n, 1); return 0; }"
    )
    bpf.attach_tracepoint(tp=b"kmem:mm_page_alloc", fn_name=b"on_alloc")
    try:
        pin = ["taskset", "-c", str(cpus[1])]
        faulter = subprocess.Popen(
            [*pin, sys.executable, "-c", FAULTER, str(FAULTER_PAGES), str(FAULTER_CHUNK)]
        )
        os.sched_setaffinity(0, {cpus[0]})
        try:
            with StatsSession(StatsDuty(on_seconds=0.0125, period_seconds=0.025)) as stats:
                assert stats.active
                started = time.monotonic()
                faulter.wait(timeout=120)
                flipped_on = stats.on_seconds()
                elapsed = time.monotonic() - started
        finally:
            os.sched_setaffinity(0, set(cpus))
            faulter.kill()
        assert faulter.returncode == 0
        runs = bpf[b"runs"][ctypes.c_int(0)].value
        assert runs >= FAULTER_PAGES, f"{runs} program runs for {FAULTER_PAGES} faulted pages"
        # On about half the time: they went on and off all along, not on once.
        assert 0.25 * elapsed < flipped_on < 0.75 * elapsed, (flipped_on, elapsed)
    finally:
        bpf.cleanup()


def test_a_duty_must_fit_its_period() -> None:
    with pytest.raises(ValueError, match="on_seconds <= period_seconds"):
        StatsDuty(on_seconds=2.0, period_seconds=1.0)
