"""Which owners' processes are alive, at a cost that follows exits, not processes.

Listing /proc every poll costs about a microsecond per process on the host (12
ms at 10,000). Instead each pid numascope has counts for is opened once as a
pidfd (Linux 5.3), whose descriptor becomes readable when the whole process has
exited; one epoll over them says which exited since the last poll. A pidfd
names the process, not the number: a pid reused by a newcomer is a new pidfd.

Where pidfds cannot be had (an older kernel, the descriptor limit reached, or a
/proc that is not this host's, in tests), the pids are looked up in /proc.

`RowLiveness` keeps the answer per owner row, so a poll asks only about rows
that hold a new owner and applies the exits the pidfds reported: a poll's cost
follows what changed, not the thousands of rows that did not.
"""

from __future__ import annotations

import errno
import os
import resource
import select
from collections.abc import Collection
from pathlib import Path

import numpy as np
import numpy.typing as npt

from numascope.collectors.names import live_pids

# Descriptors kept free for everything else the process opens, and the soft
# limit asked for: room for every owner the default map holds, and more, without
# handing children (a pager, an editor) a limit of a million.
SPARE_DESCRIPTORS = 256
WANTED_DESCRIPTORS = 1 << 16


class Liveness:
    def __init__(self, proc: Path = Path("/proc")) -> None:
        self.proc = proc
        self._fd_of: dict[int, int] = {}  # pid -> pidfd
        self._pid_of: dict[int, int] = {}  # pidfd -> pid
        self._epoll: select.epoll | None = None
        if proc == Path("/proc") and hasattr(os, "pidfd_open"):
            self._epoll = select.epoll()
            self._room = _raise_descriptor_limit() - SPARE_DESCRIPTORS
        self._listed = 0  # pids in /proc at the last listing (the fallback's)
        self._exited: set[int] = set()  # reaped since the last take_exited()

    @property
    def reports_exits(self) -> bool:
        """Whether exits of followed processes are reported (take_exited)."""
        return self._epoll is not None

    def follows(self, pid: int) -> bool:
        """Whether `pid` is followed, so its exit will be reported."""
        return pid in self._fd_of

    def take_exited(self) -> set[int]:
        """Followed processes seen exiting since the last call."""
        if self._epoll is not None:
            self._reap(self._epoll)
        exited, self._exited = self._exited, set()
        return exited

    @property
    def watched(self) -> int:
        """Processes followed through a pidfd."""
        return len(self._fd_of)

    def alive_among(self, pids: Collection[int]) -> set[int]:
        """Which of `pids` are alive now (a zombie counts as exited)."""
        wanted = pids if isinstance(pids, set | frozenset) else set(pids)
        if self._epoll is None:
            return self._looked_up(wanted)
        self._reap(self._epoll)
        alive = self._fd_of.keys() & wanted  # a set, whatever `wanted` is
        unknown: list[int] = []
        for pid in wanted - alive:
            if pid <= 0:  # the idle task's owner, and the folded rows: no process
                continue
            if len(self._fd_of) >= self._room:
                unknown.append(pid)
                continue
            try:
                fd = os.pidfd_open(pid)
            except OSError as exc:
                if exc.errno != errno.ESRCH:  # out of descriptors, or not allowed
                    unknown.append(pid)
                continue
            self._fd_of[pid], self._pid_of[fd] = fd, pid
            self._epoll.register(fd, select.EPOLLIN)
            alive.add(pid)
        # A pid just opened may be a zombie: exited already.
        alive -= self._reap(self._epoll)
        return alive | self._looked_up(set(unknown)) if unknown else alive

    def forget(self, pids: Collection[int]) -> None:
        """Stop following these pids (their rows are gone)."""
        for pid in pids:
            fd = self._fd_of.pop(pid, None)
            if fd is not None:
                self._close(fd)

    def close(self) -> None:
        self.forget(list(self._fd_of))
        if self._epoll is not None:
            self._epoll.close()

    def _reap(self, epoll: select.epoll) -> set[int]:
        """Stop following the processes that exited; return their pids."""
        exited: set[int] = set()
        if not self._pid_of:
            return exited
        # Every one that is ready in one call (the default stops at FD_SETSIZE - 1).
        for fd, _ in epoll.poll(0, len(self._pid_of)):
            pid = self._pid_of.get(fd)
            if pid is not None:
                del self._fd_of[pid]
                self._close(fd)
                exited.add(pid)
        self._exited |= exited
        return exited

    def _close(self, fd: int) -> None:
        self._pid_of.pop(fd, None)
        if self._epoll is not None:
            self._epoll.unregister(fd)
        os.close(fd)

    def _looked_up(self, pids: Collection[int]) -> set[int]:
        """One stat costs about three listed entries: list /proc only for many pids."""
        if len(pids) * 3 >= self._listed:
            listed = live_pids(self.proc)
            self._listed = len(listed)
            return listed.intersection(pids)
        return {pid for pid in pids if os.path.exists(os.path.join(self.proc, str(pid)))}


