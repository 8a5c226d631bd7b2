"""Parse the streaming output of the numascope D scripts into intervals.

The scripts print each poll interval between `numascope begin <ns>` and
`numascope end`, one `printa` line per aggregation entry (`tag keys... value
[string key]`, string last because execnames and interrupt names may hold
spaces), and quantize aggregations in DTrace's own table format under a
`runs <segind>` line. Lines starting with `dtrace:` are DTrace's own messages
(drops, errors) and are kept as notes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from numascope.errors import NumascopeError

# tag -> (number of integer keys before the value, whether a string key follows)
_LAYOUT: dict[str, tuple[int, bool]] = {
    "alloc": (4, True),
    "pages": (4, True),
    "pdwake": (1, False),
    "pdns": (1, True),
    "launder": (1, False),
    "pdtarget": (1, False),
    "pdfreed": (1, False),
    "uma": (2, True),
    "irq": (3, True),
    "irqns": (3, True),
    "ithreadns": (3, True),
}

_HEADER = re.compile(r"^\s+value\s+-+ Distribution -+\s+count\s*$")
_BUCKET = re.compile(r"^\s*(-?\d+)\s+\|[@ ]*\s+(\d+)\s*$")
_INT = re.compile(r"^-?\d+$")


class DtraceOutputError(NumascopeError):
    """A line the parser cannot read; the message names the line."""


@dataclass
class Interval:
    """One poll interval's aggregations, as printed (counts for this interval only)."""

    time_ns: int
    first_line: int
    rows: dict[str, dict[tuple[int | str, ...], int]] = field(default_factory=dict)
    runs: dict[int, dict[int, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def table(self, tag: str) -> dict[tuple[int | str, ...], int]:
        return self.rows.get(tag, {})


def _row(tag: str, fields: list[str], where: str) -> tuple[tuple[int | str, ...], int]:
    nkeys, has_string = _LAYOUT[tag]
    if len(fields) < nkeys + 1 or (has_string and len(fields) < nkeys + 2):
        raise DtraceOutputError(f"{where}: '{tag}' line has too few fields")
    numbers = fields[: nkeys + 1]
    if not all(_INT.match(f) for f in numbers):
        raise DtraceOutputError(f"{where}: '{tag}' line has a field that is not a number")
    keys: list[int | str] = [int(f) for f in numbers[:nkeys]]
    if has_string:
        keys.append(" ".join(fields[nkeys + 1 :]))
    elif len(fields) > nkeys + 1:
        raise DtraceOutputError(f"{where}: '{tag}' line has extra fields")
    return tuple(keys), int(numbers[nkeys])


def parse_intervals(lines: Iterable[str], source: str = "dtrace") -> Iterator[Interval]:
    """Complete intervals, in order. A bad or truncated stream raises
    DtraceOutputError naming the line, after every complete interval before it
    has been yielded, so nothing already collected is lost."""
    current: Interval | None = None
    runs_key: int | None = None
    number = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\n")
        where = f"{source}:{number}"
        if line.startswith("dtrace:"):
            if current is not None:
                current.notes.append(line)
            continue
        if runs_key is not None and current is not None:
            if not line.strip() or _HEADER.match(line):
                continue
            bucket = _BUCKET.match(line)
            if bucket:
                if int(bucket.group(2)):
                    hist = current.runs.setdefault(runs_key, {})
                    value = int(bucket.group(1))
                    hist[value] = hist.get(value, 0) + int(bucket.group(2))
                continue
            runs_key = None
        if not line.strip():
            continue
        fields = line.split()
        tag = fields[0]
        if line.startswith("numascope begin"):
            if current is not None:
                raise DtraceOutputError(
                    f"{where}: interval begun at line {current.first_line} never ended"
                )
            if len(fields) != 3 or not _INT.match(fields[2]):
                raise DtraceOutputError(f"{where}: begin marker without a timestamp")
            current = Interval(time_ns=int(fields[2]), first_line=number)
            continue
        if current is None:
            raise DtraceOutputError(f"{where}: data outside an interval: {line[:60]!r}")
        if line.strip() == "numascope end":
            yield current
            current = None
            continue
        if tag == "runs":
            if len(fields) != 2 or not _INT.match(fields[1]):
                raise DtraceOutputError(f"{where}: 'runs' line needs one segment index")
            runs_key = int(fields[1])
            continue
        if tag not in _LAYOUT:
            raise DtraceOutputError(f"{where}: unknown record {tag!r}")
        keys, value = _row(tag, fields[1:], where)
        table = current.rows.setdefault(tag, {})
        table[keys] = table.get(keys, 0) + value
    if current is not None:
        raise DtraceOutputError(
            f"{source}:{number}: output ends inside the interval begun at line "
            f"{current.first_line} (truncated)"
        )
