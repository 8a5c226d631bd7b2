"""What every probe family's programs are doing: attached, missing, detached, cost.

Read once per poll for every family alike: a program that went away after it
attached (its fd closed, say) is noticed and reported once, and the kernel's
run-time statistics of the rest are summed for the health.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping

from numascope.collectors.probe_families import ProbeFamily
from numascope.probes.prog_stats import ProgStats


class ProgramWatch:
    """Keeps the program id first seen behind each attached program's fd."""

    def __init__(
        self,
        prog_stats: Callable[[int], ProgStats | None],
        on_detach: Callable[[str], object] = lambda family: None,
    ) -> None:
        self.prog_stats = prog_stats
        self.on_detach = on_detach  # told the family of a program found detached
        self.detached: dict[str, str] = {}  # program -> why
        self.failures = 0  # programs found detached
        self._prog_ids: dict[str, int] = {}

    def check(self, families: Iterable[ProbeFamily]) -> dict[str, ProgStats | None]:
        """Notice programs that went away; each program's statistics by name
        ("family.function"), read once per poll."""
        read: dict[str, ProgStats | None] = {}
        for fam in families:
            for fn, fd in fam.program_fds().items():
                name = f"{fam.name}.{fn}"
                st = read[name] = self.prog_stats(fd)
                if name in self.detached:
                    continue
                seen = self._prog_ids.get(name)
                if st is not None and seen is None:
                    self._prog_ids[name] = st.prog_id
                elif seen is not None and (st is None or st.prog_id != seen):
                    why = "detached mid-run: its program is no longer behind its descriptor"
                    print(f"numascope: probe {name} {why}", file=sys.stderr, flush=True)
                    self.detached[name] = why
                    self.failures += 1
                    self.on_detach(fam.name)
        return read

    def programs(
        self, families: Iterable[ProbeFamily], failed: Mapping[str, str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Attached tracepoints and missing ones (why), of every family
        (`failed`: families left out or stopped, and why)."""
        attached: dict[str, str] = {}
        missing: dict[str, str] = {f"{n} (family)": why for n, why in failed.items()}
        for fam in families:
            attached.update({f"{fam.name}.{k}": v for k, v in fam.attached.items()})
            missing.update(fam.missing)
        for name, why in self.detached.items():
            missing[name] = why
            attached.pop(name, None)
        return attached, missing
