"""The poller thread: polls the source, applies the policy, keeps the latest snapshot.

Scrapes never touch the kernel: they read whatever the poller last stored, so
a slow or frequent scraper cannot change what numascope measures or costs.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol, TextIO

from numascope.snapshot.model import Snapshot

Judge = Callable[[Snapshot], Snapshot]


class SnapshotSource(Protocol):
    # The same shape as the collectors' sources, restated so that serving a
    # replayed capture does not import the probe loaders.
    def poll(self) -> Snapshot: ...

    def close(self) -> None: ...


class Poller:
    """Polls `source` every `interval` seconds on a daemon thread."""

    def __init__(
        self,
        source: SnapshotSource,
        interval: float,
        judge: Judge | None = None,
        before_poll: Callable[[], None] | None = None,
        log: TextIO = sys.stderr,
    ) -> None:
        self.source = source
        self.interval = interval
        self._judge = judge
        self._before_poll = before_poll
        self._log = log
        self._lock = threading.Lock()
        self._latest: Snapshot | None = None
        self._polls = 0
        self._errors = 0
        self._last_error = ""
        self._overruns = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="numascope-poller", daemon=True)

    @property
    def latest(self) -> Snapshot | None:
        with self._lock:
            return self._latest

    @property
    def counts(self) -> tuple[int, int]:
        """(polls, failed polls) so far."""
        with self._lock:
            return self._polls, self._errors

    def poll_once(self) -> None:
        """One poll; a failure is counted and logged, the last good snapshot kept."""
        if self._before_poll is not None:
            self._before_poll()
        started = time.monotonic()
        try:
            snapshot = self.source.poll()
            if self._judge is not None:
                snapshot = self._judge(snapshot)
            # A poll longer than the interval is counted; the next one still
            # waits a whole interval after it, so polls never bunch up.
            if time.monotonic() - started > self.interval:
                self._overruns += 1
            if self._overruns:
                health = dataclasses.replace(snapshot.health, poll_overruns=self._overruns)
                snapshot = dataclasses.replace(snapshot, health=health)
        except Exception as exc:  # a bad poll must not take the exporter down
            message = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self._polls += 1
                self._errors += 1
                repeated, self._last_error = message == self._last_error, message
            if not repeated:
                print(f"numascope export: poll failed: {message}", file=self._log, flush=True)
            return
        with self._lock:
            self._polls += 1
            self._latest = snapshot
            self._last_error = ""

    def start(self) -> None:
        self.poll_once()  # the first scrape already has data
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll_once()
