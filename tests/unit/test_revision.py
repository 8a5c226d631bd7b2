"""build_info's revision: read from .git the way git itself resolves HEAD, checked
against real repositories made with git (a branch, a worktree, packed refs, a
detached HEAD), a baked REVISION file, and nothing at all."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from numascope.revision import UNKNOWN, git_head, read_revision
from tests.conftest import require


def git(cwd: Path, *args: str) -> str:
    path = shutil.which("git")
    require(path is not None, "git is not installed")
    assert path is not None
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    out = subprocess.run([path, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "numascope"
    (root / "src" / "numascope").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("x\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_a_checkout_on_a_branch(repo: Path) -> None:
    assert git_head(repo / ".git") == git(repo, "rev-parse", "HEAD")
    assert read_revision(repo / "src" / "numascope") == git(repo, "rev-parse", "HEAD")


def test_packed_refs_and_a_detached_head(repo: Path) -> None:
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert git_head(repo / ".git") == git(repo, "rev-parse", "HEAD")
    (repo / "more").write_text("y\n")
    git(repo, "add", "more")
    git(repo, "commit", "-q", "-m", "second")
    git(repo, "checkout", "-q", "--detach", "HEAD~1")
    assert git_head(repo / ".git") == git(repo, "rev-parse", "HEAD")


def test_a_worktree_reads_its_own_head(repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "topic", str(other))
    (other / "change").write_text("z\n")
    git(other, "add", "change")
    git(other, "commit", "-q", "-m", "on the topic branch")
    assert (other / ".git").is_file()
    head = git(other, "rev-parse", "HEAD")
    assert head != git(repo, "rev-parse", "HEAD")
    assert git_head(other / ".git") == head


def test_a_baked_revision_wins_and_anything_else_is_unknown(repo: Path, tmp_path: Path) -> None:
    package = repo / "src" / "numascope"
    baked = "0123456789abcdef0123456789abcdef01234567"
    (package / "REVISION").write_text(baked + "\n")
    assert read_revision(package) == baked
    (package / "REVISION").write_text("not a commit\n")
    assert read_revision(package) == git(repo, "rev-parse", "HEAD")
    installed = tmp_path / "site-packages" / "numascope"
    installed.mkdir(parents=True)
    assert read_revision(installed) == UNKNOWN, "no checkout of its own: unknown"
    shutil.rmtree(repo / ".git")
    assert read_revision(package) == UNKNOWN
