"""`numascope report FILE`: a capture as Markdown for an issue tracker, or one HTML page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from numascope.capture.replay import read_recording
from numascope.errors import NumascopeError
from numascope.exporters.report.build import build_report
from numascope.exporters.report.html import render_html
from numascope.exporters.report.markdown import render_markdown


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report", help="turn a capture into a Markdown report (or --html, a standalone page)"
    )
    parser.add_argument("file", metavar="FILE", help="a capture (numascope capture) or stream")
    parser.add_argument("--html", action="store_true", help="one standalone HTML page with charts")
    parser.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    capture = read_recording(args.file)
    if not capture.snapshots:
        raise NumascopeError(f"{args.file}: the capture holds no snapshots to report on")
    report = build_report(capture)
    text = render_html(report) if args.html else render_markdown(report)
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise NumascopeError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return 0
