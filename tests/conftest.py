"""Shared test plumbing: prerequisites that skip locally and fail in CI."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI") == "true"


def require(condition: bool, reason: str) -> None:
    """Skip the test when `condition` is false, or fail it in CI (CI=true).

    A green CI must mean the real-kernel tests ran, so a missing prerequisite
    there is a failure, never a silent skip.
    """
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but a prerequisite is missing: {reason}")
    pytest.skip(reason)


def require_root() -> None:
    require(os.geteuid() == 0, "needs root to load BPF programs")
