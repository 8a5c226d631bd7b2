"""Rows of exited processes: folded away after a while, and split from a reused pid.

A host that spawns millions of processes must not grow numascope's memory, so
rows of processes that exited `retire_after` seconds ago, or beyond the
`max_exited` most recent, are folded into "[exited processes]" (the totals do
not change). A pid seen exited and alive again is a new process: the old
one's rows are folded before the new one's counts arrive.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from numascope.collectors.attribution import Attributor
from numascope.collectors.liveness import Liveness
from numascope.collectors.owner_table import CTX_TASK, OwnerKey, OwnerTable
from numascope.collectors.probe_families import OwnerLedger

# Rows of processes that exited this long ago are folded into "[exited processes]"
# so a host that spawns millions of processes does not grow numascope's memory.
RETIRE_AFTER_SECONDS = 300.0
# ... or sooner, oldest first, once more than this many exited processes have
# rows: a host spawning thousands of processes a second keeps memory flat.
MAX_EXITED_ROWS = 2048


class ExitedOwners:
    """When each exited tgid was first seen gone, and what retiring its rows forgets."""

    def __init__(
        self,
        attributor: Attributor,
        liveness: Liveness,
        *,
        retire_after: float = RETIRE_AFTER_SECONDS,
        max_exited: int = MAX_EXITED_ROWS,
    ) -> None:
        self.attributor = attributor
        self.liveness = liveness
        self.retire_after = retire_after
        self.max_exited = max_exited
        self.pid_reuses = 0
        self._dead_since: dict[int, float] = {}

    def split_reused_pids(self, ledger: OwnerLedger | None) -> None:
        """Fold the rows of pids seen exited at an earlier poll and alive now.

        Counts of the one interval in which the pid changed hands cannot be told
        apart (the kernel keys by tgid) and go to the newcomer."""
        reused = self._dead_since.keys() & self.liveness.alive_among(self._dead_since.keys())
        if not reused:
            return
        self.pid_reuses += len(reused)
        if ledger is not None:
            ledger.retire(k for k in ledger.owner_keys() if k.tgid in reused and k.kind == CTX_TASK)
        self._forget(reused)

    def retire(
        self,
        ledger: OwnerLedger | None,
        owners: OwnerTable,
        alive: npt.NDArray[np.bool_],
        now: float,
    ) -> None:
        """Retire the rows of processes exited `retire_after` ago (`alive`: by row)."""
        stale: list[OwnerKey] = []
        rows = owners.rows()
        every = len(rows) == len(owners.live)  # no free rows: the columns as they are
        cols = owners.columns if every else owners.columns[rows]
        task = (cols["context"] >> 16) == CTX_TASK
        living = alive if every else alive[rows]
        if self._dead_since:  # a set of every row's tgid costs 0.3 ms at 10,000 rows
            for tgid in self._dead_since.keys() & set(cols["tgid"][~task | living].tolist()):
                self._dead_since.pop(tgid, None)
        dead = [owners.keys[row] for row in rows[task & ~living].tolist()]
        for key in dead:
            since = self._dead_since.setdefault(key.tgid, now)
            if now - since >= self.retire_after:
                stale.append(key)
        excess = len({k.tgid for k in dead}) - self.max_exited
        if excess > 0:
            oldest = sorted({k.tgid for k in dead}, key=lambda t: self._dead_since[t])[:excess]
            chosen = set(oldest)
            already = set(stale)  # a set: with thousands of exited rows a list scan is quadratic
            stale.extend(k for k in dead if k.tgid in chosen and k not in already)
        if stale and ledger is not None:
            ledger.retire(stale)
            self._forget({k.tgid for k in stale})

    def _forget(self, tgids: set[int]) -> None:
        self.attributor.forget_pids(tgids)
        self.liveness.forget(tgids)
        for tgid in tgids:
            self._dead_since.pop(tgid, None)
