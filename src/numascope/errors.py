"""numascope's own error: what the user did or lacks, said in one line."""

from __future__ import annotations

from collections.abc import Iterable


class NumascopeError(Exception):
    """A problem the user can fix. The CLI prints `numascope: <message>` and exits 2.

    The message is one line, names the file, line, field or missing piece, and says
    what to do where that is known.
    """

    exit_code = 2


# The reason code of a probe failure that is not one of the missing prerequisites.
ATTACH_FAILED = "attach_failed"
# Reason codes, the most basic first: without privilege nothing else can be
# checked (tracefs is unreadable, so tracepoints look absent too).
REASONS = ("no_privilege", "no_bcc", "no_tracefs", "no_kernel_headers", "compile_failed")


class ProbeUnavailableError(NumascopeError):
    """The BPF probes cannot run here for a reason a metric can name.

    `reason` is a short, stable code (`no_privilege`, `no_bcc`, `no_tracefs`,
    `no_kernel_headers`, `compile_failed`, `attach_failed`): the label value of
    `numascope_source_fallback` when a live command falls back to the kernel's
    own counters, so an alert can say which prerequisite is missing.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def reason_of(exc: BaseException) -> str:
    """The reason code of a failure to start the probes (attach_failed if unnamed)."""
    return exc.reason if isinstance(exc, ProbeUnavailableError) else ATTACH_FAILED


def first_reason(reasons: Iterable[str]) -> str:
    """Of several families' reason codes, the most basic one (which explains the rest)."""
    given = set(reasons)
    return next((r for r in REASONS if r in given), ATTACH_FAILED)
