"""What every view reads: a source of snapshots.

The live kernel (BPF or its own counters), FreeBSD's DTrace and a replayed
capture all have this shape, so `top`, `export`, `capture` and `snapshot`
cannot tell them apart. Declared here, beside the model, so that a view serving
a replay never imports the probe loaders.
"""

from __future__ import annotations

from typing import Protocol

from numascope.snapshot.model import Snapshot


class SnapshotSource(Protocol):
    """Anything that yields snapshots: the live kernel, kernel counters, a replay."""

    def poll(self) -> Snapshot:
        """The next snapshot (a replay's last one again once it is finished)."""
        ...

    def close(self) -> None:
        """Detach from the kernel or the file; the source is not polled again."""
        ...


def is_finished(source: SnapshotSource) -> bool:
    """True when the source has nothing new to give (the end of a replay)."""
    return bool(getattr(source, "finished", False))
