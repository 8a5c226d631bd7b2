"""Per-node statistics and the CPU node x page node matrix, with each poll's deltas."""

from __future__ import annotations

from numascope.collectors.group_sums import subtract
from numascope.collectors.tally import LocalityTally
from numascope.snapshot.model import ORDER_CLASSES, Locality, MatrixCell, NodeStats
from numascope.topology import Topology


class NodeDeltas:
    """Remembers the last poll's node and matrix totals, to give each its delta."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self._previous_nodes: dict[int, Locality] = {}
        self._previous_matrix: dict[tuple[int, int], tuple[int, int]] = {}

    def node(self, node_id: int, acc: LocalityTally, orders: list[int]) -> NodeStats:
        # For a node, pages_by_node holds pages by *requesting CPU node*.
        total = acc.locality()
        delta = subtract(total, self._previous_nodes.get(node_id))
        self._previous_nodes[node_id] = total
        node = self.topology.node(node_id)
        return NodeStats(
            node=node_id,
            total=total,
            delta=delta,
            pages_by_order=dict(zip(ORDER_CLASSES, orders, strict=True)),
            cpus=node.cpus,
            mem_total_bytes=node.mem_total_bytes,
            mem_free_bytes=node.mem_free_bytes,
        )

    def matrix(self, cells: dict[tuple[int, int], list[int]]) -> tuple[MatrixCell, ...]:
        out = []
        for (cpu_node, page_node), (pages, events) in sorted(cells.items()):
            before = self._previous_matrix.get((cpu_node, page_node), (0, 0))
            self._previous_matrix[(cpu_node, page_node)] = (pages, events)
            out.append(
                MatrixCell(
                    cpu_node=cpu_node,
                    page_node=page_node,
                    total_pages=pages,
                    delta_pages=pages - before[0],
                    total_events=events,
                    delta_events=events - before[1],
                )
            )
        return tuple(out)
