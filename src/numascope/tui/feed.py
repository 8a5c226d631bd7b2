"""From a snapshot source to frames the screen can show, off the UI thread.

`Feed` is the abstract poller (start, pause, stop); `ThreadFeed` runs a
source's `poll()` on a worker thread and posts each result as a message, so a
poll that blocks on the kernel never blocks a key press. The policy engine runs
on the same thread: reading every process's numa_maps is kernel work too.
"""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from numascope.collectors.mempolicy import ProcessPolicy
from numascope.config import PolicyHolder
from numascope.policy import JUDGED_KINDS, PolicyEngine
from numascope.snapshot.model import Snapshot
from numascope.tui.messages import FeedFailed, FrameReady
from numascope.tui.rows import Placements


class SnapshotSource(Protocol):
    """Anything that yields snapshots: the live kernel, kernel counters, a replay."""

    def poll(self) -> Snapshot: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Frame:
    """One snapshot with what the policy side says about its workloads."""

    snapshot: Snapshot
    placements: Placements
    notes: tuple[str, ...] = ()


class Judge:
    """Adds findings, configured rules and actual memory policies to a snapshot.

    `proc` None means the processes are not on this host (a replay): policies
    are not read, and the findings recorded in the stream are kept unless the
    user gave a config to judge it by (`rejudge`).
    """

    def __init__(self, holder: PolicyHolder, proc: str | None = "/proc", rejudge: bool = True):
        self.holder = holder
        self.proc = proc
        self.rejudge = rejudge
        self.engine = PolicyEngine(holder, proc=proc)

    def frame(self, snapshot: Snapshot) -> Frame:
        notes: list[str] = []
        reloaded, error = self.holder.reload_if_requested()
        if error:
            notes.append(error)
        elif reloaded:
            notes.append(f"policy reloaded from {self.holder.path}")
        policies: Mapping[int, ProcessPolicy] = {}
        if self.proc is not None and snapshot.processes:
            # Read within the engine's budget per poll: reading every process's
            # numa_maps each frame took seconds on a host with 10,000 of them.
            policies = self.engine.kernel_policies(snapshot)
        if self.rejudge:
            snapshot = self.engine.judge(snapshot, policies)
        rules = {}
        for w in snapshot.processes:
            if w.kind in JUDGED_KINDS:
                kernel = policies.get(w.pid) if w.pid is not None else None
                rule = self.engine.rule_for(w, kernel)
                rules[w.key] = f"{rule.name}: {rule.placement.describe()}"
        mempolicies = {pid: str(p.dominant) for pid, p in policies.items()}
        return Frame(snapshot, Placements(rules, mempolicies), tuple(notes))


class Feed(abc.ABC):
    """A producer of frames for the app; the app only starts, pauses and stops it."""

    @abc.abstractmethod
    def start(self, post: Callable[[FrameReady | FeedFailed], object]) -> None: ...

    @abc.abstractmethod
    def set_paused(self, paused: bool) -> None: ...

    @abc.abstractmethod
    def set_interval(self, seconds: float) -> None: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    def refresh(self) -> None:  # noqa: B027 (a feed that never sleeps has nothing to do)
        """Poll again now, even a finished source (a policy reload judges it again)."""

    @property
    @abc.abstractmethod
    def finished(self) -> bool:
        """True when the source has nothing new to give (the end of a replay)."""


class ThreadFeed(Feed):
    """Polls `source` every `interval` seconds on a daemon thread.

    Once the source is finished (the end of a replay) the thread sleeps until it
    is woken (`refresh`, resume, stop): polling the same last snapshot again would
    only cost CPU while nothing changes.
    """

    def __init__(self, source: SnapshotSource, judge: Judge | None, interval: float) -> None:
        self.source = source
        self.judge = judge
        self.interval = interval
        self._stop = threading.Event()
        self._running = threading.Event()  # set: polling; clear: paused
        self._running.set()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def finished(self) -> bool:
        return bool(getattr(self.source, "finished", False))

    def start(self, post: Callable[[FrameReady | FeedFailed], object]) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(post,), name="numascope-feed", daemon=True
        )
        self._thread.start()

    def _run(self, post: Callable[[FrameReady | FeedFailed], object]) -> None:
        while not self._stop.is_set():
            self._running.wait()
            if self._stop.is_set():
                break
            started = time.monotonic()
            try:
                snapshot = self.source.poll()
                frame = self.judge.frame(snapshot) if self.judge else Frame(snapshot, Placements())
            except Exception as exc:  # a failed poll is shown on screen, not a crash
                post(FeedFailed(f"{type(exc).__name__}: {exc}"))
            else:
                post(FrameReady(frame))
            # Sleep out the rest of the interval; `_wake` cuts it short on stop, resume or
            # refresh, and is the only way on from a finished source.
            rest = max(0.0, self.interval - (time.monotonic() - started))
            self._wake.wait(None if self.finished else rest)
            self._wake.clear()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self._running.clear()
        else:
            self._running.set()
            self._wake.set()

    def set_interval(self, seconds: float) -> None:
        self.interval = seconds

    def refresh(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Stop polling and close the source (waits for a poll under way to end)."""
        self._stop.set()
        self._running.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self.source.close()
