"""Find the collector's row for each drained owner key with array operations.

A dict from packed key to row costs a tenth of a microsecond per key once it
holds thousands (hashing a fresh bytes object, a cache miss per entry): a
millisecond a poll at 10,000 owners. Most owners are their process's only one
(its task context, one cgroup, one CPU node), so an array indexed by tgid,
modulo a power of two, names the row in one gather; the row's stored key is
then compared word by word with the drained one, so a slot that holds another
owner (a process's second CPU node, interrupts under tgid 0, two tgids equal
modulo the size) only costs a miss, which the caller looks up in its dict.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Rows = npt.NDArray[np.intp]
# Rows are held as int32 (a map holds far fewer owners): half the memory a
# poll touches in the index.

MIN_SIZE = 1 << 12


class TgidIndex:
    """One candidate row per tgid slot; -1 for none. A cache: never the authority.

    The collector tells it of each row it fills (`add`) or frees (`remove`),
    and has it rebuilt from its own key column once it holds more owners than
    the index has room for (`room_for`, `reindex`)."""

    def __init__(self) -> None:
        self._rows = np.full(MIN_SIZE, -1, dtype=np.int32)

    def room_for(self, owners: int) -> bool:
        """Whether `owners` fit with few collisions (a slot for each of four)."""
        return owners * 2 <= len(self._rows)

    def add(self, tgid: int, row: int) -> None:
        """`row` now holds an owner of `tgid`."""
        # The newest owner of a tgid wins the slot: it is the likeliest to allocate.
        self._rows[tgid & (len(self._rows) - 1)] = row

    def remove(self, tgid: int, row: int) -> None:
        slot = tgid & (len(self._rows) - 1)
        if self._rows[slot] == row:
            self._rows[slot] = -1

    def reindex(self, tgids: npt.NDArray[Any], live: npt.NDArray[np.bool_]) -> None:
        """Rebuild, sized for the owners held: `tgids[i]` is row i's, if `live[i]`."""
        rows = np.flatnonzero(live)
        size = 1 << max(4 * len(rows) - 1, MIN_SIZE - 1).bit_length()
        self._rows = np.full(size, -1, dtype=np.int32)
        self._rows[tgids[rows] & (size - 1)] = rows

    def rows_of(
        self, keys: npt.NDArray[Any], held: npt.NDArray[Any], live: npt.NDArray[np.bool_]
    ) -> Rows:
        """The row of each of `keys` whose slot's row holds exactly that key
        (`held[row]`, a live row), -1 for the others. `keys` and `held` are
        arrays of the same structured dtype, with a tgid field, compared as words."""
        if not len(held) or keys.dtype.itemsize % 8:
            return np.full(len(keys), -1, dtype=np.intp)
        rows = self._rows[keys["tgid"] & (len(self._rows) - 1)]
        has = rows >= 0
        candidate = np.where(has, rows, 0)
        same = has & np.take(live, candidate)
        words_per_key = keys.dtype.itemsize // 8
        drained = keys.view(np.uint64).reshape(len(keys), words_per_key)
        stored = np.take(held.view(np.uint64).reshape(len(held), words_per_key), candidate, axis=0)
        for word in range(words_per_key):
            same &= drained[:, word] == stored[:, word]
        return np.where(same, rows, -1).astype(np.intp)
