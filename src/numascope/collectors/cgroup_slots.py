"""A slot per cgroup path, and the cgroup slot of each owner row."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from numascope.collectors.names import CgroupResolver
from numascope.collectors.owner_table import OwnerTable
from numascope.collectors.pod_identity import pod_identity
from numascope.collectors.row_slots import RowSlots
from numascope.snapshot.model import PodIdentity


class CgroupSlots:
    """Cgroup paths by slot (a path's slot never changes), found from the ids the
    kernel records; a row's cgroup is part of its owner, so it is kept per row."""

    def __init__(self, resolver: CgroupResolver) -> None:
        self.resolver = resolver
        self.paths: list[str] = []
        # The pod each slot's path names (None: not in a kubepods tree), worked out
        # once per path.
        self.pods: list[PodIdentity | None] = []
        self._slot: dict[str, int] = {}
        self._rows = RowSlots()

    def of_rows(
        self, table: OwnerTable, rows: npt.NDArray[np.intp], now: float
    ) -> npt.NDArray[np.intp]:
        """The cgroup slot of each of `rows` (-1: no cgroup).

        A row's cgroup is part of its owner, so it is looked up once per owner
        (a new serial): one path look-up per cgroup among those. A cgroup not
        found under the hierarchy yet is looked up again next poll."""
        stale = rows[self._rows.stale(table, rows)]
        if len(stale):
            ids, of_row = np.unique(table.columns["cgroup_id"][stale], return_inverse=True)
            slots = np.full(len(ids), -1, dtype=np.intp)
            found = np.ones(len(ids), dtype=bool)
            for j, cg in enumerate(ids.tolist()):
                if cg:
                    path = self.resolver.path(cg, now)
                    found[j] = path is not None
                    path = path or f"id:{cg}"
                    slot = self._slot.get(path)
                    if slot is None:
                        slot = self._slot[path] = len(self.paths)
                        self.paths.append(path)
                        self.pods.append(pod_identity(path))
                    slots[j] = slot
            of_row = of_row.reshape(-1)
            serials = np.where(found[of_row], table.serials[stale], 0)
            self._rows.keep(stale, slots[of_row], serials)
        return self._rows.slots[rows]
