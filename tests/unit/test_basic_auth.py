"""Basic auth under a flood: unknown users cost what wrong passwords cost, bcrypt
runs one check at a time, and every outcome is cached in a bounded cache."""

from __future__ import annotations

import threading
import time

import bcrypt
import pytest

from numascope.exporters.prometheus.basic_auth import (
    BasicAuth,
    ChecksBusyError,
    OutcomeCache,
    bcrypt_cost,
)

COST = 6
HASH = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=COST))


class RecordingBcrypt:
    """The real bcrypt.checkpw, noting each call and how many ran at once."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        with self._lock:
            self.calls.append(hashed)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            return bcrypt.checkpw(password, hashed)
        finally:
            with self._lock:
                self.running -= 1


def test_an_unknown_user_runs_bcrypt_at_the_users_cost() -> None:
    checker = RecordingBcrypt()
    auth = BasicAuth({"prometheus": HASH}, checker)
    assert not auth.check("nobody", "s3cret")
    assert not auth.check("prometheus", "wrong")
    assert len(checker.calls) == 2
    unknown, wrong = checker.calls
    assert unknown != HASH and bcrypt_cost(unknown) == bcrypt_cost(wrong) == COST


def test_a_failed_check_is_cached_and_a_good_one_too() -> None:
    checker = RecordingBcrypt()
    auth = BasicAuth({"prometheus": HASH}, checker)
    for _ in range(5):
        assert not auth.check("prometheus", "wrong")
        assert not auth.check("nobody", "wrong")
        assert auth.check("prometheus", "s3cret")
    assert len(checker.calls) == 3


def test_bcrypt_runs_one_check_at_a_time() -> None:
    checker = RecordingBcrypt()
    auth = BasicAuth({"prometheus": HASH}, checker)
    threads = [
        threading.Thread(target=auth.check, args=("prometheus", f"wrong{i}")) for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(checker.calls) == 8
    assert checker.most_at_once == 1


def test_the_same_wrong_password_at_once_runs_bcrypt_once() -> None:
    checker = RecordingBcrypt()
    auth = BasicAuth({"prometheus": HASH}, checker)
    start = threading.Barrier(10)

    def scrape() -> None:
        start.wait()
        assert not auth.check("prometheus", "wrong")

    threads = [threading.Thread(target=scrape) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(checker.calls) == 1


def test_the_cache_stays_within_its_size() -> None:
    auth = BasicAuth(
        {"prometheus": bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4))}, cache_size=10
    )
    for i in range(25):
        auth.check("prometheus", f"wrong{i}")
        assert auth.cached_outcomes <= 10
    cache = OutcomeCache(10)
    for i in range(10):
        cache.put(bytes([i]), False)
    cache.put(b"new", True)
    assert len(cache) == 10 and cache.get(b"new") is True and cache.get(bytes([0])) is None


def test_a_password_longer_than_bcrypt_reads_is_checked_not_raised() -> None:
    long = "x" * 100
    auth = BasicAuth({"u": bcrypt.hashpw(long[:72].encode(), bcrypt.gensalt(rounds=4))})
    assert auth.check("u", long)  # as htpasswd and Go compare it: the first 72 bytes
    assert not auth.check("u", "y" * 100)


def test_beyond_max_waiting_an_unchecked_password_is_told_to_come_back() -> None:
    release = threading.Event()
    started = threading.Semaphore(0)

    def slow_bcrypt(password: bytes, hashed: bytes) -> bool:
        if password.startswith(b"wrong"):  # the flood's checks wait to be released
            started.release()
            release.wait(10)
        return bcrypt.checkpw(password, hashed)

    auth = BasicAuth({"prometheus": HASH}, slow_bcrypt, max_waiting=3)
    assert auth.check("prometheus", "s3cret")  # cached before the flood
    waiting = [
        threading.Thread(target=auth.check, args=("prometheus", f"wrong{i}")) for i in range(3)
    ]
    for t in waiting:
        t.start()
    assert started.acquire(timeout=10)  # one is in bcrypt, two queue behind it
    deadline = time.monotonic() + 10
    while auth.waiting < 3:
        assert time.monotonic() < deadline, "the three checks never queued"
        time.sleep(0.01)
    with pytest.raises(ChecksBusyError):
        auth.check("prometheus", "one too many")
    assert auth.check("prometheus", "s3cret"), "cached credentials never wait"
    release.set()
    for t in waiting:
        t.join()
    assert not auth.check("prometheus", "one too many")


def test_a_guessing_attack_never_pushes_out_a_scraper_that_is_let_in() -> None:
    checker = RecordingBcrypt()
    fast = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4))
    auth = BasicAuth({"prometheus": fast}, checker, cache_size=10)
    assert auth.check("prometheus", "s3cret")
    for i in range(25):
        assert not auth.check("prometheus", f"guess{i}")
    calls = len(checker.calls)
    assert auth.check("prometheus", "s3cret")
    assert len(checker.calls) == calls, "the good credentials needed bcrypt again"