def _raise_descriptor_limit() -> int:
    """Raise the soft descriptor limit towards WANTED_DESCRIPTORS, within the
    hard one (one pidfd per process followed); return the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return WANTED_DESCRIPTORS
    want = WANTED_DESCRIPTORS if hard == resource.RLIM_INFINITY else min(hard, WANTED_DESCRIPTORS)
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (OSError, ValueError):
            pass
    return soft


class RowLiveness:
    """Whether each owner row's process is alive, asking Liveness as little as
    it can: a row is asked about when it first holds its owner (a new serial),
    and after that changes only when its pid is reported exited. A row whose
    pid is not followed (no pidfd: a /proc without them, descriptors ran out)
    is asked about every poll; a row found dead stays dead (a pid taken over by
    a newcomer is the caller's to split off, as the owner it was is gone)."""

    def __init__(self, liveness: Liveness) -> None:
        self.liveness = liveness
        self._serial = np.zeros(0, dtype=np.int64)  # the owner each row was asked about
        self._alive = np.zeros(0, dtype=bool)
        self._settled = np.zeros(0, dtype=bool)  # dead, or alive and followed

    def alive(
        self,
        tgids: npt.NDArray[np.integer],
        serials: npt.NDArray[np.int64],
        live: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.bool_]:
        """Per row (owner rows `live`, holding `tgids[i]` under `serials[i]`):
        its process is alive now. Rows with no process (tgid 0) are not."""
        n = len(tgids)
        if len(self._serial) < n:
            grow = n - len(self._serial)
            self._serial = np.concatenate([self._serial, np.zeros(grow, dtype=np.int64)])
            self._alive = np.concatenate([self._alive, np.zeros(grow, dtype=bool)])
            self._settled = np.concatenate([self._settled, np.zeros(grow, dtype=bool)])
        serial, alive, settled = self._serial[:n], self._alive[:n], self._settled[:n]
        if self.liveness.reports_exits:
            ask = live & ((serial != serials) | ~settled)
        else:  # no exits will be told: every row is asked every poll
            ask = live.copy()
        asked = np.flatnonzero(ask)
        # Exits first, to the rows not asked now: a row asked now gets a fresh
        # answer (and a pid exited and taken over since is a newcomer to it).
        exited = self.liveness.take_exited()
        if exited:
            gone = np.isin(tgids, np.fromiter(exited, dtype=np.int64, count=len(exited)))
            gone &= ~ask
            alive[gone] = False
            settled[gone] = True
        if len(asked):
            pids = tgids[asked].tolist()
            found = self.liveness.alive_among(set(pids))
            now = np.fromiter((p in found for p in pids), dtype=bool, count=len(pids))
            followed = np.fromiter(map(self.liveness.follows, pids), dtype=bool, count=len(pids))
            alive[asked] = now
            settled[asked] = ~now | followed
            serial[asked] = serials[asked]
        return alive & live
