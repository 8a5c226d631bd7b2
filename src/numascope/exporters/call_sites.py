"""Name a high-order allocation's call site from its kernel frames.

A stack taken at `mm_page_alloc` starts inside the page allocator itself
(`__alloc_pages`, `get_page_from_freelist`, the folio and slab wrappers), which
is the same for every caller. The call site worth a label or a table cell is the
first frame outside them: `do_huge_pmd_anonymous_page`, `kvmalloc_node`, ...
"""

from __future__ import annotations

from collections.abc import Sequence

NO_STACK = "unknown"

# Compared with the leading underscores removed: `__alloc_pages` and
# `alloc_pages` alike. The page allocator, its folio and mempolicy wrappers,
# the slab allocator's page-level paths, and tracing glue.
_INSIDE_ALLOCATOR = (
    "alloc_pages",
    "alloc_frozen_pages",
    "folio_alloc",
    "vma_alloc_folio",
    "vma_alloc_anon_folio",  # newer kernels: the anonymous huge-page helper
    "alloc_hugepage_vma",
    "get_page_from_freelist",
    "get_free_pages",
    "rmqueue",
    "prep_new_page",
    "post_alloc_hook",
    "alloc_slab_page",
    "allocate_slab",
    "new_slab",
    "slab_alloc",
    "kmalloc_large",
    "kmalloc_order",
    "perf_trace",
    "trace_event",
    "traceiter",
    "bpf_",
)


def inside_allocator(frame: str) -> bool:
    """Whether `frame` is part of the allocator (or tracing), not a caller of it."""
    return frame.lstrip("_").startswith(_INSIDE_ALLOCATOR)


def call_site(frames: Sequence[str]) -> str:
    """The innermost frame outside the allocator; the outermost frame when every one
    is inside it; NO_STACK without frames."""
    for frame in frames:
        if frame and not inside_allocator(frame):
            return frame
    return frames[-1] if frames else NO_STACK
