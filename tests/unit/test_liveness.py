"""Liveness of owners' processes through pidfds, on real child processes."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np
import pytest

from numascope.collectors.liveness import Liveness, RowLiveness

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


class CountingLiveness(Liveness):
    """A real Liveness that records which pids each poll asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[set[int]] = []

    def alive_among(self, pids: Collection[int]) -> set[int]:
        self.asked.append(set(pids))
        return super().alive_among(pids)


@needs_pidfd
def test_rows_are_asked_about_once_and_follow_exits(
    children: list[subprocess.Popen[bytes]],
) -> None:
    liveness = CountingLiveness()
    rows = RowLiveness(liveness)
    try:
        pids = [p.pid for p in children]
        tgids = np.array([*pids, 0], dtype=np.uint32)  # the last: an interrupt row
        serials = np.array([1, 2, 3, 4], dtype=np.int64)
        live = np.array([True, True, True, True])
        assert rows.alive(tgids, serials, live).tolist() == [True, True, True, False]
        assert liveness.asked == [{*pids, 0}]
        # Nothing new: nothing asked, and the answer holds.
        assert rows.alive(tgids, serials, live).tolist() == [True, True, True, False]
        assert len(liveness.asked) == 1
        children[1].kill()
        children[1].wait()
        assert rows.alive(tgids, serials, live).tolist() == [True, False, True, False]
        assert len(liveness.asked) == 1, "the exit came from the pidfd, not a question"
        # Row 0 now holds another owner (a new serial): only it is asked about.
        serials[0] = 5
        assert rows.alive(tgids, serials, live).tolist() == [True, False, True, False]
        assert liveness.asked[1:] == [{pids[0]}]
        # A row no longer live is not alive, and a row beyond the last call's is new.
        live[2] = False
        grown = np.r_[tgids, np.uint32(pids[2])]
        answer = rows.alive(grown, np.r_[serials, 6], np.r_[live, True])
        assert answer.tolist() == [True, False, False, False, True]
    finally:
        liveness.close()


@needs_pidfd
def test_a_row_whose_pid_is_not_followed_is_asked_every_poll(
    children: list[subprocess.Popen[bytes]],
) -> None:
    liveness = CountingLiveness()
    liveness._room = 1  # one pidfd: the other pids are looked up in /proc
    rows = RowLiveness(liveness)
    try:
        tgids = np.array([p.pid for p in children[:2]], dtype=np.uint32)
        serials, live = np.array([1, 2], dtype=np.int64), np.array([True, True])
        assert rows.alive(tgids, serials, live).tolist() == [True, True]
        unfollowed = next(int(t) for t in tgids if not liveness.follows(int(t)))
        assert rows.alive(tgids, serials, live).tolist() == [True, True]
        assert liveness.asked[1] == {unfollowed}
        victim = next(p for p in children if p.pid == unfollowed)
        victim.kill()
        victim.wait()
        expected = [int(t) != unfollowed for t in tgids]
        assert rows.alive(tgids, serials, live).tolist() == expected
    finally:
        liveness.close()
