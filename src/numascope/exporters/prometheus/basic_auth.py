"""Basic auth that a flood of wrong passwords cannot turn into a busy core.

As Prometheus' exporter-toolkit does it (web/handler.go, web/cache.go):

- an unknown user is checked against a dummy bcrypt hash of the same cost as the
  real ones, so the answer takes as long as for a wrong password and does not say
  which user names exist;
- bcrypt runs one check at a time (a lock): however many requests arrive at once,
  authentication costs at most one core, and usually far less;
- at most a few requests wait for that lock (`max_waiting`); one more is told to
  come back later (ChecksBusyError, a 503) rather than hold a thread and a slot of the
  request cap while a guessing attack keeps bcrypt busy: scrapers whose
  credentials are cached never wait and are still served;
- every outcome, failures included, is remembered under a digest of user, hash and
  password in a small bounded cache, so a scraper that keeps sending the same wrong
  password pays for bcrypt once, not on every scrape. Passes and failures are kept
  apart: a guessing attack fills only the failures' cache, so it never pushes out
  the credentials of the scrapers that are let in.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Mapping

import bcrypt

# exporter-toolkit's size: a few scrapers and a few wrong passwords fit many times over.
CACHE_SIZE = 100

# bcrypt reads only the first 72 bytes of a password. bcrypt 5 raises on longer ones
# where htpasswd, Go and older bcrypt releases truncate; truncating keeps a long
# password that works for node_exporter working here too.
BCRYPT_MAX_PASSWORD_BYTES = 72

# A hash of a password no one is told, made cheaply once; its cost field is swapped
# for the users' cost (the work bcrypt does depends only on that field).
_DUMMY = bcrypt.hashpw(b"numascope: no such user", bcrypt.gensalt(rounds=4))

# Requests that may wait for bcrypt at once (the one running included): a quarter of
# the default request cap, so waiting checks never take most of its slots.
MAX_WAITING = 10

CheckPassword = Callable[[bytes, bytes], bool]


class ChecksBusyError(Exception):
    """Too many password checks are waiting for bcrypt; ask again later."""


def bcrypt_cost(hashed: bytes) -> int:
    """The cost field of a bcrypt hash (`$2y$10$...` -> 10)."""
    return int(hashed.split(b"$")[2])


def dummy_hash(cost: int) -> bytes:
    """A valid bcrypt hash of cost `cost` that no password matches in practice."""
    parts = _DUMMY.split(b"$")
    parts[2] = b"%02d" % cost
    return b"$".join(parts)


class OutcomeCache:
    """A bounded map from credential digests to the check's answer.

    When full, the oldest tenth is dropped at once, so a stream of new keys does
    not pay for an eviction on every insert.
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._entries: dict[bytes, bool] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> bool | None:
        """The cached answer, or None when this key was never checked (or was dropped)."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key: bytes, value: bool) -> None:
        """Remember `value` for `key`, making room first when full."""
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.size:
                for old in list(self._entries)[: max(1, self.size // 10)]:
                    del self._entries[old]
            self._entries[key] = value


class BasicAuth:
    """Checks user and password against the configured bcrypt hashes."""

    def __init__(
        self,
        users: Mapping[str, bytes],
        check_password: CheckPassword = bcrypt.checkpw,
        cache_size: int = CACHE_SIZE,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self.users = dict(users)
        self._check_password = check_password
        self._passed = OutcomeCache(cache_size)
        self._failed = OutcomeCache(cache_size)
        self._bcrypt_lock = threading.Lock()
        self.max_waiting = max_waiting
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        costs = Counter(bcrypt_cost(h) for h in self.users.values())
        # The most common cost (the highest on a tie): with one cost for every user,
        # the usual case, an unknown name costs exactly what a wrong password does.
        cost = max(costs, key=lambda c: (costs[c], c)) if costs else 4
        self.dummy = dummy_hash(cost)

    @property
    def cached_outcomes(self) -> int:
        """How many outcomes the caches hold (passes and failures, each at most its size)."""
        return len(self._passed) + len(self._failed)

    def _cached(self, key: bytes) -> bool | None:
        if self._passed.get(key) is not None:
            return True
        return self._failed.get(key)

    @property
    def waiting(self) -> int:
        """Checks waiting for bcrypt or in it now."""
        return self._waiting

    def check(self, user: str, password: str) -> bool:
        """Whether `password` is `user`'s; the same work whether `user` exists or not.

        Raises ChecksBusyError when the answer is not cached and `max_waiting` checks
        are already queued for bcrypt.
        """
        hashed = self.users.get(user)
        known = hashed is not None
        if hashed is None:
            hashed = self.dummy
        secret = password.encode()
        key = hashlib.sha256(
            b":".join((user.encode().hex().encode(), hashed, secret.hex().encode()))
        ).digest()
        outcome = self._cached(key)
        if outcome is not None:
            return outcome
        with self._waiting_lock:
            if self._waiting >= self.max_waiting:
                raise ChecksBusyError
            self._waiting += 1
        try:
            with self._bcrypt_lock:
                # Requests with the same credentials that queued behind this lock find
                # the first one's answer here instead of running bcrypt again.
                outcome = self._cached(key)
                if outcome is None:
                    matched = self._check_password(secret[:BCRYPT_MAX_PASSWORD_BYTES], hashed)
                    outcome = matched and known
                    (self._passed if outcome else self._failed).put(key, outcome)
        finally:
            with self._waiting_lock:
                self._waiting -= 1
        return outcome
