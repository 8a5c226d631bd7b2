"""Solving the raw tracepoint's page pointer -> pfn translation from exact pairs."""

from __future__ import annotations

from pathlib import Path

from numascope.probes.page_pfn import MIN_AGREEING, PageMap, pagemap_pfn, solve_page_map

BASE = 0xFFFFEA0000000000


def pairs_for(base: int, shift: int, pfns: list[int]) -> list[tuple[int, int]]:
    return [(base + (pfn << shift), pfn) for pfn in pfns]


def test_exact_pairs_give_the_base_and_the_struct_page_size() -> None:
    found = solve_page_map(pairs_for(BASE, 6, [0x1234, 0x1235, 0x9000, 0x20, 0x777, 0x778, 1, 2]))
    assert found == PageMap(BASE, 6)
    assert isinstance(found, PageMap)
    assert found.pfn(BASE + (0x4242 << 6)) == 0x4242


def test_another_struct_page_size_is_found_too() -> None:
    base = 0xFFFFC90000000000
    assert solve_page_map(pairs_for(base, 7, list(range(100, 100 + MIN_AGREEING)))) == PageMap(
        base, 7
    )


def test_a_stray_pair_is_outvoted() -> None:
    pairs = pairs_for(BASE, 6, list(range(500, 500 + MIN_AGREEING)))
    pairs.append((BASE + (42 << 6), 43))  # an allocation paired with another's pfn
    assert solve_page_map(pairs) == PageMap(BASE, 6)


def test_pairs_that_do_not_line_up_are_refused_with_the_reason() -> None:
    scattered = [(BASE + i * 4096 + i * i, 1000 + 3 * i) for i in range(12)]
    found = solve_page_map(scattered)
    assert isinstance(found, str) and "do not line up" in found


def test_too_few_pairs_or_hidden_pfns_are_refused() -> None:
    few = solve_page_map(pairs_for(BASE, 6, [1, 2, 3]))
    assert isinstance(few, str) and "3 pages with a known pfn" in few
    # pagemap shows pfn 0 to a reader without CAP_SYS_ADMIN: not a pair.
    hidden = solve_page_map([(BASE + i * 64, 0) for i in range(20)])
    assert isinstance(hidden, str) and "0 pages" in hidden


def test_one_repeated_pfn_cannot_tell_the_size() -> None:
    found = solve_page_map([(BASE + (7 << 6), 7)] * 20)
    assert isinstance(found, str)


def test_pagemap_entries_are_read_as_the_kernel_lays_them_out(tmp_path: Path) -> None:
    pagemap = tmp_path / "pagemap"
    present = (1 << 63) | 0x3ABCD
    swapped = (1 << 62) | 0x55
    entries = [0, present, swapped]
    pagemap.write_bytes(b"".join(e.to_bytes(8, "little") for e in entries))
    assert pagemap_pfn(0, pagemap) == 0
    assert pagemap_pfn(4096 + 17, pagemap) == 0x3ABCD
    assert pagemap_pfn(2 * 4096, pagemap) == 0  # not present: no pfn
