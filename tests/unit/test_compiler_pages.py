from __future__ import annotations

from numascope.probes.compiler_pages import compiler_code_ranges

LLVM = "/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1"


def mapping(span: str, perms: str, path: str, anonymous_kib: int) -> str:
    return (
        f"{span} {perms} 00000000 fe:01 1234 {path}\n"
        f"Size:               1024 kB\nRss:                 512 kB\n"
        f"Anonymous:      {anonymous_kib:>8} kB\nVmFlags: rd mr mw me\n"
    )


SMAPS = "".join(
    [
        mapping("7f0000000000-7f0000100000", "r--p", LLVM, 0),
        mapping("7f0000100000-7f0002000000", "r-xp", LLVM, 0),
        # RELRO: read-only now, but relocated in place: its pages are copies.
        mapping("7f0002000000-7f0002100000", "r--p", LLVM, 64),
        mapping("7f0002100000-7f0002200000", "rw-p", LLVM, 0),
        mapping("7f0003000000-7f0003800000", "r-xp", "/usr/lib/llvm-14/lib/libclang-cpp.so.14", 0),
        mapping("7f0004000000-7f0004100000", "r-xp", "/usr/lib/x86_64-linux-gnu/libbcc.so.0", 0),
        "7f0005000000-7f0005100000 rw-p 00000000 00:00 0\nAnonymous:      1024 kB\n",
    ]
)


def test_only_never_written_compiler_mappings_are_chosen() -> None:
    assert compiler_code_ranges(SMAPS) == [
        (0x7F0000000000, 0x7F0000100000),
        (0x7F0000100000, 0x7F0002000000),
        (0x7F0003000000, 0x7F0003800000),
    ]


def test_nothing_to_choose_without_the_compiler() -> None:
    assert compiler_code_ranges("") == []
    assert compiler_code_ranges(mapping("7f00-7f10", "r-xp", "/usr/lib/libc.so.6", 0)) == []
