"""The report as one standalone HTML page: inline CSS and SVG, nothing fetched."""

from __future__ import annotations

from html import escape

from numascope.exporters.report.model import Report, Section, Table
from numascope.exporters.report.svg import line_chart

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
.verdict { padding: .8em 1em; border-left: 6px solid; background: #f6f6f6; font-size: 1.1em; }
.critical { border-color: #d62728; } .warning { border-color: #ff7f0e; }
.info { border-color: #1f77b4; } .ok { border-color: #2ca02c; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; vertical-align: top; }
th { background: #eee; } caption { text-align: left; font-weight: bold; padding: 4px 0; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
"""


def _table(t: Table) -> str:
    caption = f"<caption>{escape(t.title)}</caption>" if t.title else ""
    if not t.rows:
        return f"<p>{caption and escape(t.title) + ': '}<em>{escape(t.empty)}</em></p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in t.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in t.rows
    )
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(s: Section) -> str:
    parts = [f"<h2>{escape(s.title)}</h2>"]
    if s.lines:
        parts.append("<ul>" + "".join(f"<li>{escape(x)}</li>" for x in s.lines) + "</ul>")
    parts.extend(_table(t) for t in s.tables)
    if s.code:
        parts.append(f"<details><summary>Policy in effect</summary><pre>{escape(s.code)}</pre>")
        parts.append("</details>")
    return "\n".join(parts)


def render_html(report: Report) -> str:
    """Verdict and summary, charts of remote share over time, then every section."""
    charts = [
        "<h2>Remote share over time</h2>",
        line_chart("Remote share of pages per node (as supplier)", report.node_series),
    ]
    if report.workload_series:
        charts.append(line_chart("Remote share of pages per top workload", report.workload_series))
    summary = "".join(f"<li>{escape(line)}</li>" for line in report.summary)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{escape(report.title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{escape(report.title)}</h1>",
            f'<p class="verdict {escape(report.verdict.level)}"><strong>Verdict:</strong> '
            f"{escape(report.verdict.text)}</p>",
            f"<h2>Summary</h2><ul>{summary}</ul>",
            *charts,
            *(_section(s) for s in report.sections),
            "</body></html>",
        ]
    )
