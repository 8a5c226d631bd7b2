"""What the screen remembers between snapshots: the last minutes, per node and workload.

Only workloads that allocated in an interval are stored for it, so thousands of
idle processes cost nothing. A snapshot seen twice (a paused or finished replay
returns its last one again) is recorded once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from numascope.snapshot.model import Snapshot

# At the default one-second refresh this is the last five minutes.
DEFAULT_DEPTH = 300


@dataclass
class History:
    depth: int = DEFAULT_DEPTH
    _seen: tuple[str, int] | None = field(default=None, init=False)
    _times: deque[float] = field(default_factory=deque, init=False)
    _node_rates: deque[Mapping[int, float]] = field(default_factory=deque, init=False)
    _workloads: deque[Mapping[str, Mapping[int, int]]] = field(default_factory=deque, init=False)

    def record(self, snapshot: Snapshot) -> bool:
        """Add a snapshot; False when it was already recorded."""
        ident = (snapshot.source, snapshot.seq)
        if ident == self._seen:
            return False
        self._seen = ident
        interval = snapshot.interval if snapshot.interval > 0 else 1.0
        rates = {}
        for node in snapshot.nodes:
            # Kernel-counter snapshots count allocation events, not pages.
            amount = node.delta.pages or node.delta.events
            rates[node.node] = amount / interval
        # A snapshot is immutable, so its mappings are kept as they are, not copied.
        workloads = {w.key: w.delta.pages_by_node for w in snapshot.processes if w.delta.pages}
        for w in snapshot.cgroups:
            if w.delta.pages:
                workloads[f"cgroup:{w.cgroup or w.name}"] = w.delta.pages_by_node
        self._times.append(snapshot.time)
        self._node_rates.append(rates)
        self._workloads.append(workloads)
        while len(self._times) > self.depth:
            self._times.popleft()
            self._node_rates.popleft()
            self._workloads.popleft()
        return True

    def __len__(self) -> int:
        return len(self._times)

    @property
    def seconds(self) -> float:
        return self._times[-1] - self._times[0] if len(self._times) > 1 else 0.0

    def node_rates(self, node: int) -> list[float]:
        """Allocation rate of one node, oldest first."""
        return [frame.get(node, 0.0) for frame in self._node_rates]

    def pages_by_node(self, keys: Iterable[str]) -> list[dict[int, int]]:
        """Pages per node per interval for a workload (or the sum of several), oldest first."""
        wanted = tuple(keys)
        out = []
        for frame in self._workloads:
            summed: dict[int, int] = {}
            for key in wanted:
                for node, pages in frame.get(key, {}).items():
                    summed[node] = summed.get(node, 0) + pages
            out.append(summed)
        return out
