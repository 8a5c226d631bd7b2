"""The topology numascope reads inside the guest is the one qemu was told to build.

The `numascope topology` command runs in-process: a fresh interpreter importing
the whole CLI takes about 50 s under software emulation.
"""

from __future__ import annotations

import argparse
import json

import pytest

from numascope.collectors.live import LiveSource
from numascope.commands.topology import format_topology, run
from numascope.topology import read_topology
from tests.vm.topologies import GuestTopology

pytestmark = pytest.mark.guest


def test_topology_command_shows_nodes_cpus_and_distances(
    guest: GuestTopology, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argparse.Namespace(sysfs="/sys", json=True)) == 0
    shown = json.loads(capsys.readouterr().out)
    nodes = {n["id"]: n for n in shown["nodes"]}
    assert sorted(nodes) == list(guest.node_ids)
    for node_id, spec in enumerate(guest.nodes):
        assert tuple(nodes[node_id]["cpus"]) == spec.cpus, node_id
        assert nodes[node_id]["has_memory"], node_id
        for other in guest.node_ids:
            assert nodes[node_id]["distances"][str(other)] == guest.distance(node_id, other), (
                f"distance {node_id}->{other}: numascope {nodes[node_id]['distances']}"
            )
    table = format_topology(read_topology())
    assert table.count("memory-only (no CPUs)") == len(guest.cpuless_nodes), table


def test_live_snapshot_marks_cpuless_nodes(guest: GuestTopology, live: LiveSource) -> None:
    snapshot = live.poll()
    assert snapshot.node_ids == guest.node_ids
    cpuless = tuple(n.node for n in snapshot.nodes if n.cpuless)
    assert cpuless == guest.cpuless_nodes
    # The probe was compiled with every node's pfn ranges, memory-only ones included.
    assert {r.node for r in live.topology.pfn_ranges} == set(guest.node_ids)
