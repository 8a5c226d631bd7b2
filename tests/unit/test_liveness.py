"""Liveness of owners' processes through pidfds, on real child processes."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from numascope.collectors.liveness import Liveness

FIXTURES = Path(__file__).parent.parent / "fixtures"
needs_pidfd = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="no pidfd_open here")


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [subprocess.Popen(["sleep", "600"]) for _ in range(3)]
    yield procs
    for p in procs:
        p.kill()
        p.wait()


@pytest.fixture
def liveness() -> Iterator[Liveness]:
    found = Liveness()
    yield found
    found.close()


@needs_pidfd
def test_an_exit_is_seen_without_listing_proc(
    liveness: Liveness, children: list[subprocess.Popen[bytes]]
) -> None:
    pids = {p.pid for p in children}
    assert liveness.alive_among(pids) == pids
    assert liveness.watched == 3
    children[0].kill()
    children[0].wait()
    assert liveness.alive_among(pids) == pids - {children[0].pid}
    assert liveness.watched == 2
    assert liveness._listed == 0  # /proc was never listed


@needs_pidfd
def test_a_zombie_counts_as_exited(
    liveness: Liveness, children: list[subprocess.Popen[bytes]]
) -> None:
    pid = children[1].pid
    assert liveness.alive_among({pid}) == {pid}
    os.kill(pid, signal.SIGKILL)
    # Not reaped yet: /proc still lists it, but the process has exited.
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    assert os.path.exists(f"/proc/{pid}")
    assert liveness.alive_among({pid}) == set()


@needs_pidfd
def test_pids_of_no_process_are_not_alive_and_not_kept(liveness: Liveness) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert liveness.alive_among({gone.pid, 0}) == set()
    assert liveness.watched == 0


@needs_pidfd
def test_out_of_room_for_pidfds_the_rest_are_looked_up_in_proc(
    liveness: Liveness, children: list[subprocess.Popen[bytes]]
) -> None:
    liveness._room = 1
    pids = {p.pid for p in children}
    assert liveness.alive_among(pids) == pids
    assert liveness.watched == 1
    children[2].kill()
    children[2].wait()
    assert liveness.alive_among(pids) == pids - {children[2].pid}


@needs_pidfd
def test_forgotten_pids_release_their_descriptors(
    liveness: Liveness, children: list[subprocess.Popen[bytes]]
) -> None:
    pids = {p.pid for p in children}
    liveness.alive_among(pids)
    open_before = len(os.listdir("/proc/self/fd"))
    liveness.forget(pids)
    assert liveness.watched == 0
    assert len(os.listdir("/proc/self/fd")) == open_before - 3


def test_another_proc_is_listed(tmp_path: Path) -> None:
    for pid in ("10", "11"):
        (tmp_path / pid).mkdir()
    liveness = Liveness(tmp_path)
    assert liveness.alive_among({10, 12}) == {10}
    assert liveness.watched == 0


@needs_pidfd
def test_exits_are_seen_past_descriptor_1024_and_thousands_at_once(
    liveness: Liveness,
) -> None:
    # Push the pidfds above 1024 (where select() would fail) with spare descriptors,
    # and have more exits than two epoll calls of its default 1023 events return.
    spare = [os.open("/dev/null", os.O_RDONLY) for _ in range(1030)]
    procs = [subprocess.Popen(["sleep", "600"]) for _ in range(2100)]
    try:
        pids = {p.pid for p in procs}
        assert liveness.alive_among(pids) == pids
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
        assert liveness.alive_among(pids) == set()
        assert liveness.watched == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for fd in spare:
            os.close(fd)
