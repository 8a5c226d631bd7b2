"""The typed configuration: rules, placements, thresholds and view settings.

Keys are kebab-case in YAML (`preferred-many`, `min-pages`) and snake_case in
Python. Every model forbids unknown keys so a typo is an error, not a silent
default.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from numascope.snapshot.model import Severity

PLACEMENT_KINDS = ("local", "bind", "preferred", "preferred-many", "interleave")

NodeId = int


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=_kebab,
        populate_by_name=False,
        allow_inf_nan=False,
        strict=False,
    )


def _placement_json_schema(schema: dict[str, Any]) -> None:
    # The placement also accepts the bare word `local`; the model itself only
    # describes the mapping form, so widen the published schema in place.
    mapping = dict(schema)
    schema.clear()
    schema["title"] = mapping.pop("title", "Placement")
    schema["description"] = mapping.pop("description", "")
    schema["anyOf"] = [{"const": "local", "type": "string"}, mapping]


class Placement(_Model):
    """Where a workload's pages should come from: exactly one kind.

    `local` (the bare word, or `local: true`) expects each page from the node of
    the CPU that asked; `bind` allows only the listed nodes; `preferred` expects
    one node and tolerates fallback up to the thresholds; `preferred-many` the
    same for a set; `interleave` expects pages spread over the nodes in
    proportion to `weights` (equal when absent).
    """

    model_config = ConfigDict(json_schema_extra=_placement_json_schema)

    local: bool = False
    bind: tuple[NodeId, ...] | None = Field(default=None, min_length=1)
    preferred: NodeId | None = None
    preferred_many: tuple[NodeId, ...] | None = Field(default=None, min_length=1)
    interleave: tuple[NodeId, ...] | None = Field(default=None, min_length=1)
    weights: tuple[int, ...] | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _bare_word(cls, data: Any) -> Any:
        if isinstance(data, str):
            if data == "local":
                return {"local": True}
            raise ValueError(
                f"unknown placement {data!r}: use local, or a mapping with one of "
                "bind, preferred, preferred-many, interleave"
            )
        return data

    @field_validator("bind", "preferred_many", "interleave")
    @classmethod
    def _distinct_nodes(cls, nodes: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if nodes is None:
            return None
        if any(n < 0 for n in nodes):
            raise ValueError("node ids are 0 or more")
        if len(set(nodes)) != len(nodes):
            raise ValueError("a node is listed twice")
        return nodes

    @field_validator("preferred")
    @classmethod
    def _node_id(cls, node: int | None) -> int | None:
        if node is not None and node < 0:
            raise ValueError("node ids are 0 or more")
        return node

    @model_validator(mode="after")
    def _exactly_one(self) -> Placement:
        chosen = [k for k in PLACEMENT_KINDS if self._given(k)]
        if len(chosen) != 1:
            raise ValueError(
                "a placement needs exactly one of local, bind, preferred, preferred-many, "
                f"interleave (got {', '.join(chosen) or 'none'})"
            )
        if self.weights is not None:
            if self.interleave is None:
                raise ValueError("weights only go with interleave")
            if len(self.weights) != len(self.interleave):
                raise ValueError("weights needs one entry per interleave node")
            if any(w < 1 for w in self.weights):
                raise ValueError("weights are 1 or more")
        return self

    def _given(self, kind: str) -> bool:
        # Identity, not equality: `preferred: 0` is node 0, not "unset".
        value = getattr(self, kind.replace("-", "_"))
        return value is not None and value is not False

    @property
    def kind(self) -> str:
        """One of PLACEMENT_KINDS."""
        return next(k for k in PLACEMENT_KINDS if self._given(k))

    @property
    def nodes(self) -> tuple[int, ...]:
        """The nodes the placement names (empty for `local`)."""
        if self.preferred is not None:
            return (self.preferred,)
        return self.bind or self.preferred_many or self.interleave or ()

    def target_shares(self) -> dict[int, float]:
        """For interleave: each node's expected share of pages (sums to 1)."""
        nodes = self.interleave or ()
        weights = self.weights or tuple(1 for _ in nodes)
        total = sum(weights)
        return {n: w / total for n, w in zip(nodes, weights, strict=True)}

    def describe(self) -> str:
        """Short human form, e.g. `bind:0,1` or `interleave:0,1 (weights 3,1)`."""
        if self.kind == "local":
            return "local"
        text = f"{self.kind}:{','.join(map(str, self.nodes))}"
        if self.weights:
            text += f" (weights {','.join(map(str, self.weights))})"
        return text


