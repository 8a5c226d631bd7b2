"""Residence readers: where a process's, a cgroup's and a node's memory lives now.

Processes: from the numa_maps regions the policy engine already reads (one read
serves both), each region's pages per node weighted by its `kernelpagesize_kB`
and split by kind (`region_split`). Cgroups: `memory.numa_stat`, which the
kernel keeps per node without walking page tables (v2: bytes; v1: pages).
Nodes: `nodeN/meminfo` and the hugetlb pools (collectors/node_memory.py).

Every reader takes its root folder so tests run on fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from numascope.collectors.node_memory import read_node_memory
from numascope.snapshot.residence import NodeResidence, ResidentBytes

if TYPE_CHECKING:
    from numascope.collectors.mempolicy import Region

# Files whose pages are shared memory (tmpfs, SYSV, memfd, shared anonymous
# mappings, which the kernel backs with a /dev/zero shmem file), as numa_maps
# prints them (a space is printed as \040).
_SHMEM_PREFIXES = ("/dev/shm/", "/SYSV", "/memfd:", "/dev/zero")


def region_split(region: Region) -> tuple[str, str]:
    """The kinds of a region's anonymous part and of the rest of its pages.

    Anonymous pages (numa_maps' `anon=`) are `anon`, the rest `file`, except:
    pages more than one process maps (`mapmax=` above 1) are `shared`; the
    non-anonymous pages of shmem objects and of hugetlbfs (`huge`) are `shared`;
    the non-anonymous pages of a mapping without a file are `anon`.
    """
    mapmax = region.attributes.get("mapmax", "")
    if mapmax.isdigit() and int(mapmax) > 1:
        return "shared", "shared"
    file = region.file
    if file is None:
        return "anon", "anon"
    if "huge" in region.attributes or file.startswith(_SHMEM_PREFIXES):
        return "anon", "shared"
    return "anon", "file"


def resident_bytes(regions: Iterable[Region]) -> ResidentBytes:
    """Bytes per node and kind over a process's regions.

    numa_maps counts a region's anonymous pages (`anon=`) but not per node, so
    a region holding both kinds splits each node's pages in that proportion.
    """
    sums: dict[str, dict[int, int]] = {"anon": {}, "file": {}, "shared": {}}
    for region in regions:
        total = region.pages
        if not total:
            continue
        anon_text = region.attributes.get("anon", "0")
        anon = min(int(anon_text), total) if anon_text.isdigit() else 0
        anon_kind, rest_kind = region_split(region)
        size = region.page_bytes
        for node, pages in region.pages_by_node.items():
            anon_pages = pages * anon // total
            for kind, n in ((anon_kind, anon_pages), (rest_kind, pages - anon_pages)):
                if n:
                    into = sums[kind]
                    into[node] = into.get(node, 0) + n * size
    return ResidentBytes(sums["anon"], sums["file"], sums["shared"])


def parse_numa_stat(text: str, page_size: int) -> ResidentBytes:
    """A cgroup's `memory.numa_stat`, v2 or v1, as bytes per node and kind.

    v2 (`anon N0=bytes ...`): `anon` is anon, `shmem` shared, `file` less
    `shmem` file (the kernel's file count includes shmem). v1
    (`hierarchical_anon=pages N0=pages ...`, else the cgroup's own `anon=`):
    LRU lists, in pages; shmem sits on the anon list there, so v1 shows it as
    anon and `shared` stays empty.
    """
    rows: dict[str, dict[int, int]] = {}
    v1 = False
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        name = words[0]
        if "=" in name:  # v1: "name=total N0=..."
            v1 = True
            name = name.partition("=")[0]
        by_node: dict[int, int] = {}
        for word in words[1:]:
            key, sep, value = word.partition("=")
            if sep and key.startswith("N") and key[1:].isdigit() and value.isdigit():
                by_node[int(key[1:])] = int(value)
        rows[name] = by_node
    if v1:
        anon = rows.get("hierarchical_anon", rows.get("anon", {}))
        file = rows.get("hierarchical_file", rows.get("file", {}))
        return ResidentBytes(
            {n: p * page_size for n, p in anon.items() if p},
            {n: p * page_size for n, p in file.items() if p},
            {},
        )
    shmem = rows.get("shmem", {})
    file_only = {n: b - shmem.get(n, 0) for n, b in rows.get("file", {}).items()}
    return ResidentBytes(
        {n: b for n, b in rows.get("anon", {}).items() if b},
        {n: b for n, b in file_only.items() if b > 0},
        {n: b for n, b in shmem.items() if b},
    )


def numa_stat_path(cgroup: str, cgroup_root: Path) -> Path | None:
    """The memory.numa_stat file of a cgroup path: the v2 hierarchy's (mounted at
    the root, or at `unified` on a hybrid host), else the v1 memory controller's
    at the same path. None when neither has one."""
    relative = cgroup.lstrip("/")
    for hierarchy in ("", "unified", "memory"):
        path = cgroup_root / hierarchy / relative / "memory.numa_stat"
        if path.is_file():
            return path
    return None


def read_cgroup_residence(
    cgroup: str, *, cgroup_root: Path = Path("/sys/fs/cgroup"), page_size: int | None = None
) -> ResidentBytes | None:
    """Where a cgroup's memory lives; None when no hierarchy has its numa_stat."""
    path = numa_stat_path(cgroup, cgroup_root)
    if path is None:
        return None
    try:
        text = path.read_text()
    except OSError:
        return None  # removed between the lookup and the read
    return parse_numa_stat(text, page_size or os.sysconf("SC_PAGE_SIZE"))


def read_node_residence(
    node_ids: tuple[int, ...], *, sysfs: Path = Path("/sys")
) -> tuple[NodeResidence, ...]:
    """Each node's memory by kind; `file_bytes` leaves shmem out (FilePages counts it)."""
    # Watermarks are not residence: an empty map spares the zoneinfo read.
    memory = read_node_memory(node_ids, sysfs=sysfs, watermarks={}, page_size=1)
    return tuple(
        NodeResidence(
            node=node,
            anon_bytes=m.anon_bytes,
            file_bytes=max(0, m.file_bytes - m.shmem_bytes),
            shmem_bytes=m.shmem_bytes,
            hugetlb_bytes=m.hugetlb_bytes,
            hugetlb_free_bytes=m.hugetlb_free_bytes,
        )
        for node, m in sorted(memory.items())
    )
