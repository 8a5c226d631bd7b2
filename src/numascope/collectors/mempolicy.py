"""The memory policy the kernel really applies to each process, from procfs.

`/proc/PID/numa_maps` prints one line per mapping with the policy that governs
it (the mapping's own, else the task's), then pages per node. Its policy word is
the kernel's `mpol_to_str()` output: a mode (`default`, `local`, `prefer`,
`bind`, `interleave`, `weighted interleave`, `prefer (many)`; two contain a
space), optionally `=flags` (`static`, `relative`, `balancing`, joined by `|`)
and optionally `:nodelist`.

Every reader takes the procfs root so tests run on `tests/fixtures/proc`.
A process can exit between any two reads; such processes are skipped.
"""

from __future__ import annotations

import errno
import os
import pwd
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from numascope.collectors.residence import resident_bytes
from numascope.snapshot.residence import ResidentBytes
from numascope.topology import format_list, parse_list

MODES = ("default", "local", "prefer", "bind", "interleave", "weighted interleave", "prefer (many)")

# Longest alternatives first so "prefer (many)" is not read as "prefer".
_POLICY = re.compile(
    r"(?P<mode>weighted interleave|prefer \(many\)|default|local|prefer|bind|interleave)"
    r"(?:=(?P<flags>[a-z|]+))?"
    r"(?::(?P<nodes>[0-9,\-]+))?"
    r"(?=\s|$)"
)
_NODE_PAGES = re.compile(r"N(\d+)=(\d+)")


# A process that exits mid-read shows up as one of these; none is worth a traceback.
_GONE = (errno.ENOENT, errno.ESRCH, errno.EACCES, errno.EPERM)


@dataclass(frozen=True)
class MemPolicy:
    """A parsed policy word, e.g. `bind=static:0-1`."""

    mode: str
    flags: tuple[str, ...] = ()
    nodes: tuple[int, ...] = ()

    def __str__(self) -> str:
        text = self.mode
        if self.flags:
            text += "=" + "|".join(self.flags)
        if self.nodes:
            text += ":" + format_list(self.nodes)
        return text

    @property
    def is_default(self) -> bool:
        """No explicit placement: allocate on the local node (first touch)."""
        return self.mode in ("default", "local")


DEFAULT_POLICY = MemPolicy("default")


@dataclass(frozen=True)
class Region:
    """One line of numa_maps: a mapping, its policy and its pages per node."""

    address: int
    policy: MemPolicy
    pages_by_node: Mapping[int, int] = field(default_factory=dict)
    file: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """Pages of the region's own size (a 1 GiB hugetlb page is one page)."""
        return sum(self.pages_by_node.values())

    @property
    def page_bytes(self) -> int:
        """The size of the region's pages: numa_maps' kernelpagesize_kB (hugetlb
        mappings print their huge page size), else the system's page size."""
        size = self.attributes.get("kernelpagesize_kB", "")
        return int(size) * 1024 if size.isdigit() else os.sysconf("SC_PAGE_SIZE")

    @property
    def bytes(self) -> int:
        """Bytes resident in the region, every node."""
        return self.pages * self.page_bytes


def parse_policy(text: str) -> MemPolicy:
    """Parse a policy word such as `prefer (many)=static:0-2`; ValueError if it is not one."""
    m = _POLICY.match(text)
    if m is None or m.end() != len(text.rstrip()):
        raise ValueError(f"not a memory policy: {text!r}")
    return _policy_from(m)


def _policy_from(m: re.Match[str]) -> MemPolicy:
    flags = tuple(m["flags"].split("|")) if m["flags"] else ()
    nodes = parse_list(m["nodes"]) if m["nodes"] else ()
    return MemPolicy(m["mode"], flags, nodes)


def parse_numa_maps_line(line: str) -> Region:
    """Parse one numa_maps line; ValueError when it is not in the kernel's format."""
    address_text, _, rest = line.strip().partition(" ")
    try:
        address = int(address_text, 16)
    except ValueError:
        raise ValueError(f"numa_maps: no address in {line!r}") from None
    m = _POLICY.match(rest)
    if m is None:
        raise ValueError(f"numa_maps: no policy in {line!r}")
    policy = _policy_from(m)
    pages: dict[int, int] = {}
    attributes: dict[str, str] = {}
    file = None
    for token in rest[m.end() :].split():
        node = _NODE_PAGES.fullmatch(token)
        if node:
            pages[int(node[1])] = int(node[2])
            continue
        key, sep, value = token.partition("=")
        if key == "file" and sep:
            file = value
        else:
            attributes[key] = value if sep else ""
    return Region(address, policy, pages, file, attributes)


def parse_numa_maps(text: str) -> tuple[Region, ...]:
    """All regions in a numa_maps text; lines the parser does not know are skipped."""
    regions = []
    for line in text.splitlines():
        if line.strip():
            try:
                regions.append(parse_numa_maps_line(line))
            except ValueError:
                continue
    return tuple(regions)


