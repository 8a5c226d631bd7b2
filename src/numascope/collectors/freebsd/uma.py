"""UMA zone allocations as the slab caches of the snapshot's allocator section.

A UMA zone plays the part of a Linux slab cache: allocations are counted per
zone and asking CPU's domain, by the domain requested (-1: UMA chooses, as
NUMA_NO_NODE lets SLUB choose). Only the busiest zones are kept, as Linux
keeps its busiest caches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from numascope.snapshot.sections import Count, SlabCache

BUSIEST_ZONES = 20

# (zone, cpu domain) -> [objects, any domain, local requested, remote requested]
_Totals = dict[tuple[str, int], list[int]]


@dataclass
class UmaZones:
    """Running totals of UMA allocations; `update` returns the busiest zones."""

    limit: int = BUSIEST_ZONES
    _totals: _Totals = field(default_factory=dict, init=False)

    def update(self, rows: Mapping[tuple[int | str, ...], int]) -> tuple[SlabCache, ...]:
        deltas: _Totals = {}
        for (cpu_dom, wanted, zone), n in rows.items():
            assert isinstance(cpu_dom, int) and isinstance(wanted, int)
            d = deltas.setdefault((str(zone), cpu_dom), [0, 0, 0, 0])
            d[0] += n
            d[1 if wanted < 0 else 2 if wanted == cpu_dom else 3] += n
        for key, d in deltas.items():
            t = self._totals.setdefault(key, [0, 0, 0, 0])
            for i, v in enumerate(d):
                t[i] += v
        busiest = sorted(self._totals, key=lambda k: self._totals[k][0], reverse=True)
        out = []
        for key in busiest[: self.limit]:
            t, d = self._totals[key], deltas.get(key, [0, 0, 0, 0])
            counts = [Count(total=t[i], delta=d[i]) for i in range(4)]
            out.append(SlabCache(key[0], key[1], *counts))
        return tuple(out)
