"""Reading an owners buffer out of the kernel: every entry, deleted as it is read.

In one contiguous buffer (probes.map_batch) where the kernel and the map allow,
else through bcc's batch calls, else entry by entry; always as structured
arrays in the layout of page_alloc.bpf.c's structs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from numascope.collectors.owner_table import KEY_DTYPE, trim_comm
from numascope.probes.map_batch import BatchReader, BatchUnsupportedError


class OwnerDrain:
    """Drains owners buffers whose values have the dtype `values`; keeps one
    batch reader per map (None: that map cannot be read in batches)."""

    def __init__(self, values: np.dtype[Any]) -> None:
        self._values = values
        self._readers: dict[int, BatchReader | None] = {}

    def read_and_delete(self, table: Any) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """Every entry of an owners buffer, deleted from it, as structured arrays
        (valid until the next call: they may be views of a reused buffer)."""
        fd = getattr(table, "map_fd", None)
        reader = self._readers.get(fd) if isinstance(fd, int) else None
        if isinstance(fd, int) and fd not in self._readers:
            reader = self._readers[fd] = BatchReader.for_table(table)
            if reader is not None and (
                reader.key_size != KEY_DTYPE.itemsize or reader.value_size != self._values.itemsize
            ):
                reader = self._readers[fd] = None  # not the layout this code knows
        if reader is not None:
            try:
                raw_keys, raw_values, count = reader.drain()
            except BatchUnsupportedError:
                self._readers[reader.fd] = None
            else:
                # Views of the reader's buffers, not copies (1.7 MB at 10,000
                # owners): absorbed before the next read overwrites them.
                return (
                    np.frombuffer(raw_keys, dtype=KEY_DTYPE, count=count),
                    np.frombuffer(raw_values, dtype=self._values, count=count),
                )
        items = list(_drain_items(table))
        keys = np.zeros(len(items), dtype=KEY_DTYPE)
        values = np.zeros(len(items), dtype=self._values)
        for i, (k, v) in enumerate(items):
            keys[i] = (k.tgid, k.context, k.cgroup_id, k.cpu_node, 0)
            values[i] = (trim_comm(v.comm), list(v.events), list(v.pages))
        return keys, values


def _drain_items(table: Any) -> Iterator[tuple[Any, Any]]:
    """Read and delete every entry; batched where the kernel and bcc allow."""
    try:
        yield from table.items_lookup_and_delete_batch()
        return
    except (AttributeError, NotImplementedError):
        pass
    except Exception as exc:  # bcc raises bare Exception when the kernel lacks batch ops
        if "batch" not in str(exc).lower():
            raise
    items = list(table.items())
    for k, _ in items:
        table.pop(k, None)
    yield from items
