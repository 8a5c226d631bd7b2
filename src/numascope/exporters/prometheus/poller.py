"""The exporter's poller thread: keeps the latest judged snapshot for scrapes.

Scrapes never touch the kernel: they read whatever the poller last stored, so
a slow or frequent scraper cannot change what numascope measures or costs.
Polling, judging and pacing are the pipeline's `PacedPoller`; this thread adds
only what serving needs: the latest snapshot, and counts of polls and failures.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from numascope.pipeline.poller import PacedPoller
from numascope.snapshot.model import Snapshot


class Poller:
    """Runs `polls` on a daemon thread, the first poll at once."""

    def __init__(self, polls: PacedPoller, log: TextIO = sys.stderr) -> None:
        self.polls = polls
        self._log = log
        self._lock = threading.Lock()
        self._latest: Snapshot | None = None
        self._polls = 0
        self._errors = 0
        self._last_error = ""
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
        try:
            judged = self.polls.poll()
        except Exception as exc:  # a bad poll must not take the exporter down
            message = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self._polls += 1
                self._errors += 1
                repeated, self._last_error = message == self._last_error, message
            if not repeated:
                print(f"numascope export: poll failed: {message}", file=self._log, flush=True)
            return
        for note in judged.notes:
            print(f"numascope export: {note}", file=self._log, flush=True)
        with self._lock:
            self._polls += 1
            self._latest = judged.snapshot
            self._last_error = ""

    def start(self) -> None:
        self.polls.pacer.start_now()
        self.polls.pacer.delay()  # the first tick is now: the first scrape already has data
        self.poll_once()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.polls.pacer.interval + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.polls.pacer.delay()):
            self.poll_once()
