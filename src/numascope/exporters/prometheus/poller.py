"""The exporter's poller thread: keeps the latest judged snapshot for scrapes.

Scrapes never touch the kernel: they read whatever the poller last stored, so
a slow or frequent scraper cannot change what numascope measures or costs.
Polling, judging and pacing are the pipeline's `PacedPoller`; this thread adds
only what serving needs: the latest snapshot, and counts of polls and failures.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from numascope.pipeline.poller import PacedPoller
from numascope.snapshot.model import Snapshot

# The export command's logger: a failed poll is an error line in its log.
LOG = logging.getLogger("numascope.export")

# Called with each new snapshot before scrapes can read it (the exporter steps
# its budgeted counters there: once per poll, whoever scrapes and how often).
AfterPoll = Callable[[Snapshot], object]


class Poller:
    """Runs `polls` on a daemon thread, the first poll at once."""

    def __init__(self, polls: PacedPoller, after_poll: AfterPoll | None = None) -> None:
        self.polls = polls
        self._after_poll = after_poll
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
                LOG.error("poll failed: %s", message)
            return
        if judged.reload_error:
            LOG.error("policy reload failed: %s", judged.reload_error)
        else:
            for note in judged.notes:
                LOG.info("%s", note)
        if self._after_poll is not None:
            self._after_poll(judged.snapshot)
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
