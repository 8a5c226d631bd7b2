"""Per-node memory state: free, file, anon and shmem memory, hugetlb pools, and the
reclaim watermarks.

`nodeN/meminfo` gives the node's free, file-backed (FilePages, which includes
Shmem), anonymous and shmem memory; `nodeN/hugepages/hugepages-SIZEkB` the
node's hugetlb pools of each page size (meminfo's HugePages_* count only the
default size);
`/proc/zoneinfo` gives each zone's min/low/high watermarks (in pages), summed
here per node. kswapd wakes when a zone's free pages fall below low and sleeps
again above high; allocations below min stall in direct reclaim.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


def system_page_size() -> int:
    """The kernel's page size: 4 KiB on x86-64, 16 or 64 KiB on some arm64 and
    ppc64 kernels. zoneinfo counts watermarks in these pages."""
    return os.sysconf("SC_PAGE_SIZE")


_MEMINFO_RE = re.compile(r"^Node\s+\d+\s+([^:]+):\s+(\d+)(?:\s+kB)?\s*$")
_ZONE_RE = re.compile(r"^Node\s+(\d+),\s+zone\s+\S+")
_WATERMARK_RE = re.compile(r"^\s+(min|low|high)\s+(\d+)\s*$")


@dataclass(frozen=True)
class NodeMemory:
    free_bytes: int = 0
    file_bytes: int = 0
    anon_bytes: int = 0
    shmem_bytes: int = 0
    # Every hugetlb page size's pool on the node: pages times their size.
    hugetlb_bytes: int = 0
    hugetlb_free_bytes: int = 0
    watermark_min_bytes: int = 0
    watermark_low_bytes: int = 0
    watermark_high_bytes: int = 0


def parse_node_meminfo(text: str) -> dict[str, int]:
    """`Node 0 MemFree:  123 kB` lines to {"MemFree": 123 * 1024, ...} (bytes)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        m = _MEMINFO_RE.match(line)
        if m:
            value = int(m.group(2))
            out[m.group(1)] = value * 1024 if line.rstrip().endswith("kB") else value
    return out


def parse_zoneinfo_watermarks(text: str) -> dict[int, tuple[int, int, int]]:
    """Per node, (min, low, high) watermarks in pages summed over its zones.

    Only the three lines right under a zone's "pages free" count; the same
    words appear later in a zone's per-CPU section with other meanings.
    """
    out: dict[int, list[int]] = {}
    node = -1
    for line in text.splitlines():
        zone = _ZONE_RE.match(line)
        if zone:
            node = int(zone.group(1))
            out.setdefault(node, [0, 0, 0])
            continue
        m = _WATERMARK_RE.match(line)
        if m and node >= 0:
            out[node][("min", "low", "high").index(m.group(1))] += int(m.group(2))
            if m.group(1) == "high":
                node = -1  # the rest of this zone's block is not watermarks
    return {n: (v[0], v[1], v[2]) for n, v in out.items()}


def read_hugetlb_pools(node_dir: Path) -> tuple[int, int]:
    """(total, free) bytes of a node's hugetlb pools over every page size; (0, 0)
    when the kernel has no hugetlb or the folder is unreadable."""
    total = free = 0
    try:
        pools = list((node_dir / "hugepages").iterdir())
    except OSError:
        return 0, 0
    for pool in pools:
        size = pool.name.removeprefix("hugepages-").removesuffix("kB")
        if not size.isdigit():
            continue
        try:
            count = int((pool / "nr_hugepages").read_text())
            unused = int((pool / "free_hugepages").read_text())
        except (OSError, ValueError):
            continue
        total += count * int(size) * 1024
        free += unused * int(size) * 1024
    return total, free


def read_watermarks(proc: Path = Path("/proc")) -> dict[int, tuple[int, int, int]]:
    """Per node, (min, low, high) watermarks in pages; none if unreadable."""
    try:
        return parse_zoneinfo_watermarks((proc / "zoneinfo").read_text())
    except OSError:
        return {}


def read_node_memory(
    node_ids: tuple[int, ...],
    *,
    sysfs: Path = Path("/sys"),
    proc: Path = Path("/proc"),
    page_size: int | None = None,
    watermarks: dict[int, tuple[int, int, int]] | None = None,
) -> dict[int, NodeMemory]:
    """Memory state of each node; unreadable files give zeros, not errors.
    `watermarks` (read_watermarks) are read from /proc/zoneinfo if not given;
    `page_size` is the running kernel's unless given (a fixture of another kernel's)."""
    if page_size is None:
        page_size = system_page_size()
    if watermarks is None:
        watermarks = read_watermarks(proc)
    out = {}
    for node in node_ids:
        node_dir = sysfs / "devices/system/node" / f"node{node}"
        try:
            info = parse_node_meminfo((node_dir / "meminfo").read_text())
        except OSError:
            info = {}
        huge_total, huge_free = read_hugetlb_pools(node_dir)
        wmin, wlow, whigh = watermarks.get(node, (0, 0, 0))
        out[node] = NodeMemory(
            free_bytes=info.get("MemFree", 0),
            file_bytes=info.get("FilePages", 0),
            anon_bytes=info.get("AnonPages", 0),
            shmem_bytes=info.get("Shmem", 0),
            hugetlb_bytes=huge_total,
            hugetlb_free_bytes=huge_free,
            watermark_min_bytes=wmin * page_size,
            watermark_low_bytes=wlow * page_size,
            watermark_high_bytes=whigh * page_size,
        )
    return out
