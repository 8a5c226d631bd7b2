"""Drain a BPF hash map in a few syscalls, into one reusable contiguous buffer.

bcc's own batch read (0.26) yields one ctypes struct per entry, and it shares
one `c_uint32` between the batch token and the entry count, so a map that needs
more than one call can be read wrongly. This reader keeps the two apart, loops
until the kernel says ENOENT (end of map), and hands back the raw bytes, which
the caller views as a numpy structured array without a Python object per entry.
"""

from __future__ import annotations

import ctypes
import errno
import os
from dataclasses import dataclass, field
from typing import Any

from numascope.probes.prog_stats import _libbpf

ENOTSUPP = 524  # the kernel's own "operation not supported", not in errno


class BatchUnsupportedError(Exception):
    """The kernel or libbpf cannot batch this map: read it entry by entry."""


@dataclass
class BatchReader:
    """Reads and deletes every entry of one map; buffers are kept between polls."""

    fd: int
    key_size: int
    value_size: int
    capacity: int
    _keys: Any = field(init=False, repr=False)
    _values: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._keys = ctypes.create_string_buffer(self.key_size * self.capacity)
        self._values = ctypes.create_string_buffer(self.value_size * self.capacity)

    @classmethod
    def for_table(cls, table: Any) -> BatchReader | None:
        """A reader for a bcc table, or None if `table` is not one (a test stand-in)."""
        fd = getattr(table, "map_fd", None)
        if not isinstance(fd, int):
            return None
        return cls(
            fd,
            ctypes.sizeof(table.Key),
            ctypes.sizeof(table.Leaf),
            int(table.max_entries),
        )

    def drain(self) -> tuple[memoryview, memoryview, int]:
        """(keys, values, count): raw bytes of the entries read and deleted.

        The views point into buffers that the next call overwrites."""
        lib = _libbpf()
        call = getattr(lib, "bpf_map_lookup_and_delete_batch", None) if lib else None
        if call is None:
            raise BatchUnsupportedError("libbpf has no bpf_map_lookup_and_delete_batch")
        call.restype = ctypes.c_int
        in_token = ctypes.c_uint32(0)
        out_token = ctypes.c_uint32(0)
        count = ctypes.c_uint32(0)
        total = 0
        first = True
        while total < self.capacity:
            count.value = self.capacity - total
            res = call(
                self.fd,
                None if first else ctypes.byref(in_token),
                ctypes.byref(out_token),
                ctypes.byref(self._keys, self.key_size * total),
                ctypes.byref(self._values, self.value_size * total),
                ctypes.byref(count),
                None,
            )
            err = -res if res < 0 else ctypes.get_errno()
            total += count.value
            if res == 0:
                first = False
                in_token.value = out_token.value
                if count.value == 0:
                    break  # no progress; what is left is read next poll
                continue
            if err == errno.ENOENT:
                break  # the end of the map
            if err in (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP) and first and not total:
                raise BatchUnsupportedError(os.strerror(err))
            raise OSError(err, f"BPF_MAP_LOOKUP_AND_DELETE_BATCH: {os.strerror(err)}")
        keys = memoryview(self._keys).cast("B")[: self.key_size * total]
        values = memoryview(self._values).cast("B")[: self.value_size * total]
        return keys, values, total
