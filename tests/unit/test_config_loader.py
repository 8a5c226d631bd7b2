"""The config loader: valid files become typed objects, bad ones say FILE:LINE:COL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from numascope.config import (
    Config,
    ConfigError,
    PolicyHolder,
    load_config,
    parse_config,
    read_config_file,
)
from numascope.config import loader as loader_module
from numascope.config.schema import config_json_schema_text
from numascope.errors import NumascopeError
from numascope.snapshot.model import Severity

ROOT = Path(__file__).parent.parent.parent
EXAMPLE = ROOT / "examples" / "config.yaml"
LOCATED = re.compile(r"^f\.yaml:(\d+):(\d+): \S")


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "f.yaml")
    return [str(p) for p in caught.value.problems]


def test_example_config_is_valid_and_complete() -> None:
    config = read_config_file(EXAMPLE).config
    assert [r.name for r in config.rules] == ["database", "cache", "workers", "table"]
    kinds = {r.placement.kind for r in config.rules} | {config.default.placement.kind}
    assert kinds == {"local", "bind", "preferred", "preferred-many", "interleave"}
    assert config.rules[0].severity is Severity.CRITICAL
    assert config.rules[1].placement.nodes == (0,)
    assert config.rules[3].placement.target_shares() == {0: 0.75, 1: 0.25}
    assert config.prometheus.listen_address == "127.0.0.1:9477"


def test_example_sets_every_key_the_schema_has() -> None:
    def keys(schema: dict[str, object], defs: dict[str, dict[str, object]]) -> set[str]:
        out: set[str] = set()
        for name, prop in dict(schema.get("properties", {})).items():  # type: ignore[call-overload]
            out.add(name)
            ref = prop.get("$ref") if isinstance(prop, dict) else None
            if ref:
                out |= {f"{name}.{k}" for k in keys(defs[ref.split("/")[-1]], defs)}
        return out

    schema = json.loads(config_json_schema_text())
    documented = keys(schema, schema["$defs"])
    text = EXAMPLE.read_text()
    for key in documented:
        assert f"{key.split('.')[-1]}:" in text, f"examples/config.yaml does not show {key}"


def test_empty_file_and_no_file_are_the_default() -> None:
    assert parse_config("", "f.yaml").config == Config()
    assert parse_config("# only a comment\n", "f.yaml").config == Config()
    config = Config()
    assert config.default.placement.kind == "local"
    assert config.rules == ()
    assert 0 < config.thresholds.remote_ratio_warning < config.thresholds.remote_ratio_critical


def test_load_config_without_a_path_uses_the_system_file_or_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(loader_module, "DEFAULT_CONFIG_PATH", tmp_path / "absent.yaml")
    assert load_config(None) == Config()
    system = tmp_path / "config.yaml"
    system.write_text("thresholds: {min-pages: 7}\n")
    monkeypatch.setattr(loader_module, "DEFAULT_CONFIG_PATH", system)
    assert load_config(None).thresholds.min_pages == 7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: [{name: a, placement: lokal}]", "f.yaml:1:30: rules[0].placement: unknown"),
        (
            "rules:\n  - name: a\n    placement: local\n    colour: red\n",
            "f.yaml:4:5: unknown key 'colour' in rules[0]",
        ),
        ("rules:\n  - placement: local\n", "f.yaml:2:5: rules[0]: missing required key 'name'"),
        ("thresholds:\n  min_pages: 3\n", "f.yaml:2:3: unknown key 'min_pages' in thresholds"),
        (
            "thresholds:\n  min-pages: -1\n",
            "f.yaml:2:14: thresholds.min-pages: Input should be greater",
        ),
        (
            "rules:\n - name: a\n   placement: {bind: [0, x]}\n",
            "f.yaml:3:26: rules[0].placement.bind[1]:",
        ),
        (
            "rules:\n - name: a\n   placement: {bind: [0, 0]}\n",
            "f.yaml:3:22: rules[0].placement.bind: a node is listed twice",
        ),
        (
            "rules:\n - name: a\n   placement: {bind: [0], preferred: 1}\n",
            "f.yaml:3:15: rules[0].placement: a placement needs exactly one",
        ),
        (
            "rules:\n - name: a\n   placement: {interleave: [0, 1], weights: [1]}\n",
            "f.yaml:3:15: rules[0].placement: weights needs one entry",
        ),
        (
            "rules:\n - name: a\n   placement: {bind: [0], weights: [1]}\n",
            "f.yaml:3:15: rules[0].placement: weights only go with interleave",
        ),
        (
            "rules:\n - name: a\n   match: {comm-regex: '(('}\n   placement: local\n",
            "f.yaml:3:24: rules[0].match.comm-regex: not a regular expression",
        ),
        (
            "thresholds: {remote-ratio-warning: 0.9, remote-ratio-critical: 0.5}",
            "f.yaml:1:13: thresholds: remote-ratio-warning is above",
        ),
        (
            "thresholds: {remote-ratio-warning: .nan}",
            "f.yaml:1:36: thresholds.remote-ratio-warning:",
        ),
        (
            "prometheus: {listen-address: nowhere}",
            "f.yaml:1:30: prometheus.listen-address: String should match",
        ),
        ("version: 2", "f.yaml:1:10: version: Input should be 1"),
        ("- a\n- b\n", "f.yaml:1:1: expected a mapping"),
        ("rules: {name: a}", "f.yaml:1:8: rules: Input should be a valid tuple"),
        ("thresholds: {min-pages: 1, min-pages: 2}", "f.yaml:1:28: duplicate key 'min-pages'"),
        ("rules: [1, {b", "f.yaml:1:14: YAML: "),
        ("a: 2001-13-01", "f.yaml:1:4: YAML: not a valid date"),
        ("a: !!python/object/apply:os.system [true]", "f.yaml:1:4: YAML: "),
        ("a: 1\n---\nb: 2\n", "f.yaml:2:1: YAML: "),
        ("\t- x", "f.yaml:1:1: YAML: "),
    ],
)
def test_errors_name_file_line_and_column(text: str, expected: str) -> None:
    found = problems(text)
    assert any(p.startswith(expected) for p in found), found
    assert all(LOCATED.match(p) and "\n" not in p for p in found)


def test_every_problem_is_reported_and_the_message_is_one_line() -> None:
    text = "rules:\n  - name: a\n    placement: lokal\n    x: 1\n  - placement: local\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "f.yaml")
    assert len(caught.value.problems) == 3
    message = str(caught.value)
    assert isinstance(caught.value, NumascopeError)
    assert "\n" not in message
    assert message.startswith("f.yaml:3:16: ")
    assert message.endswith("(and 2 more: numascope check-config f.yaml)")


def test_unreadable_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^/nonexistent/c\.yaml:1:1: cannot read it"):
        read_config_file("/nonexistent/c.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"rules: []\nname: \xff\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:2:7: not UTF-8 text"):
        read_config_file(bad)


def test_safe_loader_never_runs_tags(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f"a: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(ConfigError):
        parse_config(text, "f.yaml")
    assert not marker.exists()


def test_preferred_node_zero_is_a_placement() -> None:
    doc = parse_config("rules: [{name: a, placement: {preferred: 0}}]", "f.yaml")
    assert doc.config.rules[0].placement.kind == "preferred"
    assert doc.config.rules[0].placement.nodes == (0,)


def test_schema_file_is_current() -> None:
    checked_in = (ROOT / "config.schema.json").read_text()
    assert checked_in == config_json_schema_text(), (
        "config.schema.json is stale: numascope check-config --schema > config.schema.json"
    )


def test_schema_allows_bare_local_and_forbids_extra_keys() -> None:
    schema = json.loads(config_json_schema_text())
    placement = schema["$defs"]["Placement"]
    assert {"const": "local", "type": "string"} in placement["anyOf"]
    assert schema["additionalProperties"] is False
    assert "preferred-many" in placement["anyOf"][1]["properties"]


def test_holder_keeps_the_old_policy_on_a_bad_reload(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("thresholds: {min-pages: 5}\n")
    holder = PolicyHolder.open(path)
    assert holder.config.thresholds.min_pages == 5
    path.write_text("thresholds: {min-pages: [}\n")
    error = holder.reload()
    assert error is not None
    assert error.startswith(f"{path}:1:")
    assert error.endswith("keeping the previous policy")
    assert holder.config.thresholds.min_pages == 5
    path.write_text("thresholds: {min-pages: 9}\n")
    assert holder.reload() is None
    assert holder.config.thresholds.min_pages == 9


def test_holder_reloads_on_sighup(tmp_path: Path) -> None:
    import os
    import signal

    path = tmp_path / "c.yaml"
    path.write_text("thresholds: {min-pages: 5}\n")
    holder = PolicyHolder.open(path)
    previous = signal.getsignal(signal.SIGHUP)
    try:
        holder.install_sighup()
        assert holder.reload_if_requested() == (False, None)
        path.write_text("thresholds: {min-pages: 6}\n")
        os.kill(os.getpid(), signal.SIGHUP)
        assert holder.reload_if_requested() == (True, None)
        assert holder.config.thresholds.min_pages == 6
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_holder_with_bad_first_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("nope: 1\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:1:1: unknown key 'nope'"):
        PolicyHolder.open(path)


def test_readme_documents_every_key() -> None:
    readme = (ROOT / "docs" / "manual.md").read_text()
    section = readme[readme.index("## Placement policy") :]
    schema = json.loads(config_json_schema_text())
    defs = schema["$defs"]
    names: set[str] = set(schema["properties"])
    for definition in defs.values():
        names |= set(definition.get("properties", {}))
        for option in definition.get("anyOf", []):
            names |= set(option.get("properties", {}))
    missing = sorted(n for n in names if f"`{n}" not in section and f".{n}`" not in section)
    assert not missing, f"docs/manual.md 'Placement policy' does not document {missing}"
