"""FreeBSD NUMA topology from sysctl: domains, their CPUs, memory segments,
and the domain of each device.

Takes the sysctl values as a mapping (from `parse_sysctl_dump` over the output
of `sysctl vm.ndomains vm.phys_segs hw.pagesize dev`, or a recorded dump) so
it is testable anywhere. FreeBSD domains become the same `Node` objects Linux
nodes do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from numascope.errors import NumascopeError
from numascope.topology import Node, PfnRange, Topology

# A new entry starts with a dotted name and a colon; vm.phys_segs spans lines
# ("start:     0x1000") whose names have no dot, so they continue the value.
_ENTRY = re.compile(r"^([A-Za-z_][\w%-]*(?:\.[\w%-]+)+): ?(.*)$")
_SEGMENT = re.compile(
    r"SEGMENT (\d+):\s+start:\s+(0x[0-9a-fA-F]+)\s+end:\s+(0x[0-9a-fA-F]+)"
    r"\s+domain:\s+(-?\d+)"
)
_DEVICE = re.compile(r"^dev\.([A-Za-z_][\w-]*?)\.(\d+)\.%domain$")


@dataclass(frozen=True)
class FreebsdTopology:
    """The common Topology plus what only the FreeBSD backend needs."""

    topology: Topology
    seg_domain: Mapping[int, int] = field(default_factory=dict)
    device_domain: Mapping[str, int] = field(default_factory=dict)


def parse_sysctl_dump(text: str, where: str = "sysctl") -> dict[str, str]:
    """`name: value` lines (multi-line values joined with newlines)."""
    out: dict[str, str] = {}
    name: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = _ENTRY.match(line)
        if match:
            name = match.group(1)
            out[name] = match.group(2)
        elif name is not None:
            out[name] += "\n" + line
        elif line.strip():
            raise NumascopeError(f"{where}:{number}: not a 'name: value' line: {line[:60]!r}")
    return out


def _int(values: Mapping[str, str], name: str, default: int | None = None) -> int:
    raw = values.get(name)
    if raw is None:
        if default is None:
            raise NumascopeError(f"sysctl {name}: missing")
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise NumascopeError(f"sysctl {name}: not a number: {raw.strip()[:40]!r}") from None


def read_freebsd_topology(values: Mapping[str, str]) -> FreebsdTopology:
    """Domains from vm.ndomains, memory from vm.phys_segs, CPUs from dev.cpu.N.%domain."""
    ndomains = _int(values, "vm.ndomains", 1)
    page_size = _int(values, "hw.pagesize", 4096)
    seg_domain: dict[int, int] = {}
    mem: dict[int, int] = {}
    ranges: list[PfnRange] = []
    for seg, start, end, dom in _SEGMENT.findall(values.get("vm.phys_segs", "")):
        lo, hi, d = int(start, 16), int(end, 16), int(dom)
        seg_domain[int(seg)] = d
        mem[d] = mem.get(d, 0) + hi - lo
        ranges.append(PfnRange(lo // page_size, hi // page_size, d))
    cpu_node: dict[int, int] = {}
    device_domain: dict[str, int] = {}
    for name in values:
        match = _DEVICE.match(name)
        if not match:
            continue
        domain = _int(values, name)
        if match.group(1) == "cpu":
            cpu_node[int(match.group(2))] = domain
        else:
            device_domain[f"{match.group(1)}{match.group(2)}"] = domain
    ids = tuple(range(ndomains))
    nodes = tuple(
        Node(
            id=d,
            cpus=tuple(sorted(c for c, n in cpu_node.items() if n == d)),
            distances={},
            mem_total_bytes=mem.get(d, 0),
            mem_free_bytes=_int(values, f"vm.domain.{d}.stats.free_count", 0) * page_size,
            has_memory=mem.get(d, 0) > 0,
        )
        for d in ids
    )
    topology = Topology(
        nodes=nodes,
        online=ids,
        possible=ids,
        pfn_ranges=tuple(sorted(ranges, key=lambda r: r.start)),
        block_size_bytes=0,
        page_size=page_size,
        cpu_node=cpu_node,
    )
    return FreebsdTopology(topology, seg_domain, device_domain)
