"""Replay a recorded snapshot stream as if it were the live kernel.

A stream is JSON lines, one snapshot per line, as `numascope snapshot --json`
prints (gzip-compressed when the file name ends in .gz). Views cannot tell a
replayed snapshot from a live one, which is the point: a capture from a bug
report drives the same TUI, exporter and report code as production.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from numascope.errors import NumascopeError
from numascope.snapshot import Snapshot
from numascope.snapshot_codec import snapshot_from_json


def _open(path: Path) -> IO[str]:
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rt", encoding="utf-8")
        return path.open(encoding="utf-8")
    except OSError as exc:
        raise NumascopeError(f"{path}: {exc.strerror}") from None


def read_stream(path: str | Path) -> Iterator[Snapshot]:
    """Snapshots from a JSON-lines stream; a bad line raises naming file and line."""
    p = Path(path)
    with _open(p) as lines:
        try:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield snapshot_from_json(line, where=f"{p}:{number}")
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise NumascopeError(f"{p}: damaged stream ({exc})") from None


@dataclass
class ReplaySource:
    """Snapshots from a recorded stream; after the last, the last again (paused)."""

    snapshots: list[Snapshot]
    _next: int = 0
    finished: bool = field(default=False)

    @classmethod
    def from_file(cls, path: str | Path) -> ReplaySource:
        snapshots = list(read_stream(path))
        if not snapshots:
            raise NumascopeError(f"{path}: no snapshots in this stream")
        return cls(snapshots)

    def poll(self) -> Snapshot:
        snapshot = self.snapshots[min(self._next, len(self.snapshots) - 1)]
        if self._next < len(self.snapshots):
            self._next += 1
        self.finished = self._next >= len(self.snapshots)
        return snapshot

    def close(self) -> None:
        pass
