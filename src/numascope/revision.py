"""Which commit of numascope is running: `numascope_build_info{revision}`.

In order: a `REVISION` file next to this module (written by whoever builds a
package or an image from a checkout: `git rev-parse HEAD > src/numascope/REVISION`),
else the commit checked out when numascope runs from its source tree, read from
`.git` directly (no git binary, no subprocess), else "unknown".
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

UNKNOWN = "unknown"
PACKAGE = Path(__file__).resolve().parent
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@functools.cache
def revision() -> str:
    """The running commit (40 hex digits), or "unknown"; read once per process."""
    return read_revision(PACKAGE)


def read_revision(package: Path) -> str:
    """The revision for the package folder `package` (see the module's docstring)."""
    baked = _read(package / "REVISION")
    if baked and _SHA.match(baked):
        return baked
    # Only the source layout's own checkout counts (src/numascope -> the repository
    # root): an installed copy under some other repository's venv must not report
    # that repository's commit.
    if package.parent.name != "src":
        return UNKNOWN
    return git_head(package.parent.parent / ".git") or UNKNOWN


def git_head(dot_git: Path) -> str | None:
    """The commit HEAD names in the repository (or worktree) at `dot_git`."""
    git_dir = dot_git
    if dot_git.is_file():  # a worktree: "gitdir: /main/.git/worktrees/name"
        pointer = _read(dot_git)
        if not pointer or not pointer.startswith("gitdir:"):
            return None
        git_dir = (dot_git.parent / pointer.removeprefix("gitdir:").strip()).resolve()
    head = _read(git_dir / "HEAD")
    if head is None:
        return None
    if _SHA.match(head):  # a detached HEAD
        return head
    if not head.startswith("ref:"):
        return None
    ref = head.removeprefix("ref:").strip()
    # A worktree keeps HEAD of its own; branches live in the common folder.
    common = _read(git_dir / "commondir")
    common_dir = (git_dir / common).resolve() if common else git_dir
    for folder in (git_dir, common_dir):
        loose = _read(folder / ref)
        if loose and _SHA.match(loose):
            return loose
    return _packed_ref(common_dir / "packed-refs", ref)


def _packed_ref(path: Path, ref: str) -> str | None:
    for line in (_read(path) or "").splitlines():
        sha, _, name = line.partition(" ")
        if name == ref and _SHA.match(sha):
            return sha
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
