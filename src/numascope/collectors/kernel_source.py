"""The source without probes: the kernel's own per-node counters.

Needs no privileges and attributes nothing to processes; `numascope` falls
back to it when the BPF probes cannot be attached.
"""

from __future__ import annotations

import platform
import socket
import time
from collections.abc import Mapping
from pathlib import Path

from numascope.collectors.balancing import BalancingCollector
from numascope.collectors.kernel_counters import KernelCounterCollector
from numascope.snapshot.model import Health, HostInfo, Locality, NodeStats, Snapshot
from numascope.topology import Topology


def host_info() -> HostInfo:
    """This host's name, kernel release and platform, as snapshots carry them."""
    return HostInfo(
        hostname=socket.gethostname(),
        kernel=platform.release(),
        platform=platform.system().lower(),
    )


class KernelCounterSource:
    """Per-node totals from numastat only: no processes, no privileges needed."""

    def __init__(
        self,
        topology: Topology,
        *,
        sysfs: Path = Path("/sys"),
        reason: str = "",
        fallback: str = "",
    ) -> None:
        self.topology = topology
        self.reason = reason  # why the BPF probes are not used, in words
        self.fallback = fallback  # its reason code (errors.reason_of) when this is a fallback
        self.kernel = KernelCounterCollector(topology.node_ids, sysfs=sysfs)
        self.balancing = BalancingCollector(
            topology.node_ids, [n.id for n in topology.nodes if n.cpuless], sysfs=sysfs
        )
        self._base: dict[int, Mapping[str, int]] = {c.node: c.total for c in self.kernel.read()}
        self._seq = 0
        self._last = time.monotonic()

    def poll(self) -> Snapshot:
        now = time.monotonic()
        counters = self.kernel.read()
        nodes = []
        for c in counters:
            base = self._base.get(c.node, {})
            since_start = {k: v - base.get(k, 0) for k, v in c.total.items()}
            total = Locality(
                local_events=since_start.get("local_node", 0),
                remote_events=since_start.get("other_node", 0),
            )
            delta = Locality(
                local_events=c.delta.get("local_node", 0),
                remote_events=c.delta.get("other_node", 0),
            )
            node = self.topology.node(c.node)
            nodes.append(
                NodeStats(
                    node=c.node,
                    total=total,
                    delta=delta,
                    cpus=node.cpus,
                    mem_total_bytes=node.mem_total_bytes,
                    mem_free_bytes=node.mem_free_bytes,
                )
            )
        self._seq += 1
        interval, self._last = now - self._last, now
        notes = ("kernel counters only: " + self.reason,) if self.reason else ()
        return Snapshot(
            seq=self._seq,
            time=time.time(),
            interval=interval,
            source="kernel-counters",
            host=host_info(),
            nodes=tuple(nodes),
            kernel=counters,
            balancing=self.balancing.read(),
            health=Health(notes=notes, source_fallback=self.fallback),
        )

    def close(self) -> None:
        pass
