"""The report as Markdown, to paste into an issue tracker (GitHub-flavoured tables)."""

from __future__ import annotations

from numascope.exporters.report.model import Report, Section, Table


def _cell(text: str) -> str:
    # A pipe would end the cell and a newline the row.
    return " ".join(text.split()).replace("|", "\\|") or " "


def table(t: Table) -> list[str]:
    out = [f"**{t.title}**", ""] if t.title else []
    if not t.rows:
        return [*out, f"_{t.empty}_", ""]
    out.append("| " + " | ".join(_cell(h) for h in t.headers) + " |")
    out.append("|" + "|".join(" --- " for _ in t.headers) + "|")
    out.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows)
    out.append("")
    return out


def section(s: Section) -> list[str]:
    out = [f"## {s.title}", ""]
    if s.lines:
        out.extend(f"- {line}" for line in s.lines)
        out.append("")
    for t in s.tables:
        out.extend(table(t))
    if s.code:
        out.extend(["<details><summary>Policy in effect</summary>", "", "```json"])
        out.extend(s.code.splitlines())
        out.extend(["```", "", "</details>", ""])
    return out


def render_markdown(report: Report) -> str:
    """Summary and verdict first, then findings and the evidence behind them."""
    out = [f"# {report.title}", "", f"**Verdict:** {report.verdict.text}", "", "## Summary", ""]
    out.extend(f"- {line}" for line in report.summary)
    out.append("")
    for s in report.sections:
        out.extend(section(s))
    return "\n".join(out).rstrip() + "\n"
