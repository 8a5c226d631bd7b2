"""Tracepoint record layouts, read from the running kernel's tracefs.

numascope writes each program's argument struct from the tracepoint's `format`
file rather than bcc's TRACEPOINT_PROBE macro: bcc attaches every such macro at
load time and one missing tracepoint would fail the whole program, whereas a
probe family here must be able to lose only itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from numascope.errors import NumascopeError

FIELD_RE = re.compile(
    r"field:(?P<decl>[^;]+);\s*offset:(?P<offset>\d+);\s*size:(?P<size>\d+);\s*signed:(?P<signed>\d)"
)


@dataclass(frozen=True)
class TracepointField:
    name: str
    offset: int
    size: int
    signed: bool


@dataclass(frozen=True)
class Tracepoint:
    category: str
    event: str

    @property
    def name(self) -> str:
        return f"{self.category}:{self.event}"


def parse_format(text: str) -> dict[str, TracepointField]:
    """Fields of a tracefs `format` file by name (common_* fields included)."""
    fields: dict[str, TracepointField] = {}
    for match in FIELD_RE.finditer(text):
        decl = match.group("decl").strip()
        name = re.sub(r"\[.*\]$", "", decl.split()[-1])
        fields[name] = TracepointField(
            name=name,
            offset=int(match.group("offset")),
            size=int(match.group("size")),
            signed=match.group("signed") == "1",
        )
    return fields


def read_format(tp: Tracepoint, tracefs: Path) -> dict[str, TracepointField]:
    path = tracefs / "events" / tp.category / tp.event / "format"
    try:
        return parse_format(path.read_text())
    except OSError:
        raise NumascopeError(f"tracepoint {tp.name} is not in this kernel ({path})") from None


def c_struct(struct_name: str, fields: dict[str, TracepointField], wanted: list[str]) -> str:
    """A C struct laying out `wanted` fields at the kernel's offsets, padding between."""
    missing = [w for w in wanted if w not in fields]
    if missing:
        raise NumascopeError(f"tracepoint record {struct_name} lacks field(s) {', '.join(missing)}")
    lines = [f"struct {struct_name} {{"]
    position = 0
    for i, f in enumerate(sorted((fields[w] for w in wanted), key=lambda f: f.offset)):
        if f.offset > position:
            lines.append(f"    char _pad{i}[{f.offset - position}];")
        if f.size not in (1, 2, 4, 8):
            raise NumascopeError(f"tracepoint field {f.name} has size {f.size}, not a scalar")
        ctype = ("s" if f.signed else "u") + str(f.size * 8)
        lines.append(f"    {ctype} {f.name};")
        position = f.offset + f.size
    # The record starts 8-aligned (the kernel stores a pointer in its first eight
    # bytes before a program runs). Saying so lets clang load each field whole:
    # packed alone makes it assume nothing, and read the pfn a byte at a time
    # (eight loads, shifts and stack spills on the page-allocation hot path).
    lines.append("} __attribute__((packed, aligned(8)));")
    return "\n".join(lines)
