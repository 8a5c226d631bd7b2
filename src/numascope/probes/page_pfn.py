"""The page pointer to pfn translation the raw tracepoint entry needs.

The raw tracepoint `mm_page_alloc` passes the `struct page *`, not the pfn the
perf tracepoint's record holds. With a virtually contiguous page array (x86-64's
vmemmap), pfn = (page - base) / sizeof(struct page). The base is randomised at
boot (CONFIG_RANDOMIZE_MEMORY) and, without CONFIG_KALLSYMS_ALL, not in
/proc/kallsyms. So numascope measures it on pages whose pfn it knows: it touches
pages of its own one at a time, `calibrate_raw` (page_alloc.bpf.c) records the
page pointer of each allocation this thread makes, and /proc/self/pagemap gives
the touched page's pfn. A touch that made exactly one allocation is one exact
pair; the base and the size are what the pairs agree on. When they do not agree
(another memory model) or the pfns cannot be read (pagemap shows them only with
CAP_SYS_ADMIN), the probe reads the perf tracepoint's record instead.
"""

from __future__ import annotations

import ctypes
import mmap
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAIRS = 12
# Pairs that must agree on one translation, with at least two distinct pfns.
MIN_AGREEING = 8
# sizeof(struct page): a power of two from 32 to 256 bytes (64 on common builds).
PAGE_STRUCT_SHIFTS = range(5, 9)
U64 = (1 << 64) - 1
PFN_MASK = (1 << 55) - 1  # pagemap: bits 0-54 the pfn, bit 63 "present"
PRESENT = 1 << 63
RAW_EVENT = b"mm_page_alloc"
PAGEMAP = Path("/proc/self/pagemap")


@dataclass(frozen=True)
class PageMap:
    """pfn = (page pointer - base) >> shift."""

    base: int
    shift: int

    def pfn(self, page: int) -> int:
        return ((page - self.base) & U64) >> self.shift

    def c_expression(self, page: str) -> str:
        """`pfn` in C, for a program compiled once the translation is known."""
        return f"((({page}) - {self.base:#x}ULL) >> {self.shift})"


def solve_page_map(pairs: Iterable[tuple[int, int]]) -> PageMap | str:
    """The translation the (page pointer, pfn) pairs agree on, or why there is none.

    With two distinct pfns only the right size puts every pair on one base."""
    distinct = {(page, pfn) for page, pfn in pairs if page and pfn}
    if len({pfn for _, pfn in distinct}) < 2 or len(distinct) < MIN_AGREEING:
        return f"{len(distinct)} pages with a known pfn, {MIN_AGREEING} needed"
    best: tuple[int, int, int] | None = None  # (agreeing, base, shift)
    for shift in PAGE_STRUCT_SHIFTS:
        bases = Counter((page - (pfn << shift)) & U64 for page, pfn in distinct)
        base, agreeing = bases.most_common(1)[0]
        if best is None or agreeing > best[0]:
            best = (agreeing, base, shift)
    assert best is not None
    agreeing, base, shift = best
    if agreeing < MIN_AGREEING:
        return (
            f"page pointers and pfns do not line up ({agreeing} of {len(distinct)} "
            "pages agree on one page array)"
        )
    return PageMap(base, shift)


def pagemap_pfn(address: int, pagemap: Path = PAGEMAP) -> int:
    """The pfn behind our virtual `address`, 0 when absent or hidden from us."""
    with pagemap.open("rb") as f:
        f.seek(address // mmap.PAGESIZE * 8)
        entry = int.from_bytes(f.read(8), "little")
    return entry & PFN_MASK if entry & PRESENT else 0


def _calibration(bpf: Any) -> tuple[int, int, int]:
    """(allocations, last page pointer, its order) the calibrating thread made."""
    c = bpf["calibration"][0]
    return int(c.allocations), int(c.page), int(c.order)


def collect_pairs(bpf: Any, count: int = PAIRS) -> list[tuple[int, int]]:
    """Touch `count` pages one at a time; exact (page pointer, pfn) pairs."""
    table = bpf["calibration"]
    leaf = table.Leaf()
    leaf.tid = threading.get_native_id()
    table[table.Key(0)] = leaf
    # Small enough never to be a huge page; the first touch also allocates the
    # page table, so it is not one of the pairs.
    area = mmap.mmap(-1, (count + 1) * mmap.PAGESIZE)
    pairs: list[tuple[int, int]] = []
    try:
        start = ctypes.c_char.from_buffer(area)
        base_address = ctypes.addressof(start)
        del start  # the buffer export would keep `area` from closing
        area[0] = 1
        for i in range(1, count + 1):
            before, _, _ = _calibration(bpf)
            area[i * mmap.PAGESIZE] = 1
            after, page, order = _calibration(bpf)
            if after == before + 1 and order == 0:
                pairs.append((page, pagemap_pfn(base_address + i * mmap.PAGESIZE)))
    finally:
        area.close()
    return pairs


def calibrate(bpf: Any) -> PageMap | str:
    """Attach `calibrate_raw` of the loaded module `bpf`, pair, detach; the
    translation, or why there is none."""
    try:
        bpf.attach_raw_tracepoint(tp=RAW_EVENT, fn_name=b"calibrate_raw")
    except Exception as exc:  # bcc raises bare Exception when attaching fails
        return f"raw tracepoint mm_page_alloc unavailable: {str(exc).strip()}"
    try:
        pairs = collect_pairs(bpf)
    except OSError as exc:
        return f"reading {PAGEMAP}: {exc.strerror or exc}"
    finally:
        bpf.detach_raw_tracepoint(tp=RAW_EVENT)
    if pairs and not any(pfn for _, pfn in pairs):
        return f"{PAGEMAP} shows no pfns (it needs CAP_SYS_ADMIN)"
    return solve_page_map(pairs)


def write_page_map(bpf: Any, page_map: PageMap) -> None:
    table = bpf["page_map"]
    leaf = table.Leaf()
    leaf.base, leaf.shift = page_map.base, page_map.shift
    table[table.Key(0)] = leaf
