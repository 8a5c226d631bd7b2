"""FileWatch: one report per change of the file a path resolves to."""

from __future__ import annotations

import os
from pathlib import Path

from numascope.config import PolicyHolder
from numascope.config.file_watch import FileWatch


def test_unchanged_file_is_not_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\n")
    watch = FileWatch(path)
    assert not watch.changed()
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns))
    assert not watch.changed()


def test_rewrite_rename_and_symlink_swap_are_each_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\n")
    watch = FileWatch(path)
    path.write_text("version: 1\n# longer\n")  # same inode, new size and mtime
    assert watch.changed() and not watch.changed()
    other = tmp_path / "new.yaml"
    other.write_text("version: 1\n# longer\n")
    os.replace(other, path)  # an editor's save: a new inode under the same name
    assert watch.changed() and not watch.changed()

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "c.yaml").write_text("version: 1\n")
    (tmp_path / "b" / "c.yaml").write_text("version: 1\n")  # same size and content
    (tmp_path / "..data").symlink_to("a")
    linked = tmp_path / "linked.yaml"
    linked.symlink_to("..data/c.yaml")
    watch = FileWatch(linked)
    (tmp_path / "..tmp").symlink_to("b")
    os.replace(tmp_path / "..tmp", tmp_path / "..data")
    assert watch.changed() and not watch.changed()


def test_a_vanished_file_is_a_change_and_its_return_another(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\n")
    watch = FileWatch(path)
    path.unlink()
    assert watch.changed() and not watch.changed()
    path.write_text("version: 1\n")
    assert watch.changed()


def test_holder_reloads_only_once_watching(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("thresholds: {min-pages: 1}\n")
    holder = PolicyHolder.open(path)
    path.write_text("thresholds: {min-pages: 22}\n")
    assert holder.reload_if_requested() == (False, None)  # not watching: SIGHUP only
    holder.watch_file()
    path.write_text("thresholds: {min-pages: 333}\n")
    assert holder.reload_if_requested() == (True, None)
    assert holder.config.thresholds.min_pages == 333
    assert holder.reload_if_requested() == (False, None)
