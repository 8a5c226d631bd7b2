"""One metric family as the exporter declares it: name, type, labels and help."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    type: str  # "counter", "gauge" or "histogram"
    labels: tuple[str, ...]
    help: str

    def exposed_names(self) -> tuple[str, ...]:
        """The sample names that appear in /metrics for this family."""
        if self.type == "counter":
            return (f"{self.name}_total",)
        if self.type == "histogram":
            return tuple(f"{self.name}{s}" for s in ("_bucket", "_sum", "_count"))
        return (self.name,)
