"""Hostile input: every parser ends in a result or numascope's own error, nothing else.

Bounded fuzz runs (max_examples) over numa_maps, numastat/key-value text, capture
files, the config loader, DTrace output and snapshot JSON, plus hand-made worst
cases: deep and huge YAML, alias bombs, object-constructing tags, odd bytes.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numascope.capture.file import read_capture
from numascope.collectors.freebsd.dtrace_output import parse_intervals
from numascope.collectors.kernel_counters import parse_key_values
from numascope.collectors.mempolicy import parse_numa_maps, read_process_policy
from numascope.collectors.names import ProcessStat, decode_comm, process_stat
from numascope.config.loader import parse_config
from numascope.errors import NumascopeError
from numascope.snapshot.codec import snapshot_from_json

CAPTURE = Path(__file__).parent.parent / "fixtures" / "captures" / "v1.0-one-node-dd.capture.gz"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that looks like each format, so the fuzzer gets past the first token.
WORDS = st.sampled_from(
    [
        "default", "bind:0-1", "interleave=static:0,2", "prefer (many):1", "N0=12", "N1=",
        "anon=4", "dirty=", "kernelpagesize_kB=4", "file=/x y", "heap", "stack", "7f00",
        "numa_hit", "other_node", "-1", "18446744073709551616", "0x10", "\x00", "\xff", ":",
        "=", "@", "printa", "-----", "value", "|", "@@@@", "count", "\t", "  ", "é",
    ]
)  # fmt: skip
LINES = st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=12).map(" ".join)
TEXTS = st.lists(LINES, max_size=20).map("\n".join)


def ends_well(parse: Callable[[], Any]) -> None:
    """`parse` returns, or raises NumascopeError; any other exception fails the test."""
    with contextlib.suppress(NumascopeError):
        parse()


@FUZZ
@given(TEXTS)
def test_numa_maps(text: str) -> None:
    ends_well(lambda: parse_numa_maps(text))


@FUZZ
@given(TEXTS)
def test_numastat_key_values(text: str) -> None:
    ends_well(lambda: parse_key_values(text))


@FUZZ
@given(st.lists(LINES, max_size=30))
def test_dtrace_output(lines: list[str]) -> None:
    ends_well(lambda: list(parse_intervals(lines, "fuzz")))


@FUZZ
@given(TEXTS)
def test_config_text(text: str) -> None:
    ends_well(lambda: parse_config(text, "fuzz.yaml"))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
SNAPSHOT_KEYS = ["seq", "time", "interval", "source", "host", "nodes", "processes", "health"]


@FUZZ
@given(JSON, st.dictionaries(st.sampled_from(SNAPSHOT_KEYS), JSON, max_size=8))
def test_snapshot_json(anything: Any, shaped: dict[str, Any]) -> None:
    ends_well(lambda: snapshot_from_json(json.dumps(anything)))
    ends_well(lambda: snapshot_from_json(json.dumps(shaped)))


REAL_CAPTURE = gzip.decompress(CAPTURE.read_bytes())


@FUZZ
@given(st.data())
def test_damaged_capture_files(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    raw = bytearray(REAL_CAPTURE)
    how = data.draw(st.sampled_from(["flip", "cut", "garbage", "gzip-cut"]))
    if how == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            at = data.draw(st.integers(0, len(raw) - 1))
            raw[at] = data.draw(st.integers(0, 255))
        body = gzip.compress(bytes(raw))
    elif how == "cut":
        body = gzip.compress(bytes(raw[: data.draw(st.integers(0, len(raw)))]))
    elif how == "garbage":
        body = data.draw(st.binary(max_size=200))
    else:
        whole = gzip.compress(bytes(raw))
        body = whole[: data.draw(st.integers(0, len(whole)))]
    path = tmp_path_factory.mktemp("cap") / "damaged.capture.gz"
    path.write_bytes(body)
    ends_well(lambda: read_capture(path))


def test_the_fuzzed_capture_is_a_real_one() -> None:
    assert read_capture(CAPTURE).snapshots, "the damage test starts from a valid file"


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,  # deeper than the parser's recursion
        "a:\n" + "".join(" " * i + "- \n" for i in range(1, 3000)),
        "rules: [" + ", ".join(["{name: r, placement: local}"] * 20_000) + "]",
        # An alias bomb: each level doubles; safe loading must not expand it forever.
        "a: &a [x, x]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(20)
        ),
        "version: 1\nrules: !!python/object/new:os.system [echo pwned]\n",
        "!!python/name:os.system\n",
        "\x00\x01\x02: \x7f",
        "\ufeff" + "a: b\n" * 50_000,
    ],
    ids=["deep-flow", "deep-block", "huge", "alias-bomb", "object-new", "name", "control", "long"],
)
def test_worst_case_yaml_ends_in_a_located_error_or_a_config(text: str) -> None:
    try:
        parse_config(text, "bad.yaml")
    except NumascopeError as exc:
        assert "bad.yaml:" in str(exc), str(exc)


def test_object_tags_are_refused_with_a_located_error() -> None:
    with pytest.raises(NumascopeError, match=r"bad\.yaml:2:\d+: .*python/object"):
        parse_config("version: 1\nrules: !!python/object:os.system {}\n", "bad.yaml")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=16))
def test_any_comm_bytes_decode_to_visible_text(raw: bytes) -> None:
    name = decode_comm(raw)
    assert isinstance(name, str)
    name.encode("utf-8")  # never a lone surrogate that breaks a view
    assert "\x00" not in name


@FUZZ
@given(st.binary(max_size=120))
def test_odd_proc_stat_is_an_answer(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    proc = tmp_path_factory.mktemp("proc")
    (proc / "77").mkdir()
    (proc / "77" / "stat").write_bytes(raw)
    found = process_stat(77, proc=proc)
    assert found is None or (isinstance(found, ProcessStat) and isinstance(found.name, bytes))


def test_proc_entries_that_vanish_or_deny_are_answers(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    (proc / "88").mkdir(parents=True)
    (proc / "88" / "numa_maps").symlink_to(proc / "88" / "gone")  # dangling: exited mid-read
    (proc / "88" / "stat").write_bytes(zlib.compress(b"x"))
    assert read_process_policy(88, proc=proc) is None
    assert process_stat(88, proc=proc) is None  # no fields after a ')'
    assert process_stat(99, proc=proc) is None  # never there


def test_a_mapped_file_named_with_undecodable_bytes_is_read(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    (proc / "90").mkdir(parents=True)
    (proc / "90" / "status").write_bytes(b"Name:\tbad\\xff\nUid:\t0\t0\t0\t0\n")
    (proc / "90" / "numa_maps").write_bytes(
        b"7f0000000000 bind:1 file=/tmp/\xff\xfe\x01name mapped=4 N1=4 kernelpagesize_kB=4\n"
    )
    policy = read_process_policy(90, proc=proc)
    assert policy is not None and policy.dominant.mode == "bind"
