"""NUMA topology from sysfs: nodes, their CPUs, distances, memory and pfn ranges.

Every reader takes the sysfs root as a parameter so tests run on fixture trees.
The pfn ranges are what the page-allocation probe compiles in: the tracepoint
gives a pfn but no node, and memory blocks say which node owns which pfns.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from numascope.errors import NumascopeError

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class PfnRange:
    """Page frames [start, end) that belong to `node`."""

    start: int
    end: int
    node: int


@dataclass(frozen=True)
class Node:
    id: int
    cpus: tuple[int, ...]
    distances: Mapping[int, int]
    mem_total_bytes: int
    mem_free_bytes: int
    has_memory: bool

    @property
    def cpuless(self) -> bool:
        """A node with memory and no CPU (CXL memory, or a memory-only socket)."""
        return not self.cpus


@dataclass(frozen=True)
class Topology:
    nodes: tuple[Node, ...]
    online: tuple[int, ...]
    possible: tuple[int, ...]
    pfn_ranges: tuple[PfnRange, ...]
    block_size_bytes: int
    page_size: int = PAGE_SIZE
    cpu_node: Mapping[int, int] = field(default_factory=dict)

    @property
    def node_ids(self) -> tuple[int, ...]:
        return tuple(n.id for n in self.nodes)

    def node(self, node_id: int) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def node_of_cpu(self, cpu: int) -> int:
        """The node of a CPU; CPUs sysfs lists under no node count as node 0."""
        return self.cpu_node.get(cpu, 0)

    def node_of_pfn(self, pfn: int) -> int | None:
        """Python twin of the probe's compiled lookup (used by tests and fallbacks)."""
        for r in self.pfn_ranges:
            if r.start <= pfn < r.end:
                return r.node
        return None

    def distance(self, a: int, b: int) -> int:
        return self.node(a).distances.get(b, 0)


def parse_list(text: str) -> tuple[int, ...]:
    """Parse a kernel cpu/node list such as "0-3,8,10-11" (empty for "")."""
    out: list[int] = []
    text = text.strip()
    if not text:
        return ()
    for part in text.split(","):
        lo, sep, hi = part.partition("-")
        try:
            if sep:
                out.extend(range(int(lo), int(hi) + 1))
            else:
                out.append(int(lo))
        except ValueError:
            raise NumascopeError(f"not a kernel list: {text!r}") from None
    return tuple(out)


def format_list(ids: Iterable[int]) -> str:
    """The kernel's cpu/node list syntax, parse_list's inverse: (0, 1, 2, 5) -> "0-2,5"."""
    runs: list[list[int]] = []
    for i in sorted(set(ids)):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in runs)


def _read(path: Path, default: str | None = None) -> str:
    try:
        return path.read_text()
    except OSError:
        if default is not None:
            return default
        raise NumascopeError(f"{path}: cannot read it; is sysfs mounted?") from None


def _meminfo_kb(text: str, key: str) -> int:
    # Lines look like "Node 0 MemTotal:        5073100 kB".
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] == f"{key}:":
            return int(parts[3])
    return 0


def _merge(ranges: list[PfnRange]) -> tuple[PfnRange, ...]:
    merged: list[PfnRange] = []
    for r in sorted(ranges, key=lambda r: r.start):
        last = merged[-1] if merged else None
        if last and last.node == r.node and last.end == r.start:
            merged[-1] = PfnRange(last.start, r.end, r.node)
        else:
            merged.append(r)
    return tuple(merged)


def read_topology(sysfs: str | Path = "/sys") -> Topology:
    """Read the NUMA topology under `sysfs` (normally /sys)."""
    root = Path(sysfs)
    node_dir = root / "devices/system/node"
    memory_dir = root / "devices/system/memory"
    if not node_dir.is_dir():
        # A kernel built without NUMA still has one node, node 0, owning everything.
        return _single_node_fallback(root)
    online = parse_list(_read(node_dir / "online"))
    possible = parse_list(_read(node_dir / "possible", _read(node_dir / "online")))
    with_memory = set(parse_list(_read(node_dir / "has_memory", "")))
    block_size = int(_read(memory_dir / "block_size_bytes", "8000000").strip(), 16)
    pages_per_block = block_size // PAGE_SIZE
    nodes: list[Node] = []
    ranges: list[PfnRange] = []
    cpu_node: dict[int, int] = {}
    for node_id in online:
        d = node_dir / f"node{node_id}"
        cpus = parse_list(_read(d / "cpulist", ""))
        for cpu in cpus:
            cpu_node[cpu] = node_id
        raw_distances = _read(d / "distance", "").split()
        distances = {other: int(value) for other, value in zip(online, raw_distances, strict=False)}
        meminfo = _read(d / "meminfo", "")
        nodes.append(
            Node(
                id=node_id,
                cpus=cpus,
                distances=distances,
                mem_total_bytes=_meminfo_kb(meminfo, "MemTotal") * 1024,
                mem_free_bytes=_meminfo_kb(meminfo, "MemFree") * 1024,
                has_memory=node_id in with_memory if with_memory else True,
            )
        )
        for entry in d.iterdir() if d.is_dir() else ():
            name = entry.name
            if name.startswith("memory") and name[6:].isdigit():
                block = int(name[6:])
                start = block * pages_per_block
                ranges.append(PfnRange(start, start + pages_per_block, node_id))
    return Topology(
        nodes=tuple(nodes),
        online=online,
        possible=possible,
        pfn_ranges=_merge(ranges),
        block_size_bytes=block_size,
        cpu_node=cpu_node,
    )


def _single_node_fallback(root: Path) -> Topology:
    cpus = parse_list(_read(root / "devices/system/cpu/online", "0"))
    node = Node(0, cpus, {0: 10}, 0, 0, True)
    return Topology(
        nodes=(node,),
        online=(0,),
        possible=(0,),
        pfn_ranges=(),
        block_size_bytes=0,
        cpu_node=dict.fromkeys(cpus, 0),
    )
