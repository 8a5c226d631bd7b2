"""Adding allocations up into a `Locality`, one (page node, pages, events) at a time."""

from __future__ import annotations

from dataclasses import dataclass, field

from numascope.snapshot.model import Locality


@dataclass
class LocalityTally:
    """Running sums behind a Locality; `locality()` is a snapshot of them."""

    pages_by_node: dict[int, int] = field(default_factory=dict)
    events_by_node: dict[int, int] = field(default_factory=dict)
    local_pages: int = 0
    remote_pages: int = 0
    local_events: int = 0
    remote_events: int = 0

    def add(self, node: int, pages: int, events: int, local: bool) -> None:
        self.pages_by_node[node] = self.pages_by_node.get(node, 0) + pages
        self.events_by_node[node] = self.events_by_node.get(node, 0) + events
        if local:
            self.local_pages += pages
            self.local_events += events
        else:
            self.remote_pages += pages
            self.remote_events += events

    def locality(self) -> Locality:
        # Copies: a tally may go on adding after its snapshot was taken.
        return Locality(
            pages_by_node=dict(self.pages_by_node),
            events_by_node=dict(self.events_by_node),
            local_pages=self.local_pages,
            remote_pages=self.remote_pages,
            local_events=self.local_events,
            remote_events=self.remote_events,
        )