class Match(_Model):
    """What a rule matches; every key given must hold. No keys: matches everything."""

    comm: str | None = Field(default=None, description="glob on the command name")
    comm_regex: str | None = Field(default=None, description="regular expression on comm")
    exe: str | None = Field(default=None, description="glob on the executable's path")
    cgroup: str | None = Field(default=None, description="glob on the cgroup v2 path")
    pid: int | None = Field(default=None, ge=1)
    user: str | int | None = Field(default=None, description="user name or numeric uid")

    @field_validator("comm_regex")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return pattern

    @property
    def is_catch_all(self) -> bool:
        return not self.criteria()

    def criteria(self) -> dict[str, object]:
        """The keys this match constrains, with their values."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Rule(_Model):
    """A named rule: which workloads, what placement, and optionally a fixed severity."""

    name: str = Field(min_length=1)
    match: Match = Field(default_factory=Match)
    placement: Placement
    severity: Severity | None = Field(
        default=None,
        description="severity of every finding this rule yields (default: from thresholds)",
    )


ProbeFamilyName = Literal[
    "page_alloc", "reclaim", "irq", "allocator", "slab", "migrate", "migrate_nodes"
]


class DefaultRule(_Model):
    """What applies to a workload no rule matched."""

    placement: Placement = Field(default_factory=lambda: Placement(local=True))
    severity: Severity | None = None


class IrqThresholds(_Model):
    remote_ratio_warning: float = Field(default=0.25, ge=0, le=1)
    min_events: int = Field(default=100, ge=0)


class ReclaimThresholds(_Model):
    kswapd_wakeups_per_second: float = Field(default=10.0, ge=0)
    direct_reclaim_per_second: float = Field(default=1.0, ge=0)


class Thresholds(_Model):
    remote_ratio_warning: float = Field(default=0.10, ge=0, le=1)
    remote_ratio_critical: float = Field(default=0.50, ge=0, le=1)
    min_pages: int = Field(default=256, ge=0)
    window_seconds: float = Field(default=10.0, gt=0)
    interleave_tolerance: float = Field(default=0.15, ge=0, le=1)
    interleave_critical: float = Field(default=0.35, ge=0, le=1)
    irq: IrqThresholds = Field(default_factory=IrqThresholds)
    reclaim: ReclaimThresholds = Field(default_factory=ReclaimThresholds)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.remote_ratio_warning > self.remote_ratio_critical:
            raise ValueError("remote-ratio-warning is above remote-ratio-critical")
        if self.interleave_tolerance > self.interleave_critical:
            raise ValueError("interleave-tolerance is above interleave-critical")
        return self


class PrometheusSettings(_Model):
    # 9477: clear of node_exporter (9100) and ebpf_exporter (9435).
    listen_address: str = Field(default="127.0.0.1:9477", pattern=r"^\S*:\d{1,5}$")
    telemetry_path: str = Field(default="/metrics", pattern=r"^/")
    workload_limit: int = Field(default=50, ge=1, description="workloads exported by name")


class TuiSettings(_Model):
    refresh_seconds: float = Field(default=1.0, gt=0)
    label_budget: int = Field(default=24, ge=4, description="characters for a workload name")


class Config(_Model):
    """The whole file. Every section is optional."""

    version: Literal[1] = 1
    rules: tuple[Rule, ...] = ()
    default: DefaultRule = Field(default_factory=DefaultRule)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)
    tui: TuiSettings = Field(default_factory=TuiSettings)
    probes: tuple[ProbeFamilyName, ...] = Field(
        default=("page_alloc", "reclaim", "irq", "allocator", "migrate"),
        min_length=1,
        description="probe families to attach; the command line's --probes overrides",
    )
