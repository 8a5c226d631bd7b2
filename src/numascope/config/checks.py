"""Checks beyond the schema: rules that can never match, and nodes this host lacks.

These need the whole rule list or the live topology, so they run after
validation, on a `ConfigDocument` whose YAML nodes still give each rule a place.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from numascope.config.loader import ConfigDocument, Problem
from numascope.config.model import Match, Placement
from numascope.topology import Topology

_GLOB_KEYS = ("comm", "exe", "cgroup")
_GLOB_CHARS = frozenset("*?[")


def _covers_value(key: str, earlier: object, later: object) -> bool:
    if earlier == later:
        return True
    if key in _GLOB_KEYS and isinstance(earlier, str) and isinstance(later, str):
        # A literal pattern later on is one value; the earlier glob decides it.
        return not (_GLOB_CHARS & set(later)) and fnmatchcase(later, earlier)
    return False


def shadows(earlier: Match, later: Match) -> bool:
    """True when every workload `later` matches is already taken by `earlier`."""
    mine = later.criteria()
    return all(
        key in mine and _covers_value(key, value, mine[key])
        for key, value in earlier.criteria().items()
    )


def rule_problems(doc: ConfigDocument) -> list[Problem]:
    """Duplicate names, and rules an earlier rule (or a catch-all) makes unreachable."""
    problems = []
    rules = doc.config.rules
    first_name: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule.name in first_name:
            line, _ = doc.locate(("rules", first_name[rule.name], "name"))
            problems.append(
                doc.problem(
                    ("rules", i, "name"), f"rule name '{rule.name}' is already used on line {line}"
                )
            )
        else:
            first_name[rule.name] = i
        for j in range(i):
            earlier = rules[j]
            if shadows(earlier.match, rule.match):
                line, _ = doc.locate(("rules", j))
                if earlier.match.is_catch_all:
                    why = f"rule '{earlier.name}' on line {line} matches everything"
                elif earlier.match == rule.match:
                    why = f"it duplicates the match of rule '{earlier.name}' on line {line}"
                else:
                    why = f"rule '{earlier.name}' on line {line} matches all it does"
                problems.append(
                    doc.problem(("rules", i), f"rule '{rule.name}' can never match: {why}")
                )
                break
    return problems


def _placements(doc: ConfigDocument) -> list[tuple[tuple[int | str, ...], Placement]]:
    found: list[tuple[tuple[int | str, ...], Placement]] = [
        (("default", "placement"), doc.config.default.placement)
    ]
    found += [(("rules", i, "placement"), r.placement) for i, r in enumerate(doc.config.rules)]
    return found


def topology_problems(doc: ConfigDocument, topology: Topology) -> list[Problem]:
    """Placements naming nodes this host does not have, or nodes without memory."""
    problems = []
    present = set(topology.node_ids)
    no_memory = {n.id for n in topology.nodes if not n.has_memory}
    known = ", ".join(map(str, sorted(present)))
    for loc, placement in _placements(doc):
        for index, node in enumerate(placement.nodes):
            if node not in present:
                message = f"node {node} does not exist on this host (nodes: {known})"
            elif node in no_memory:
                message = f"node {node} has no memory to place pages on"
            else:
                continue
            where = (
                (*loc, placement.kind)
                if placement.kind == "preferred"
                else (*loc, placement.kind, index)
            )
            problems.append(doc.problem(where, message))
    return problems


def check_document(doc: ConfigDocument, topology: Topology | None = None) -> list[Problem]:
    """Every problem beyond the schema, sorted by place."""
    problems = rule_problems(doc)
    if topology is not None:
        problems += topology_problems(doc, topology)
    return sorted(set(problems))
