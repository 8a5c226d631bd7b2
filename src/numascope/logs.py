"""Log lines for long-running commands: logfmt or JSON, with journald priorities.

`numascope export` runs as a service, so its lines go to journald (or a container
log). They follow node_exporter's shape (`--log.level`, `--log.format` logfmt or
json), and under journald each line starts with its syslog priority (`<3>` for an
error, `<6>` for info: sd-daemon(3)), so `journalctl -p err` finds the errors.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TextIO

# Names as node_exporter spells them (its `--log.level` takes these four).
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
FORMATS = ("logfmt", "json")
# syslog priorities (sd-daemon.h SD_ERR .. SD_DEBUG) for Python's levels.
PRIORITIES = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
LEVEL_NAMES = {logging.CRITICAL: "error", logging.WARNING: "warn"}


def level_name(levelno: int) -> str:
    """The level as the line spells it: debug, info, warn or error."""
    return LEVEL_NAMES.get(levelno, logging.getLevelName(levelno).lower())


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


def _fields(record: logging.LogRecord) -> dict[str, str]:
    fields = {
        "ts": _timestamp(record.created),
        "level": level_name(record.levelno),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        fields["err"] = f"{type(error).__name__}: {error}"
    return fields


def logfmt_value(value: str) -> str:
    """A logfmt value: bare when it can be, else quoted with `\\`, `"` and newlines escaped."""
    if value and not any(c in value for c in ' ="\\\n\t') and value.isprintable():
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


class LogfmtFormatter(logging.Formatter):
    """`ts=... level=info logger=numascope.export msg="..."`, one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={logfmt_value(v)}" for k, v in _fields(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the same keys as the logfmt form."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), ensure_ascii=False)


class JournalPriorityFormatter(logging.Formatter):
    """Puts `<N>` (the record's syslog priority) before another formatter's line."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        priority = PRIORITIES.get(record.levelno, 6)
        return f"<{priority}>{self.inner.format(record)}"


def connected_to_journal(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Whether `stream` is the journald stream systemd handed us (JOURNAL_STREAM=dev:inode).

    Comparing the device and inode, as sd_journal_stream_fd(3) advises, keeps the
    prefixes off a terminal or a pipe that a process under a unit opened itself.
    """
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return False
    return (status.st_dev, status.st_ino) == (int(device), int(inode))


def configure_logging(
    level: str = "info",
    fmt: str = "logfmt",
    stream: TextIO | None = None,
    journal: bool | None = None,
) -> logging.Logger:
    """Send the `numascope` loggers to `stream` (stderr) in `fmt`, from `level` up.

    `journal` None means: prefix priorities when the stream is journald's.
    Returns the `numascope` logger. Calling it again replaces the handler.
    """
    stream = sys.stderr if stream is None else stream
    formatter: logging.Formatter = LogfmtFormatter() if fmt == "logfmt" else JsonFormatter()
    if journal is None:
        journal = connected_to_journal(stream)
    if journal:
        formatter = JournalPriorityFormatter(formatter)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("numascope")
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(LEVELS[level])
    logger.propagate = False
    return logger
