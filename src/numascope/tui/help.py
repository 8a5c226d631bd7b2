"""The `?` screen: every key, and what the columns mean."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
numascope top: which workloads get memory from the wrong NUMA node

Keys
  p        pause / resume (polling stops while paused)
  s / S    sort by the next column / reverse the order
  /        filter by name, pid, cgroup, pod, rule, policy or finding; Esc clears
  g        group rows by process, cgroup, Kubernetes pod (when there are pods)
           or command name (comm)
  Enter    detail of the selected row (Esc goes back)
  w m i r  tabs: workloads, node matrix, IRQs, reclaim
  a        allocator tab: per-CPU page lists, failed and high-order
           allocations with their call sites, slab caches per node
  e        memory tab: where memory lives now per node, process and
           cgroup (anon/file/shared, MOVED from where it was allocated)
  ?        this help (Esc closes)
  q        quit

Workload columns
  REM/s    pages from a remote node per second (the default sort)
  REM%     remote share of the last interval's pages
  FINDING  worst finding: ✖ CRIT, ▲ WARN, ● info, then why; +N more
  PG/s     pages per second; N0, N1...: pages from each node since start
  RULE     the configured rule and placement; MEMPOLICY the kernel's own
  PID      a † marks an exited process; in groups, n=members
  POD      a Kubernetes pod's UID (its start) and QoS class, read from
           the cgroup path; shown when some workload is in a pod

Marks that read without colour: * a remote share, ! a stall or low memory.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Close"),
        Binding("question_mark", "app.pop_screen", "Close", show=False),
        Binding("q", "app.quit", "Quit"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 80; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; padding: 0 1; background: $surface;
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(HELP, markup=False)
