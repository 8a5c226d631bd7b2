"""Label values from names that anyone who starts a process can choose."""

from __future__ import annotations

import re

# Long enough for any cgroup path worth reading on a dashboard; a longer one is
# cut so that one hostile name cannot make every scrape megabytes larger.
MAX_LABEL_CHARS = 256

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _escape_control(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def label_value(text: str) -> str:
    """`text` as a label value that is valid UTF-8 and one line.

    Names reach us already decoded with backslash escapes for bad bytes, but a
    lone surrogate (from surrogateescape decoding) would make the exposition
    unencodable, so those become escapes too. Control characters (newlines
    included) become `\\xNN`: prometheus_client would escape a newline correctly,
    but a panel legend or alert message with a line break in it helps no one.
    """
    safe = text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    safe = _CONTROL.sub(_escape_control, safe)
    if len(safe) > MAX_LABEL_CHARS:
        safe = safe[: MAX_LABEL_CHARS - 3] + "..."
    return safe


def node_label(node: int) -> str:
    """Node ids as node_exporter writes them; -1 (unknown) stays -1."""
    return str(node)
