"""The capture file: round trip, atomic writing, versions, and damaged or foreign files."""

from __future__ import annotations

import gzip
import json
import os
import stat
from pathlib import Path

import pytest

from numascope.capture.file import CaptureWriter, read_capture
from numascope.capture.model import FORMAT_NAME, CaptureTrailer
from numascope.capture.replay import open_replay
from numascope.cli import main
from numascope.errors import NumascopeError
from numascope.snapshot.codec import snapshot_to_json
from tests.fixtures import streams
from tests.fixtures.capture_files import header, policy_violation_capture, write_capture


def test_round_trip_keeps_header_snapshots_and_trailer(tmp_path: Path) -> None:
    path = policy_violation_capture(tmp_path / "c.capture.gz")
    capture = read_capture(path)
    assert capture.version == "1.1"
    assert capture.snapshots == tuple(streams.policy_violation())
    assert capture.header == header()
    assert capture.header.topology is not None and capture.header.topology.node_ids == (0, 1)
    assert capture.trailer.snapshots == 4
    assert capture.findings_seen == 8


def test_file_is_gzip_json_lines_with_header_first_and_trailer_last(tmp_path: Path) -> None:
    path = policy_violation_capture(tmp_path / "c.capture.gz")
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    first = json.loads(lines[0])
    assert (first["format"], first["version"]) == (FORMAT_NAME, "1.1")
    assert all("snapshot" in json.loads(x) for x in lines[1:-1])
    assert json.loads(lines[-1])["trailer"]["snapshots"] == len(lines) - 2


def test_file_is_private_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    path = policy_violation_capture(tmp_path / "c.capture.gz")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["c.capture.gz"]


def test_nothing_appears_under_the_final_name_before_finish(tmp_path: Path) -> None:
    target = tmp_path / "c.capture.gz"
    writer = CaptureWriter(target)
    writer.add(streams.remote_heavy()[0])
    assert not target.exists()
    writer.abort()
    assert os.listdir(tmp_path) == []


def test_unwritable_directory_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NumascopeError, match=r"cannot write .*/missing/c\.gz: No such file"):
        CaptureWriter(tmp_path / "missing" / "c.gz")


def test_open_replay_reads_captures_and_plain_streams(tmp_path: Path) -> None:
    snaps = streams.remote_heavy()
    capture = open_replay(write_capture(tmp_path / "c.capture.gz", snaps))
    assert capture.snapshots == snaps
    assert capture.capture is not None and capture.capture.header.host == "db-host-1"
    plain = streams.write_stream(tmp_path / "s.jsonl", snaps)
    assert open_replay(plain).snapshots == snaps
    # A compressed stream is told by its bytes, not its name.
    packed = tmp_path / "stream-without-suffix"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert open_replay(packed).snapshots == snaps


def _damage(tmp_path: Path, kind: str) -> Path:
    good = policy_violation_capture(tmp_path / "good.capture.gz").read_bytes()
    bad = tmp_path / f"{kind}.capture.gz"
    if kind == "truncated":
        bad.write_bytes(good[: len(good) // 2])
    elif kind == "wrong-magic":
        bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    elif kind == "newer-major":
        lines = gzip.decompress(good).decode().splitlines(keepends=True)
        first = json.loads(lines[0]) | {"version": "2.0"}
        bad.write_bytes(gzip.compress((json.dumps(first) + "\n" + "".join(lines[1:])).encode()))
    elif kind == "garbage-json":
        bad.write_bytes(
            gzip.compress(
                b'{"format": "numascope-capture", "version": "1.0", "header": {}}\n{nope\n'
            )
        )
    elif kind == "foreign-format":
        bad.write_bytes(gzip.compress(b'{"format": "other-tool", "version": "1", "header": {}}\n'))
    elif kind == "no-trailer":
        lines = gzip.decompress(good).decode().splitlines(keepends=True)
        bad.write_bytes(gzip.compress("".join(lines[:-1]).encode()))
    elif kind == "plain-text":
        bad.write_text("hello, this is a text file\n")
    elif kind == "bad-field":
        lines = gzip.decompress(good).decode().splitlines(keepends=True)
        snap = json.loads(lines[1])
        snap["snapshot"]["seq"] = "one"
        lines[1] = json.dumps(snap) + "\n"
        bad.write_bytes(gzip.compress("".join(lines).encode()))
    return bad


DAMAGE = {
    "truncated": "damaged gzip data",
    "wrong-magic": "not text",
    "newer-major": "capture format 2.0 is newer than this numascope reads (1.x)",
    "garbage-json": ":2: not JSON",
    "foreign-format": "not a numascope capture (format 'other-tool')",
    "no-trailer": "capture cut short (no trailer record)",
    "plain-text": "not a numascope capture or snapshot stream",
    "bad-field": "snapshot.seq: expected int, got str",
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_or_foreign_file_is_one_line_naming_the_file(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _damage(tmp_path, kind)
    for argv in (["report", str(bad)], ["report", "--html", str(bad)]):
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert err.count("\n") == 1, err
        assert err.startswith(f"numascope: {bad}"), err
        assert DAMAGE[kind] in err
        assert "Traceback" not in err
    with pytest.raises(NumascopeError, match=str(bad)):
        open_replay(bad)


def test_a_newer_minor_version_with_new_fields_and_records_is_read(tmp_path: Path) -> None:
    path = policy_violation_capture(tmp_path / "c.capture.gz")
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    first = json.loads(lines[0])
    first["version"] = "1.7"
    first["header"]["a_field_from_the_future"] = [1, 2]
    snap = json.loads(lines[1])
    snap["snapshot"]["also_new"] = {"x": 1}
    future = [json.dumps(first), json.dumps(snap), '{"annotation": {"text": "hi"}}', *lines[2:]]
    newer = tmp_path / "newer.capture.gz"
    newer.write_bytes(gzip.compress(("\n".join(future) + "\n").encode()))
    capture = read_capture(newer)
    assert capture.version == "1.7"
    assert capture.snapshots == tuple(streams.policy_violation())


def test_trailer_counting_other_than_the_file_is_damage(tmp_path: Path) -> None:
    snaps = streams.remote_heavy(2)
    path = tmp_path / "c.gz"
    writer = CaptureWriter(path)
    writer.add(snaps[0])
    writer.finish(header(), CaptureTrailer(snapshots=2))
    with pytest.raises(NumascopeError, match="trailer counts 2 snapshots but the file holds 1"):
        read_capture(path)


def test_plain_stream_line_errors_still_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(snapshot_to_json(streams.remote_heavy(1)[0]) + "\n{\n")
    with pytest.raises(NumascopeError, match=rf"{path}:2: not JSON"):
        open_replay(path)
