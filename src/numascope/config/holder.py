"""The running policy, swappable on SIGHUP or a file change without ever running with a bad file."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

from numascope.config.file_watch import FileWatch
from numascope.config.loader import load_config, resolve_config_path
from numascope.config.model import Config
from numascope.errors import NumascopeError


class PolicyHolder:
    """Holds the current config; `reload()` replaces it only with a valid one.

    Long-running commands call `install_sighup()` once and `reload_if_requested()`
    on every tick: the signal handler only sets a flag, so the file is read in the
    main loop and never in the middle of an evaluation. `watch_file()` makes a
    change to the file itself request the reload too (a Kubernetes ConfigMap is
    updated by swapping a symlink, with no signal).
    """

    def __init__(self, config: Config, path: Path | None = None) -> None:
        self._config = config
        self._path = path
        self._lock = threading.Lock()
        self._requested = threading.Event()
        self._watch: FileWatch | None = None

    @classmethod
    def open(cls, path: str | Path | None = None) -> PolicyHolder:
        """Load `path` (or the system file, or the default); a bad file raises ConfigError."""
        resolved = resolve_config_path(path)
        return cls(load_config(resolved), resolved)

    @property
    def config(self) -> Config:
        with self._lock:
            return self._config

    @property
    def path(self) -> Path | None:
        return self._path

    def reload(self) -> str | None:
        """Re-read the file. None when it worked; else why, with the old policy kept."""
        if self._path is None:
            return None
        try:
            config = load_config(self._path)
        except NumascopeError as exc:
            return f"{exc}; keeping the previous policy"
        with self._lock:
            self._config = config
        return None

    def request_reload(self) -> None:
        """Ask for a reload at the next `reload_if_requested()` (signal-safe)."""
        self._requested.set()

    def watch_file(self) -> None:
        """From now on, a changed file (inode, mtime or size) requests a reload.

        One stat() per `reload_if_requested()`. A bad new file is reported once and
        the old policy kept until the file changes again.
        """
        if self._path is not None:
            self._watch = FileWatch(self._path)

    def reload_if_requested(self) -> tuple[bool, str | None]:
        """(whether a reload ran, its error message or None)."""
        if self._watch is not None and self._watch.changed():
            self._requested.set()
        if not self._requested.is_set():
            return False, None
        self._requested.clear()
        return True, self.reload()

    def install_sighup(self) -> None:
        """Make SIGHUP request a reload (call from the main thread)."""

        def handler(signum: int, frame: FrameType | None) -> None:
            self.request_reload()

        signal.signal(signal.SIGHUP, handler)
