"""The slab probe: objects per cache by requested node, per CPU (opt-in family).

What it measures (kept next to the C in slab.bpf.c):
  kmem:kmalloc            kmalloc objects, named by size ("kmalloc-192")
  kmem:kmem_cache_alloc   objects of named caches, by call site
Maps (read by numascope.collectors.slab): `slab` per-CPU hash
(site, size, kind) -> counts by requested node; `slab_overflow` when it is full.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from numascope.probes import bcc_loader
from numascope.probes.programs import LoadedFamily, Program, build_family_source, load_family
from numascope.probes.tracepoints import Tracepoint
from numascope.topology import Topology

NAME = "slab"
MAX_SLAB_KEYS = 4096

PROGRAMS = (
    Program(
        "on_kmalloc",
        Tracepoint("kmem", "kmalloc"),
        "kmalloc_args",
        ("bytes_alloc", "node"),
        consequence="no kmalloc objects per node",
    ),
    Program(
        "on_cache_alloc",
        Tracepoint("kmem", "kmem_cache_alloc"),
        "cache_alloc_args",
        ("call_site", "name", "bytes_alloc", "node"),
        consequence="no named slab caches per node",
    ),
)


def node_id_function(node_ids: tuple[int, ...]) -> str:
    """C for `node_id_slot(nid)`: node ids may be sparse; slots are dense."""
    cases = "".join(f"    case {n}: return {i};\n" for i, n in enumerate(node_ids))
    return (
        "static __always_inline u32 node_id_slot(int nid)\n{\n    switch (nid) {\n"
        f"{cases}    default: return {len(node_ids)};\n    }}\n}}"
    )


@dataclass
class SlabProbe:
    family: LoadedFamily
    node_ids: tuple[int, ...]


def attach_slab(
    topology: Topology,
    headers: str | None = None,
    tracefs: Path = bcc_loader.TRACEFS,
    absent: Collection[str] = (),
) -> SlabProbe:
    template = resources.files("numascope.probes").joinpath("slab.bpf.c").read_text()
    template = template.replace("NODE_ID_SLOT_FUNCTION", node_id_function(topology.node_ids))
    source = build_family_source(
        template,
        PROGRAMS,
        {"NODE_SLOTS": len(topology.node_ids) + 1, "MAX_SLAB_KEYS": MAX_SLAB_KEYS},
        tracefs,
        absent,
    )
    return SlabProbe(load_family(NAME, source, PROGRAMS, headers), topology.node_ids)
