"""Give back the compiler's code pages once the probes are loaded.

bcc compiles with Clang and LLVM inside the process. Compiling touches some
85 MB of their shared libraries' code, and those pages then stay mapped and
counted in the process's resident memory for as long as it runs, although
nothing runs that code again until the next compile.

MADV_DONTNEED on a private file mapping drops this process's mappings of those
pages; touching them again maps them back from the file. That is exact for a
mapping the process never wrote to, which is why only read-only mappings with no
anonymous (copied-on-write) pages are chosen: a relocated read-only segment
(RELRO) has such pages and is left alone. MADV_PAGEOUT would be the gentler
call, but it skips pages that another process maps too (any other bcc tool or
bpftrace on the host), which left everything resident in practice.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

MADV_DONTNEED = 4
COMPILER_LIBRARIES = ("libLLVM", "libclang")


def compiler_code_ranges(smaps: str) -> list[tuple[int, int]]:
    """Address ranges of the compiler libraries' never-written mappings in a smaps text."""
    ranges = []
    current: tuple[int, int] | None = None
    for line in smaps.splitlines():
        head = line.split(maxsplit=5)
        if head and "-" in head[0] and len(head) >= 5:
            current = None
            if len(head) == 6 and "w" not in head[1]:
                name = head[5].rsplit("/", 1)[-1]
                if name.startswith(COMPILER_LIBRARIES):
                    start, _, end = head[0].partition("-")
                    current = (int(start, 16), int(end, 16))
        elif current is not None and line.startswith("Anonymous:"):
            if int(line.split()[1]) == 0:
                ranges.append(current)
            current = None
    return ranges


def drop_compiler_code(smaps_path: Path = Path("/proc/self/smaps")) -> int:
    """Unmap the compiler's code pages from this process; returns the bytes dropped."""
    try:
        ranges = compiler_code_ranges(smaps_path.read_text())
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return 0
    libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    dropped = 0
    for start, end in ranges:
        if libc.madvise(start, end - start, MADV_DONTNEED) == 0:
            dropped += end - start
    return dropped
