"""`numascope snapshot`'s plain text: a node's CPUs in the kernel's own list form."""

from __future__ import annotations

import dataclasses

import pytest

from numascope.exporters.text.render import render
from numascope.topology import format_list, parse_list
from tests.fixtures import export_streams


@pytest.mark.parametrize(
    ("cpus", "text"),
    [
        ((), ""),
        ((3,), "3"),
        ((0, 1, 2, 3), "0-3"),
        ((0, 2, 4), "0,2,4"),
        ((*range(28), *range(56, 84)), "0-27,56-83"),  # a node of a 2-socket host with SMT
        ((5, 1, 0, 2), "0-2,5"),
    ],
)
def test_format_list_is_the_kernel_cpulist_form(cpus: tuple[int, ...], text: str) -> None:
    assert format_list(cpus) == text
    assert parse_list(text) == tuple(sorted(cpus))


def test_a_node_with_two_cpu_ranges_is_printed_as_both() -> None:
    snap = export_streams.two_node(1)
    node0 = dataclasses.replace(snap.nodes[0], cpus=(*range(28), *range(56, 84)))
    node1 = dataclasses.replace(snap.nodes[1], cpus=(*range(28, 56), *range(84, 112)))
    text = render(dataclasses.replace(snap, nodes=(node0, node1)))
    rows = {line.split()[0]: line.split()[1] for line in text.splitlines()[2:4]}
    assert rows == {"0": "0-27,56-83", "1": "28-55,84-111"}
