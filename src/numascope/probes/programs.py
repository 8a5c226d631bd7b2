"""Building and attaching a probe family's tracepoint programs, one by one.

A family is one BPF source with several programs. Each program belongs to a
group (a begin/end pair is one group: half of it would leave stale state in the
maps), and a tracepoint the kernel lacks drops its whole group from the source
before compiling, with one line on stderr saying what is lost. The rest of the
family, and every other family, keeps running.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from numascope.errors import NumascopeError
from numascope.probes import bcc_loader
from numascope.probes.tracepoints import Tracepoint, c_struct, read_format


@dataclass(frozen=True)
class Program:
    """One BPF function on one tracepoint, and the record fields it reads."""

    function: str
    tracepoint: Tracepoint
    struct: str | None  # None: the function takes `void *` and reads no field
    fields: tuple[str, ...] = ()
    group: str = ""
    consequence: str = ""  # what numascope cannot report without it
    # A function taking the raw tracepoint's arguments, attached instead of
    # `function` when the family is loaded with `raw=True`.
    raw_function: str = ""


@dataclass
class FamilySource:
    text: str
    attach: dict[str, Tracepoint]
    missing: dict[str, str]


def build_family_source(
    template: str,
    programs: tuple[Program, ...],
    defines: Mapping[str, int],
    tracefs: Path = bcc_loader.TRACEFS,
    absent: Collection[str] = (),
) -> FamilySource:
    """The program text with the structs of the tracepoints present.

    `absent` lists tracepoints ("category:event") to treat as missing even if
    the kernel has them: for `--probes`-style narrowing and for tests.
    """
    structs: dict[str, str] = {}
    missing: dict[str, str] = {}
    lost_groups: set[str] = set()
    for p in programs:
        try:
            if p.tracepoint.name in absent:
                raise NumascopeError(f"tracepoint {p.tracepoint.name} treated as absent")
            fmt = read_format(p.tracepoint, tracefs)
            if p.struct:
                structs[p.struct] = c_struct(p.struct, fmt, list(p.fields))
        except NumascopeError as exc:
            missing[p.tracepoint.name] = str(exc)
            lost_groups.add(p.group or p.function)
    attach: dict[str, Tracepoint] = {}
    for p in programs:
        if (p.group or p.function) in lost_groups:
            template = drop_function(template, p.function)
            if p.raw_function:
                template = drop_function(template, p.raw_function)
            if p.struct:
                structs.pop(p.struct, None)
        else:
            attach[p.function] = p.tracepoint
    header = "".join(f"#define {k} {v}\n" for k, v in defines.items())
    text = header + template.replace("TRACEPOINT_STRUCTS", "\n\n".join(structs.values()))
    return FamilySource(text, attach, missing)


def drop_function(text: str, function: str) -> str:
    """Remove `int function(...) { ... }` (a top-level function ends at "\\n}\\n")."""
    start = text.find(f"int {function}(")
    if start < 0:
        return text
    end = text.find("\n}\n", start)
    return text[:start] + text[end + 3 :]


@dataclass
class LoadedFamily:
    """A compiled family: its bcc object, attached programs and lost tracepoints."""

    name: str
    bpf: Any
    attached: dict[str, str] = field(default_factory=dict)  # function -> tracepoint
    missing: dict[str, str] = field(default_factory=dict)  # tracepoint -> why

    def program_fds(self) -> dict[str, int]:
        return {fn: self.bpf.funcs[fn.encode()].fd for fn in self.attached}

    def detachers(self) -> list[Callable[[], None]]:
        return bcc_loader.tracepoint_detachers(self.bpf)

    def close(self) -> None:
        self.bpf.cleanup()


def _attach_raw(bpf: Any, function: str, tp: Tracepoint) -> bool:
    try:
        bpf.attach_raw_tracepoint(tp=tp.event.encode(), fn_name=function.encode())
    except Exception as exc:  # bcc raises bare Exception on attach failure
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "failed"
        print(f"numascope: raw tracepoint {tp.event}: {first}; using {tp.name}", file=sys.stderr)
        return False
    return True


def load_family(
    name: str,
    source: FamilySource,
    programs: tuple[Program, ...],
    headers: str | None = None,
    raw: bool = False,
) -> LoadedFamily:
    """Compile `source`, attach what it holds, and say on stderr what is missing.

    With `raw`, a program that has a raw tracepoint function attaches that one
    (the perf tracepoint's if the raw one fails). Raises NumascopeError when not
    one program could be attached.
    """
    family = compile_family(name, source, headers)
    attach_programs(family, source, programs, raw)
    return family


def compile_family(name: str, source: FamilySource, headers: str | None = None) -> LoadedFamily:
    """Compile `source` into a family with nothing attached yet (a family that must
    prepare its maps before its programs run attaches them itself, after)."""
    if not source.attach:
        raise NumascopeError(
            f"{name}: none of its tracepoints is available "
            f"({', '.join(sorted(source.missing)) or 'none listed'})"
        )
    bpf = bcc_loader.load_program(source.text, headers)
    return LoadedFamily(name, bpf, missing=dict(source.missing))


def attach_programs(
    family: LoadedFamily, source: FamilySource, programs: tuple[Program, ...], raw: bool = False
) -> None:
    """Attach the programs `source` holds to the compiled `family` (see load_family)."""
    bcc = bcc_loader.import_bcc()
    bpf = family.bpf
    raw_of = {p.function: p.raw_function for p in programs if p.raw_function}
    for fn, tp in source.attach.items():
        if raw and fn in raw_of and _attach_raw(bpf, raw_of[fn], tp):
            family.attached[raw_of[fn]] = f"raw_tracepoint:{tp.event}"
            continue
        try:
            bpf.load_func(fn.encode(), bcc.BPF.TRACEPOINT)
            bpf.attach_tracepoint(tp=tp.name.encode(), fn_name=fn.encode())
        except Exception as exc:  # bcc raises bare Exception on attach failure
            family.missing[tp.name] = str(exc).strip().splitlines()[0] if str(exc) else "failed"
            continue
        family.attached[fn] = tp.name
    if not family.attached:
        bpf.cleanup()
        raise NumascopeError(f"{family.name}: attaching its programs failed")
    consequence = {p.tracepoint.name: p.consequence for p in programs}
    for tracepoint in sorted(family.missing):
        what = consequence.get(tracepoint, "")
        print(f"numascope: {tracepoint} unavailable; {what}".rstrip("; "), file=sys.stderr)
