"""Notice that a config file was replaced or rewritten, with one stat() per check.

Kubernetes updates a mounted ConfigMap by writing a new folder and swapping the
`..data` symlink to it; the file's path stays the same and no signal is sent. A
stat() that follows the symlinks sees a different inode (or mtime or size) after
the swap, as it does after an editor's save or a `cp` over the file.
"""

from __future__ import annotations

import os
from pathlib import Path

# (device, inode, mtime in ns, size) of the file the path resolves to; None when
# it cannot be read (missing mid-way through a replacement, or a bad mount).
Identity = tuple[int, int, int, int] | None


def identity_of(path: Path) -> Identity:
    """What stat() says of the file at the end of `path`'s symlinks, or None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


class FileWatch:
    """Reports, once per change, that the file at `path` is no longer the one last seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen = identity_of(path)

    def changed(self) -> bool:
        """True once after each change to the file's identity (a missing file is one)."""
        now = identity_of(self.path)
        if now == self._seen:
            return False
        self._seen = now
        return True
