"""Write constraints.txt: the exact version of everything pip installs for numascope.

    .venv/bin/python scripts/lock.py           # after the suite passed with this venv
    .venv/bin/python scripts/lock.py --check   # exit 1 if constraints.txt differs

scripts/setup, scripts/install and so CI install with `pip install -c constraints.txt`,
so a fresh machine gets the versions the suite last passed with, not the newest of
everything. The list is what this venv has installed for numascope, its dev extras
and TOOLS, followed through their own requirements; packages the venv takes from
the system (Debian's bcc and Python) are left to Debian.
"""

from __future__ import annotations

import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "constraints.txt"
# Installed by scripts/setup beside numascope's own requirements (pip itself first).
TOOLS = ("virtme-ng", "pip")
HEADER = """\
# Exact versions pip installs for numascope (runtime, dev extras, test tools).
# Made by `.venv/bin/python scripts/lock.py` from the venv the suite passed with;
# used as `pip install -c constraints.txt ...` by scripts/setup and scripts/install.
"""


def _in_venv(dist: metadata.Distribution) -> bool:
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    located = Path(str(dist.locate_file(""))).resolve()
    return located == site or site in located.parents


def _wanted(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    environment = dict(default_environment())
    return any(req.marker.evaluate({**environment, "extra": extra}) for extra in extras or {""})


def roots() -> list[tuple[str, set[str]]]:
    """numascope's requirements (dev extras included) and the test tools."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [*project["dependencies"], *project["optional-dependencies"]["dev"], *TOOLS]
    return [(r.name, set(r.extras)) for r in map(Requirement, names)]


def pinned() -> dict[str, str]:
    """name -> version for every package the roots pull into this venv."""
    found: dict[str, str] = {}
    todo = roots()
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        key = (canonicalize_name(name), frozenset(extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            sys.exit(f"scripts/lock.py: {name} is required but not installed in this venv")
        if _in_venv(dist):
            found[canonicalize_name(name)] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if _wanted(req, extras):
                todo.append((req.name, set(req.extras)))
    return found


def render() -> str:
    """The text of constraints.txt."""
    return HEADER + "".join(f"{n}=={v}\n" for n, v in sorted(pinned().items()))


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if LOCK.read_text() != text:
            print("constraints.txt differs from this venv: run scripts/lock.py", file=sys.stderr)
            return 1
        return 0
    LOCK.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
