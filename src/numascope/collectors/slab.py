"""Slab caches per CPU node: objects by the node the caller requested.

The `slab` map is per-CPU and cumulative; the CPU's node comes from the CPU's
index. Caches are ranked by objects allocated in the last interval and only the
top ones are reported, so the section stays bounded however many call sites the
kernel has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from numascope.collectors.counts import CountTracker
from numascope.collectors.maps import MapTables
from numascope.snapshot.sections import SlabCache

TOP_CACHES = 20
KIND_KMALLOC = 0


def cache_name(kind: int, size: int, raw_name: bytes) -> str:
    name = raw_name.split(b"\0", 1)[0].decode(errors="backslashreplace")
    if kind == KIND_KMALLOC or not name:
        return f"kmalloc-{size}"
    return name


@dataclass
class SlabCollector:
    tables: MapTables
    node_ids: tuple[int, ...]
    cpu_node: Mapping[int, int]
    top: int = TOP_CACHES
    _counts: CountTracker = field(default_factory=CountTracker, init=False)

    def read(self) -> tuple[SlabCache, ...]:
        # (cache, cpu node) -> [objects, any, local, remote]
        sums: dict[tuple[str, int], list[int]] = {}

        def add(name: str, cpu: int, value: Any) -> None:
            node = self.cpu_node.get(cpu, 0)
            acc = sums.setdefault((name, node), [0, 0, 0, 0])
            acc[0] += int(value.objects)
            acc[1] += int(value.any_node)
            for slot, count in enumerate(value.requested):
                if not count:
                    continue
                requested = self.node_ids[slot] if slot < len(self.node_ids) else -1
                acc[2 if requested == node else 3] += int(count)

        for key, per_cpu in self.tables["slab"].items():
            for cpu, value in enumerate(per_cpu):
                if value.objects:
                    add(cache_name(int(key.kind), int(key.size), bytes(value.name)), cpu, value)
        for cpu, value in enumerate(self.tables["slab_overflow"][0]):
            if value.objects:
                add("other", cpu, value)
        caches = [
            SlabCache(
                cache=name,
                cpu_node=node,
                objects=self._counts.count((name, node, "objects"), acc[0]),
                any_node=self._counts.count((name, node, "any"), acc[1]),
                local_requested=self._counts.count((name, node, "local"), acc[2]),
                remote_requested=self._counts.count((name, node, "remote"), acc[3]),
            )
            for (name, node), acc in sums.items()
        ]
        caches.sort(key=lambda c: (c.objects.delta, c.objects.total), reverse=True)
        return tuple(caches[: self.top])
