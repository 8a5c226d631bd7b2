"""The guest topologies the multi-node tests boot, and which guest test runs where.

One table serves both sides: the host turns an entry into `vng` options, and a
guest test reads the entry of the guest it runs in (NUMASCOPE_GUEST_TOPOLOGY) to
know what the kernel should show, e.g. the distance matrix it was booted with.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pytest

TOPOLOGY_ENV = "NUMASCOPE_GUEST_TOPOLOGY"
RESULTS_ENV = "NUMASCOPE_GUEST_DIR"
# Where the host put the guest scenarios' C workloads, compiled (tests/vm/guest_runner.py).
HELPERS_ENV = "NUMASCOPE_GUEST_HELPERS"

# The distance the kernel assumes between two nodes the firmware says nothing about.
DEFAULT_REMOTE_DISTANCE = 20
LOCAL_DISTANCE = 10


@dataclass(frozen=True)
class GuestNode:
    memory: str  # qemu size syntax: "1G", "768M"
    cpus: tuple[int, ...] = ()


@dataclass(frozen=True)
class GuestTopology:
    name: str
    summary: str
    nodes: tuple[GuestNode, ...]
    memory: str
    # (a, b) with a < b; qemu fills in (b, a). Pairs left out keep the default.
    distances: Mapping[tuple[int, int], int] = field(default_factory=dict)
    qemu_opts: str = ""  # extra devices, e.g. a PCI device placed on a node
    # Room for memory plugged in at run time (qemu's -m slots/maxmem; the host
    # plugs it in through QMP when a guest test asks: tests/vm/host_requests.py).
    memory_slots: int = 0
    max_memory: str = ""
    # Whether guest tests that name no topology run here too.
    runs_unmarked: bool = True
    # Added to the guest kernel's command line (e.g. a memmap= pmem region).
    append: str = ""

    @property
    def cpus(self) -> int:
        return sum(len(n.cpus) for n in self.nodes)

    @property
    def node_ids(self) -> tuple[int, ...]:
        return tuple(range(len(self.nodes)))

    @property
    def cpuless_nodes(self) -> tuple[int, ...]:
        return tuple(i for i, n in enumerate(self.nodes) if not n.cpus)

    def distance(self, a: int, b: int) -> int:
        if a == b:
            return LOCAL_DISTANCE
        return self.distances.get((min(a, b), max(a, b)), DEFAULT_REMOTE_DISTANCE)

    def vng_args(self) -> list[str]:
        args = ["--cpus", str(self.cpus), "--memory", self.memory]
        for node in self.nodes:
            spec = node.memory
            if node.cpus:
                spec += f",cpus={node.cpus[0]}-{node.cpus[-1]}"
            args += ["--numa", spec]
        for (a, b), value in sorted(self.distances.items()):
            args += ["--numa-distance", f"{a},{b}={value}"]
        if self.qemu_opts:
            args.append(f"--qemu-opts={self.qemu_opts}")
        if self.append:
            args += ["--append", self.append]
        if self.max_memory:  # qemu merges this -m with vng's own
            args.append(
                f"--qemu-opts=-m {self.memory},slots={self.memory_slots},maxmem={self.max_memory}"
            )
        return args


# A PCI device on node 1 (virtio-rng behind an expander bridge with numa_node=1),
# so interrupt scenarios have a device whose node is known; reading /dev/hwrng
# makes it interrupt.
NODE1_RNG = (
    "-device pxb-pcie,id=pxb1,bus_nr=10,numa_node=1,bus=pcie.0 "
    "-device pcie-root-port,id=rp1,bus=pxb1,chassis=9 "
    "-device virtio-rng-pci,bus=rp1"
)

TWO_NODE = GuestTopology(
    name="two_node",
    summary="2 nodes, one CPU and 1 GiB each; a virtio-rng PCI device on node 1",
    nodes=(GuestNode("1G", (0,)), GuestNode("1G", (1,))),
    memory="2G",
    qemu_opts=NODE1_RNG,
)

# Node 2 has memory and no CPU, like CXL-attached memory. The distances are not
# qemu's default (20 everywhere) so a reader that ignored them would be caught.
THREE_NODE = GuestTopology(
    name="three_node",
    summary="3 nodes: two with a CPU, one memory-only; distances 0-1 21, 0-2 31, 1-2 41",
    nodes=(GuestNode("768M", (0,)), GuestNode("768M", (1,)), GuestNode("512M")),
    memory="2G",
    distances={(0, 1): 21, (0, 2): 31, (1, 2): 41},
)

# two_node's nodes with room for 1 GiB more: memory is plugged into node 1 while
# numascope runs. A topology of its own, because the new memory stays for the rest
# of the boot and every other scenario expects the nodes the guest booted with.
HOTPLUG = GuestTopology(
    name="hotplug",
    summary="2 nodes, one CPU and 1 GiB each, room for 1 GiB of DIMMs plugged in at run time",
    nodes=(GuestNode("1G", (0,)), GuestNode("1G", (1,))),
    memory="2G",
    memory_slots=2,
    max_memory="3G",
    runs_unmarked=False,
)

# Node 1's memory is reserved at boot as a legacy pmem region (memmap=), so the
# node comes up empty; a guest test onlines it through dax/kmem (ndctl, daxctl),
# which puts it in a lower memory tier than the DRAM nodes: a CPU-less slow tier
# that reclaim can demote to. Node 1 sits in the middle of the address space so
# the region is not cut by the ACPI tables at the top of low memory.
TIERED = GuestTopology(
    name="tiered",
    summary="3 nodes: DRAM with a CPU (0, 2) and 512 MiB of emulated pmem as a lower tier (1)",
    nodes=(GuestNode("768M", (0,)), GuestNode("512M"), GuestNode("768M", (1,))),
    memory="2G",
    append="memmap=512M!768M",
    runs_unmarked=False,
)

TOPOLOGIES: dict[str, GuestTopology] = {t.name: t for t in (TWO_NODE, THREE_NODE, HOTPLUG, TIERED)}


def current_topology() -> GuestTopology | None:
    """The topology of the guest this process runs in, or None on the host."""
    name = os.environ.get(TOPOLOGY_ENV)
    return TOPOLOGIES.get(name) if name else None


def topologies_of(marks: Iterable[pytest.Mark]) -> tuple[str, ...]:
    """Topologies a guest test asked for with @pytest.mark.topologies(...); if none, all
    but those that run only the tests naming them."""
    for mark in marks:
        if mark.name == "topologies":
            unknown = [a for a in mark.args if a not in TOPOLOGIES]
            if unknown:
                raise ValueError(f"unknown topology {unknown}; known: {sorted(TOPOLOGIES)}")
            return tuple(mark.args)
    return tuple(name for name, t in TOPOLOGIES.items() if t.runs_unmarked)
