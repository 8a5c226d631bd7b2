"""The capture file: one gzip-compressed JSON-lines file, written atomically.

Layout, one JSON object per line:

    {"format": "numascope-capture", "version": "1.0", "header": {...}}
    {"snapshot": {...}}            one per interval, findings included
    {"trailer": {"snapshots": N, "reason": "...", ...}}

The header comes first so a reader learns the format before anything else, yet
it holds facts known only at the end (counters after, the top workloads). So
the writer spools snapshots into a gzip member beside the target while the
capture runs, then writes the header member, the spooled bytes as they are and
the trailer member into a temporary file, fsyncs it and renames it into place.
Concatenated gzip members are one valid gzip stream. A reader therefore never
sees a partial file under the final name, and a cut-short file lacks its trailer.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

from numascope.capture.model import (
    FORMAT_NAME,
    FORMAT_VERSION,
    Capture,
    CaptureHeader,
    CaptureTrailer,
)
from numascope.collectors.pod_identity import with_pods
from numascope.errors import NumascopeError
from numascope.snapshot.codec import decode, encode
from numascope.snapshot.model import Snapshot

GZIP_MAGIC = b"\x1f\x8b"


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")


def _member(out: BinaryIO, data: bytes) -> None:
    # mtime=0 and no file name: the same records give the same bytes.
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
        gz.write(data)


class CaptureWriter:
    """Spools snapshots next to `path`; `finish()` puts the whole file in place.

    Any OSError (full disk, lost permission) removes every temporary file and
    raises NumascopeError naming the target, so no partial file is left behind.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count = 0
        self._spool_raw: IO[bytes] | None = None
        self._spool: gzip.GzipFile | None = None
        self._temps: list[Path] = []
        with self._guard():
            fd, name = tempfile.mkstemp(
                dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".spool"
            )
            self._temps.append(Path(name))
            self._spool_raw = os.fdopen(fd, "w+b")
            self._spool = gzip.GzipFile(filename="", mode="wb", fileobj=self._spool_raw, mtime=0)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            self.abort()
            reason = exc.strerror or str(exc)
            raise NumascopeError(f"cannot write {self.path}: {reason}") from None

    def add(self, snapshot: Snapshot) -> None:
        """Append one snapshot to the spool."""
        assert self._spool is not None, "writer already finished"
        with self._guard():
            self._spool.write(_line({"snapshot": encode(snapshot)}))
        self.count += 1

    def finish(self, header: CaptureHeader, trailer: CaptureTrailer) -> int:
        """Write header, snapshots and trailer under the final name; return its size."""
        assert self._spool is not None and self._spool_raw is not None
        with self._guard():
            self._spool.close()
            self._spool_raw.flush()
            self._spool_raw.seek(0)
            fd, name = tempfile.mkstemp(
                dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".part"
            )
            self._temps.append(Path(name))
            # mkstemp makes the file 0600: it holds command lines and cgroup paths.
            with os.fdopen(fd, "wb") as out:
                head = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
                _member(out, _line({**head, "header": encode(header)}))
                shutil.copyfileobj(self._spool_raw, out)
                _member(out, _line({"trailer": encode(trailer)}))
                out.flush()
                os.fsync(out.fileno())
                size = out.tell()
            os.replace(name, self.path)
            self._temps.remove(Path(name))
            _fsync_dir(self.path.parent)
        self.abort()  # only the spool is left to remove
        return size

    def abort(self) -> None:
        """Drop the spool and any temporary file (safe to call twice)."""
        for handle in (self._spool, self._spool_raw):
            with contextlib.suppress(OSError, ValueError):
                if handle is not None:
                    handle.close()
        self._spool = None
        self._spool_raw = None
        for temp in self._temps:
            with contextlib.suppress(OSError):
                temp.unlink()
        self._temps = []


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a gzip or plain text file, chosen by its first bytes.

    Every way a file can be damaged (cut short, bad CRC, not UTF-8) ends in one
    NumascopeError naming the file.
    """
    p = Path(path)
    try:
        with p.open("rb") as raw:
            magic = raw.read(2)
            raw.seek(0)
            stream: Iterable[bytes] = gzip.GzipFile(fileobj=raw) if magic == GZIP_MAGIC else raw
            for number, data in enumerate(stream, start=1):
                yield number, data.decode("utf-8")
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise NumascopeError(f"{p}: damaged gzip data ({_reason(exc)})") from None
    except UnicodeDecodeError:
        raise NumascopeError(f"{p}: not text (is it a numascope capture?)") from None
    except OSError as exc:
        raise NumascopeError(f"{p}: {exc.strerror or exc}") from None


def _reason(exc: BaseException) -> str:
    return str(exc).rstrip(".") or type(exc).__name__


def parse_record(line: str, where: str) -> dict[str, Any]:
    """One JSON object, or NumascopeError naming `where`."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise NumascopeError(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise NumascopeError(f"{where}: expected a JSON object")
    return data


def is_capture_record(record: dict[str, Any]) -> bool:
    """True for the first record of a capture file (whatever its version)."""
    return "format" in record and "header" in record


def check_version(record: dict[str, Any], where: str) -> str:
    """The file's version if this numascope can read it; else NumascopeError."""
    if record.get("format") != FORMAT_NAME:
        raise NumascopeError(f"{where}: not a numascope capture (format {record.get('format')!r})")
    version = record.get("version")
    major_text, _, minor_text = str(version).partition(".")
    if not (major_text.isdigit() and (minor_text.isdigit() or not minor_text)):
        raise NumascopeError(f"{where}: unreadable capture version {version!r}")
    ours = int(FORMAT_VERSION.partition(".")[0])
    if int(major_text) > ours:
        raise NumascopeError(
            f"{where}: capture format {version} is newer than this numascope reads "
            f"({ours}.x); read it with a newer numascope"
        )
    return str(version)


def read_capture(path: str | Path) -> Capture:
    """Read a whole capture file; a damaged or foreign one raises NumascopeError."""
    p = Path(path)
    header: CaptureHeader | None = None
    version = ""
    trailer: CaptureTrailer | None = None
    snapshots: list[Snapshot] = []
    for number, line in open_lines(p):
        if not line.strip():
            continue
        where = f"{p}:{number}"
        record = parse_record(line, where)
        if header is None:
            if not is_capture_record(record):
                raise NumascopeError(f"{p}: not a numascope capture (no header record)")
            version = check_version(record, str(p))
            header = decode(CaptureHeader, record["header"], f"{where}: header")
        elif trailer is not None:
            raise NumascopeError(f"{where}: records after the trailer")
        elif "snapshot" in record:
            snapshot = decode(Snapshot, record["snapshot"], f"{where}: snapshot")
            snapshots.append(with_pods(snapshot))
        elif "trailer" in record:
            trailer = decode(CaptureTrailer, record["trailer"], f"{where}: trailer")
        # Other record kinds belong to a newer minor version: skipped on purpose.
    if header is None:
        raise NumascopeError(f"{p}: empty file, not a numascope capture")
    if trailer is None:
        raise NumascopeError(f"{p}: capture cut short (no trailer record)")
    if trailer.snapshots != len(snapshots):
        raise NumascopeError(
            f"{p}: trailer counts {trailer.snapshots} snapshots but the file holds {len(snapshots)}"
        )
    return Capture(str(p), version, header, tuple(snapshots), trailer)
