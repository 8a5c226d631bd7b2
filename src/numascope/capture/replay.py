"""Replay a recorded snapshot stream as if it were the live kernel.

Two kinds of recording: a capture file (`numascope capture`, see
`capture_file`) and a plain stream, JSON lines with one snapshot per line as
`numascope snapshot --json` prints; either may be gzip-compressed (told by its
first bytes, not its name). Views cannot tell a replayed snapshot from a live
one, which is the point: a capture from a bug report drives the same TUI,
exporter and report code as production. `open_replay(path)` is what views call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from numascope.capture.file import (
    is_capture_record,
    open_lines,
    parse_record,
    read_capture,
)
from numascope.capture.model import Capture, CaptureHeader, CaptureTrailer
from numascope.collectors.pod_identity import with_pods
from numascope.errors import NumascopeError
from numascope.snapshot.codec import snapshot_from_json
from numascope.snapshot.model import Snapshot


def read_stream(path: str | Path) -> Iterator[Snapshot]:
    """Snapshots from a JSON-lines stream; a bad line raises naming file and line."""
    p = Path(path)
    for number, line in open_lines(p):
        if line.strip():
            yield with_pods(snapshot_from_json(line, where=f"{p}:{number}"))


def _first_record(path: Path) -> dict[str, Any] | None:
    for number, line in open_lines(path):
        if line.strip():
            try:
                return parse_record(line, f"{path}:{number}")
            except NumascopeError:
                raise NumascopeError(
                    f"{path}: not a numascope capture or snapshot stream "
                    f"(line {number} is not a JSON object)"
                ) from None
    return None


def read_recording(path: str | Path) -> Capture:
    """A capture file, or a plain stream wrapped as a capture without host facts."""
    p = Path(path)
    first = _first_record(p)
    if first is not None and is_capture_record(first):
        return read_capture(p)
    snapshots = tuple(read_stream(p))
    trailer = CaptureTrailer(len(snapshots), reason="end of stream")
    return Capture(str(p), "stream", CaptureHeader(), snapshots, trailer)


def open_replay(path: str | Path) -> ReplaySource:
    """A source replaying `path` (capture or stream); NumascopeError names a bad file."""
    recording = read_recording(path)
    if not recording.snapshots:
        raise NumascopeError(f"{path}: no snapshots in this file")
    return ReplaySource(list(recording.snapshots), capture=recording)


@dataclass
class ReplaySource:
    """Snapshots from a recorded stream; after the last, the last again (paused)."""

    snapshots: list[Snapshot]
    _next: int = field(default=0, init=False)
    finished: bool = field(default=False)
    # The whole recording (header facts of a capture file); None when built by hand.
    capture: Capture | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> ReplaySource:
        return open_replay(path)

    def poll(self) -> Snapshot:
        snapshot = self.snapshots[min(self._next, len(self.snapshots) - 1)]
        if self._next < len(self.snapshots):
            self._next += 1
        self.finished = self._next >= len(self.snapshots)
        return snapshot

    def close(self) -> None:
        pass
