"""What a capture file holds besides its snapshots: the facts of the host.

The header is everything a reader elsewhere needs to judge the snapshots
without the host: topology, kernel, NUMA sysctls, the kernel's counters before
and after, the policy in effect, and the identity of the top workloads and
interrupts. Every field has a default, so an older file (fewer fields) still
decodes and a newer minor version (more fields) is read without its extras.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from numascope.snapshot.model import Snapshot
from numascope.topology import Topology

FORMAT_NAME = "numascope-capture"
# MAJOR.MINOR: a reader reads every minor version of its major; a new major
# means old readers would misread the file, so they refuse it.
# 1.1: workloads carry `pod` (pod UID, container id, QoS) when their cgroup is
# a Kubernetes pod's; a 1.0 file gets them from its cgroup paths when read.
FORMAT_VERSION = "1.1"


@dataclass(frozen=True)
class ProcessFacts:
    """One top workload as procfs showed it during the capture."""

    pid: int
    comm: str = ""
    cmdline: tuple[str, ...] = ()
    exe: str | None = None
    user: str | None = None
    cgroup: str | None = None
    cpuset: str | None = None
    cpus_allowed: tuple[int, ...] = ()
    mems_allowed: tuple[int, ...] = ()
    # The numa_maps summary: the policy over most resident bytes, and per policy
    # how many mappings and resident bytes it governs (pages weighted by their
    # size). Captures written before bytes carried pages_by_policy and
    # resident_pages_by_node, counting a huge page as one: they are not read.
    dominant_policy: str = "default"
    regions_by_policy: Mapping[str, int] = field(default_factory=dict)
    bytes_by_policy: Mapping[str, int] = field(default_factory=dict)
    resident_bytes_by_node: Mapping[int, int] = field(default_factory=dict)
    read_at_seq: int = 0


@dataclass(frozen=True)
class IrqFacts:
    """One interrupt: where it may run and which node its device sits on."""

    irq: int
    name: str = ""
    description: str = ""
    affinity: tuple[int, ...] = ()
    effective_affinity: tuple[int, ...] = ()
    node: int = -1


@dataclass(frozen=True)
class DeviceFacts:
    """A PCI device and its NUMA node (-1: the firmware did not say)."""

    address: str
    node: int = -1
    driver: str = ""
    device_class: str = ""


@dataclass(frozen=True)
class CaptureHeader:
    """The first record of a capture file."""

    numascope_version: str = ""
    created: float = 0.0
    host: str = ""
    kernel: str = ""
    kernel_version: str = ""
    machine: str = ""
    kernel_cmdline: str = ""
    source: str = ""
    interval: float = 0.0
    duration_requested: float = 0.0
    redacted: bool = False
    topology: Topology | None = None
    sysctls: Mapping[str, str] = field(default_factory=dict)
    numastat_before: Mapping[int, Mapping[str, int]] = field(default_factory=dict)
    numastat_after: Mapping[int, Mapping[str, int]] = field(default_factory=dict)
    vmstat_before: Mapping[str, int] = field(default_factory=dict)
    vmstat_after: Mapping[str, int] = field(default_factory=dict)
    policy_path: str | None = None
    policy: Mapping[str, object] = field(default_factory=dict)
    workloads: tuple[ProcessFacts, ...] = ()
    irqs: tuple[IrqFacts, ...] = ()
    devices: tuple[DeviceFacts, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaptureTrailer:
    """The last record: proof the file is whole, and why the capture ended."""

    snapshots: int = 0
    ended: float = 0.0
    reason: str = "duration"


@dataclass(frozen=True)
class Capture:
    """A whole capture file, read back."""

    path: str
    version: str
    header: CaptureHeader
    snapshots: tuple[Snapshot, ...]
    trailer: CaptureTrailer

    @property
    def findings_seen(self) -> int:
        return sum(len(s.findings) for s in self.snapshots)
