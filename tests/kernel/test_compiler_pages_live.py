"""After the probes compile, the compiler's code pages leave the resident set,
and compiling again still works (the pages come back from the file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from numascope.probes import bcc_loader
from tests.conftest import require_root

pytestmark = pytest.mark.kernel

PROGRAM = "int on_alloc(void *ctx) { return 0; }"


def compiler_resident_kib() -> int:
    total, in_compiler = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if "-" in line.split(" ", 1)[0]:
            in_compiler = "libLLVM" in line or "libclang" in line
        elif in_compiler and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


def test_compiler_code_leaves_the_resident_set_after_loading() -> None:
    require_root()
    bpf = bcc_loader.load_program(PROGRAM)
    try:
        after_compile = compiler_resident_kib()
        assert after_compile > 10_000  # compiling touched tens of MB of LLVM and Clang
        bcc_loader.release_compiler_memory()
        released = compiler_resident_kib()
        assert released < after_compile / 4, (after_compile, released)
        again = bcc_loader.load_program(PROGRAM)
        again.cleanup()
    finally:
        bpf.cleanup()