@dataclass(frozen=True)
class ProcessPolicy:
    """What one process really runs with, and the facts rules match on."""

    pid: int
    comm: str
    dominant: MemPolicy
    regions_by_policy: Mapping[str, int] = field(default_factory=dict)
    # Resident bytes per policy (pages weighted by their size: hugetlb counts in full).
    bytes_by_policy: Mapping[str, int] = field(default_factory=dict)
    # Where its memory lives now, from the same numa_maps read.
    residence: ResidentBytes = field(default_factory=ResidentBytes)
    mems_allowed: tuple[int, ...] = ()
    cpuset: str | None = None
    cgroup: str | None = None
    exe: str | None = None
    uid: int | None = None
    user: str | None = None

    def effective_nodes(self) -> tuple[int, ...]:
        """Nodes the kernel may allocate from: the policy's nodes within mems_allowed."""
        allowed = set(self.mems_allowed)
        if self.dominant.mode == "bind" and self.dominant.nodes:
            nodes = set(self.dominant.nodes)
            return tuple(sorted(nodes & allowed if allowed else nodes))
        return tuple(sorted(allowed))


def dominant_policy(regions: Iterable[Region]) -> MemPolicy:
    """The policy over most resident bytes (most regions when none is resident)."""
    pages: Counter[MemPolicy] = Counter()
    count: Counter[MemPolicy] = Counter()
    for region in regions:
        pages[region.policy] += region.bytes
        count[region.policy] += 1
    if not count:
        return DEFAULT_POLICY
    ranking = pages if any(pages.values()) else count
    # Ties go to the policy seen on more regions, then to the text, for stable output.
    return max(ranking, key=lambda p: (ranking[p], count[p], str(p)))


def _status_fields(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key] = value.strip()
    return fields


def _cgroup_path(text: str) -> str | None:
    # cgroup v2 is the "0::" line; on a v1-only host fall back to the cpuset hierarchy.
    fallback = None
    for line in text.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            return path
        if "cpuset" in controllers.split(","):
            fallback = path
    return fallback


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="backslashreplace")


def _optional(path: Path) -> str | None:
    try:
        return _text(path)
    except OSError:
        return None


def _user_name(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return None


def read_process_policy(pid: int, *, proc: str | Path = "/proc") -> ProcessPolicy | None:
    """The policy and identity of one process; None when it is gone or unreadable."""
    base = Path(proc) / str(pid)
    try:
        status = _status_fields(_text(base / "status"))
        # Mapped file paths are bytes chosen by whoever named the file.
        numa_maps = _text(base / "numa_maps")
    except OSError as exc:
        if exc.errno in _GONE:
            return None
        raise
    regions = parse_numa_maps(numa_maps)
    regions_by_policy: Counter[str] = Counter()
    bytes_by_policy: Counter[str] = Counter()
    for region in regions:
        regions_by_policy[str(region.policy)] += 1
        bytes_by_policy[str(region.policy)] += region.bytes
    uid_text = status.get("Uid", "").split()
    uid = int(uid_text[0]) if uid_text and uid_text[0].isdigit() else None
    try:
        exe: str | None = os.readlink(base / "exe")
    except OSError:
        exe = None  # kernel threads have none; other users' need privileges
    cpuset = _optional(base / "cpuset")
    cgroup = _optional(base / "cgroup")
    return ProcessPolicy(
        pid=pid,
        comm=status.get("Name", ""),
        dominant=dominant_policy(regions),
        regions_by_policy=dict(regions_by_policy),
        bytes_by_policy=dict(bytes_by_policy),
        residence=resident_bytes(regions),
        mems_allowed=parse_list(status.get("Mems_allowed_list", "")),
        cpuset=cpuset.strip() if cpuset is not None else None,
        cgroup=_cgroup_path(cgroup) if cgroup is not None else None,
        exe=exe,
        uid=uid,
        user=_user_name(uid) if uid is not None else None,
    )


def list_pids(proc: str | Path = "/proc") -> tuple[int, ...]:
    """Every pid under the procfs root, ascending."""
    try:
        names = os.listdir(proc)
    except OSError:
        return ()
    return tuple(sorted(int(n) for n in names if n.isdigit()))


def read_process_policies(
    pids: Iterable[int] | None = None, proc: str | Path = "/proc"
) -> dict[int, ProcessPolicy]:
    """Policies of the given pids (all when None), skipping processes that are gone."""
    wanted = list_pids(proc) if pids is None else pids
    out: dict[int, ProcessPolicy] = {}
    for pid in wanted:
        policy = read_process_policy(pid, proc=proc)
        if policy is not None:
            out[pid] = policy
    return out
