"""Property tests: whatever the YAML, the loader returns a valid config or a located error."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numascope.config import Config, ConfigError, parse_config

EXAMPLE = (Path(__file__).parent.parent.parent / "examples" / "config.yaml").read_text()
LOCATED = re.compile(r"^f\.yaml:(\d+):(\d+): [^\n]+$")

KEYS = [
    "version", "rules", "default", "thresholds", "prometheus", "tui", "name", "match",
    "placement", "severity", "comm", "comm-regex", "exe", "cgroup", "pid", "user", "local",
    "bind", "preferred", "preferred-many", "interleave", "weights", "remote-ratio-warning",
    "remote-ratio-critical", "min-pages", "window-seconds", "interleave-tolerance",
    "interleave-critical", "irq", "reclaim", "min-events", "listen-address", "label-budget",
    "refresh-seconds", "workload-limit", "telemetry-path", "bogus",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["local", "warning", "critical", "info", "*", "((", "127.0.0.1:9477"]),
    st.text(max_size=8),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=5)), inner, max_size=5),
    ),
    max_leaves=25,
)


def check(text: str) -> Config | None:
    """The property itself: a Config, or a ConfigError whose every line is located."""
    try:
        config = parse_config(text, "f.yaml").config
    except ConfigError as exc:
        lines = text.count("\n") + 2
        assert exc.problems
        for problem in exc.problems:
            m = LOCATED.match(str(problem))
            assert m, str(problem)
            assert 1 <= int(m[1]) <= lines
            assert int(m[2]) >= 1
        assert LOCATED.match(str(exc))
        return None
    assert isinstance(config, Config)
    # An accepted config survives its own round trip through the schema's keys.
    assert Config.model_validate(config.model_dump(by_alias=True)) == config
    return config


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    check(text)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_random_documents(document: Any) -> None:
    check(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_example(data: st.DataObject) -> None:
    text = EXAMPLE
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(text)))
        cut = data.draw(st.integers(min_value=0, max_value=12))
        insert = data.draw(
            st.sampled_from(["", ":", "-", " ", "\n", "[", "{", "'", "x", "\t", "9"])
        )
        text = text[:at] + insert + text[at + cut :]
    check(text)


@settings(max_examples=200)
@given(
    kind=st.sampled_from(["bind", "preferred-many", "interleave"]),
    nodes=st.lists(st.integers(min_value=-2, max_value=5), min_size=0, max_size=4),
)
def test_node_lists(kind: str, nodes: list[int]) -> None:
    text = yaml.safe_dump({"rules": [{"name": "r", "placement": {kind: nodes}}]})
    config = check(text)
    valid = bool(nodes) and min(nodes) >= 0 and len(set(nodes)) == len(nodes)
    assert (config is not None) == valid
    if config is not None:
        assert config.rules[0].placement.nodes == tuple(nodes)
