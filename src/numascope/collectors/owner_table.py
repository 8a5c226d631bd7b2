"""The owner-table vocabulary: who an owner is, and owner totals as columns.

An owner is what the page-allocation probe keys its counts by (tgid, context,
cgroup, CPU node); the collector (collectors/page_alloc.py) keeps their
running totals as one `OwnerTable`, which attribution, retiring and liveness
read. The dtypes match the structs of page_alloc.bpf.c.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

Counts = npt.NDArray[np.int64]


class OwnerKey(NamedTuple):
    tgid: int
    context: int  # kind << 16 | irq number or softirq vector
    cgroup_id: int
    cpu_node: int

    @property
    def kind(self) -> int:
        return self.context >> 16

    @property
    def context_id(self) -> int:
        return self.context & 0xFFFF


# `epoch` holds generation << 1 | drained: the generation counts polls (its low
# bit picks the buffer programs write), and the drained bit says the previous
# buffer has been read (see page_alloc.bpf.c).
DRAINED = 1

# Context kinds, as in the C program.
CTX_TASK = 0
CTX_HARDIRQ = 1
CTX_SOFTIRQ = 2
# User-space-only kinds: owners the hash had no room for, and processes that
# exited long ago, folded together so memory stays bounded on a busy host.
CTX_OVERFLOW = 0xFF
CTX_EXITED = 0xFE

# struct owner_key in page_alloc.bpf.c (the pad is always zero).
KEY_DTYPE = np.dtype(
    [
        ("tgid", "<u4"),
        ("context", "<u4"),
        ("cgroup_id", "<u8"),
        ("cpu_node", "<i4"),
        ("pad", "<u4"),
    ]
)


# A task's comm (TASK_COMM_LEN), NUL-padded.
COMM_DTYPE = np.dtype("S16")


def value_dtype(slots: int) -> np.dtype[Any]:
    """struct owner_counts in page_alloc.bpf.c."""
    return np.dtype([("comm", COMM_DTYPE), ("events", "<u8", (slots,)), ("pages", "<u8", (slots,))])


def counts_view_dtype(slots: int) -> np.dtype[Any]:
    """value_dtype with events and pages as one field: the layout of the
    collector's count rows (events by slot, then pages), viewed as one array."""
    return np.dtype([("comm", COMM_DTYPE), ("counts", "<u8", (2 * slots,))])


# Serial numbers of owner rows: a row that holds another owner (a freed row
# reused, or another table) has another serial, so what was learnt about a row
# (its workload) is kept exactly as long as the row holds the same owner.
_serials = itertools.count(1)


def new_serials(count: int) -> npt.NDArray[np.int64]:
    return np.fromiter(itertools.islice(_serials, count), dtype=np.int64, count=count)


@dataclass(frozen=True)
class OwnerTable:
    """Owner totals as columns: row i is `keys[i]`, counted in `events[i]`/`pages[i]`.

    Only rows with `live[i]` hold an owner; `changed[i]` says its totals moved
    in the last poll, `renamed[i]` that its name changed without them moving,
    and `serials[i]` is the same number for as long as the row holds the same
    owner. The arrays belong to the collector: read, never keep."""

    keys: list[OwnerKey]
    columns: npt.NDArray[Any]  # the keys again, as a KEY_DTYPE array
    live: npt.NDArray[np.bool_]
    events: Counts
    pages: Counts
    comms: npt.NDArray[np.bytes_]  # COMM_DTYPE
    changed: npt.NDArray[np.bool_]
    renamed: npt.NDArray[np.bool_]
    serials: npt.NDArray[np.int64]

    @classmethod
    def empty(cls, slots: int) -> OwnerTable:
        """A table with no owner (no family keeps rows per owner)."""
        return cls(
            [],
            np.zeros(0, dtype=KEY_DTYPE),
            np.zeros(0, dtype=bool),
            np.zeros((0, slots), dtype=np.int64),
            np.zeros((0, slots), dtype=np.int64),
            np.zeros(0, dtype=COMM_DTYPE),
            np.zeros(0, dtype=bool),
            np.zeros(0, dtype=bool),
            np.zeros(0, dtype=np.int64),
        )

    def rows(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.live)

    def at_live(self, column: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """`column` (an entry per row) at the live rows, in row order: the column
        itself, not a copy, when every row is live (the usual case)."""
        return column if self.live.all() else np.take(column, self.rows(), axis=0)


def rows_with_any(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """flags.any(axis=1), reading each row's bytes as 64-bit words where its
    width allows: a third of the cost on rows of a few dozen flags."""
    if flags.shape[1] % 8 or not flags.flags.c_contiguous:
        return np.asarray(flags.any(axis=1), dtype=bool)
    words = flags.view(np.uint64)
    out: npt.NDArray[np.bool_] = words[:, 0] != 0
    for column in range(1, words.shape[1]):
        out |= words[:, column] != 0
    return out


def trim_comm(raw: bytes) -> bytes:
    """A comm as the kernel keeps it, cut at its first NUL."""
    return bytes(raw).split(b"\0", 1)[0]
