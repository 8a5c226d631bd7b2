"""Short, fixed-width text for numbers and states, readable without colour."""

from __future__ import annotations

from collections.abc import Sequence

from numascope.snapshot.model import Finding, Severity

# Eight heights from the Unicode block elements: they survive monochrome terminals.
_BARS = "▁▂▃▄▅▆▇█"

# Every severity has a symbol *and* a word, so a finding reads the same without colour.
SEVERITY_MARK = {
    Severity.CRITICAL: ("✖", "CRIT", "bold red"),
    Severity.WARNING: ("▲", "WARN", "yellow"),
    Severity.INFO: ("●", "info", "cyan"),
}

SEVERITY_RANK = {Severity.CRITICAL: 3, Severity.WARNING: 2, Severity.INFO: 1}

# Finding kinds, shortened for a table cell.
_SHORT_KIND = {
    "remote-allocation": "remote",
    "outside-bind": "off-bind",
    "preferred-fallback": "fallback",
    "interleave-imbalance": "imbalance",
    "policy-drift": "drift",
    "resident-outside-bind": "lives off",
    "migrated-off-rule": "moved-off",
}


def rate(count: float, seconds: float) -> str:
    """Events per second, at most 6 characters: 12, 3.4k, 56M."""
    return human(count / seconds if seconds > 0 else 0.0)


def human(value: float) -> str:
    value = float(value)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return (
                f"{value / scale:.1f}{unit}"
                if abs(value) < 10 * scale
                else f"{value / scale:.0f}{unit}"
            )
    return f"{value:.0f}" if value == int(value) or abs(value) >= 10 else f"{value:.1f}"


def size(num_bytes: int) -> str:
    """Bytes in binary units: 512M, 3.5G."""
    value = float(num_bytes)
    for unit, scale in (("T", 2**40), ("G", 2**30), ("M", 2**20), ("K", 2**10)):
        if value >= scale:
            return (
                f"{value / scale:.1f}{unit}" if value < 10 * scale else f"{value / scale:.0f}{unit}"
            )
    return f"{value:.0f}B"


def percent(ratio: float) -> str:
    return f"{100 * ratio:.0f}%"


def sparkline(values: Sequence[float], width: int) -> str:
    """The last `width` values as block characters, scaled to the largest; blank-padded."""
    tail = list(values)[-width:]
    if not tail:
        return " " * width
    top = max(tail)
    if top <= 0:
        line = _BARS[0] * len(tail)
    else:
        line = "".join(_BARS[min(7, int(v / top * 7.999))] for v in tail)
    return line.rjust(width)


def finding_reason(finding: Finding) -> str:
    """A few words saying what is wrong, e.g. `remote 62%` or `drift`."""
    kind = _SHORT_KIND.get(finding.kind, finding.kind)
    ratio = finding.evidence.get("ratio")
    if isinstance(ratio, int | float) and ratio > 0:
        return f"{kind} {percent(float(ratio))}"
    return kind


def finding_cell(finding: Finding | None, extra: int = 0) -> tuple[str, str]:
    """(text, style) for a workload's worst finding; `extra` more are counted as +N."""
    if finding is None:
        return "ok", "dim"
    symbol, word, style = SEVERITY_MARK[finding.severity]
    more = f" +{extra}" if extra else ""
    return f"{symbol} {word} {finding_reason(finding)}{more}", style


def worst(findings: Sequence[Finding]) -> Finding | None:
    """The most severe finding (the first of equals, as the engine ranks them)."""
    best: Finding | None = None
    for finding in findings:
        if best is None or SEVERITY_RANK[finding.severity] > SEVERITY_RANK[best.severity]:
            best = finding
    return best
