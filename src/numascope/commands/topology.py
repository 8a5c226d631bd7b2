"""`numascope topology`: the NUMA layout numascope sees."""

from __future__ import annotations

import argparse
import json
from typing import Any

from numascope.snapshot.codec import encode
from numascope.topology import Topology, read_topology


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("topology", help="show NUMA nodes, CPUs, memory and distances")
    parser.add_argument("--sysfs", default="/sys", help="sysfs root to read (default: /sys)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    topology = read_topology(args.sysfs)
    if args.json:
        print(json.dumps(encode(topology), indent=2))
    else:
        print(format_topology(topology))
    return 0


def format_topology(topology: Topology) -> str:
    ids = topology.node_ids
    lines = [f"{'node':>4}  {'cpus':<16} {'memory':>10} {'free':>10}  notes"]
    for node in topology.nodes:
        cpus = _compact(node.cpus) or "-"
        notes = "memory-only (no CPUs)" if node.cpuless else ""
        lines.append(
            f"{node.id:>4}  {cpus:<16} {_gib(node.mem_total_bytes):>10} "
            f"{_gib(node.mem_free_bytes):>10}  {notes}".rstrip()
        )
    lines.append("")
    lines.append("distances: " + " ".join(f"{i:>4}" for i in ids))
    for node in topology.nodes:
        row = " ".join(f"{node.distances.get(j, 0):>4}" for j in ids)
        lines.append(f"{node.id:>9}: {row}")
    lines.append("")
    possible = _compact(topology.possible)
    lines.append(f"online nodes: {_compact(topology.online)}; possible: {possible}")
    lines.append(
        f"pfn ranges: {len(topology.pfn_ranges)} "
        f"(memory blocks of {topology.block_size_bytes // 2**20} MiB)"
    )
    return "\n".join(lines)


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def _compact(values: tuple[int, ...]) -> str:
    """The kernel's list syntax: (0, 1, 2, 5) -> "0-2,5"."""
    parts: list[str] = []
    start = prev = None
    for v in sorted(values):
        if start is None:
            start = prev = v
        elif prev is not None and v == prev + 1:
            prev = v
        else:
            parts.append(f"{start}-{prev}" if start != prev else f"{start}")
            start = prev = v
    if start is not None:
        parts.append(f"{start}-{prev}" if start != prev else f"{start}")
    return ",".join(parts)
