"""Find a kernel header tree bcc can compile against.

bcc compiles its C at run time against kernel headers. Distribution kernels ship
matching headers (/lib/modules/$(uname -r)/build). A custom kernel often has none;
tracepoint programs only need the headers to compile, not to match the running
kernel's structures, so numascope builds one merged tree from the newest installed
Debian headers (the `-common` folder with the arch folder laid over it: bcc needs
both) and says so on stderr.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import sys
from pathlib import Path

from numascope.errors import ProbeUnavailableError

ENV_OVERRIDE = "NUMASCOPE_KERNEL_HEADERS"
CACHE_DIR = Path("/var/cache/numascope/kernel-headers")


def resolve_kernel_headers(
    override: str | None = None,
    release: str | None = None,
    modules_root: Path = Path("/lib/modules"),
    src_root: Path = Path("/usr/src"),
    cache_dir: Path = CACHE_DIR,
) -> Path | None:
    """Return the header tree to give bcc, or None when bcc finds its own.

    Order: an explicit override (option or NUMASCOPE_KERNEL_HEADERS, or an
    existing BCC_KERNEL_SOURCE), the running kernel's own headers, then a merged
    tree built from the newest distro headers.
    """
    chosen = override or os.environ.get(ENV_OVERRIDE) or os.environ.get("BCC_KERNEL_SOURCE")
    if chosen:
        path = Path(chosen)
        if not (path / "include").is_dir():
            raise ProbeUnavailableError(
                f"kernel headers {path}: no include/ folder there", "no_kernel_headers"
            )
        return path
    release = release or platform.release()
    if (modules_root / release / "build" / "include").is_dir():
        return None
    merged = _merge_newest_distro_headers(src_root, cache_dir)
    print(
        f"numascope: no kernel headers for {release}; compiling against {merged} "
        f"(tracepoint programs do not need an exact match; set {ENV_OVERRIDE} to choose)",
        file=sys.stderr,
    )
    return merged


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", name))


def _merge_newest_distro_headers(src_root: Path, cache_dir: Path) -> Path:
    arch_dirs = sorted(
        (p for p in src_root.glob("linux-headers-*") if not p.name.endswith("-common")),
        key=lambda p: _version_key(p.name),
    )
    for arch in reversed(arch_dirs):
        makefile = arch / "Makefile"
        common = _common_dir_for(arch, makefile)
        if common is None:
            continue
        target = cache_dir / arch.name
        if (target / ".complete").exists():
            return target
        _build_symlink_tree(common, arch, target)
        return target
    raise ProbeUnavailableError(
        "no kernel headers for the running kernel and none installed to borrow: "
        "install them (Debian: apt-get install linux-headers-amd64) "
        f"or point {ENV_OVERRIDE} at a kernel header tree",
        "no_kernel_headers",
    )


def _common_dir_for(arch: Path, makefile: Path) -> Path | None:
    # Debian's arch Makefile includes the common tree's Makefile by path.
    try:
        text = makefile.read_text()
    except OSError:
        return None
    match = re.search(r"include (/usr/src/linux-headers-[^/\s]+-common)/Makefile", text)
    if match and Path(match.group(1)).is_dir():
        return Path(match.group(1))
    guess = arch.parent / re.sub(r"-[a-z0-9_]+$", "-common", arch.name)
    return guess if guess.is_dir() else None


def _build_symlink_tree(common: Path, arch: Path, target: Path) -> None:
    staging = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for source in (common, arch):  # arch last: its generated headers win
        for dirpath, dirnames, filenames in os.walk(source):
            rel = Path(dirpath).relative_to(source)
            (staging / rel).mkdir(parents=True, exist_ok=True)
            # os.walk does not descend into symlinked folders (Debian links
            # scripts/ to linux-kbuild); link them whole, as `cp -as` would.
            linked = [d for d in dirnames if (Path(dirpath) / d).is_symlink()]
            dirnames[:] = [d for d in dirnames if d not in linked]
            for name in [*filenames, *linked]:
                link = staging / rel / name
                if link.is_symlink() or link.exists():
                    link.unlink()
                link.symlink_to(Path(dirpath) / name)
    (staging / ".complete").write_text(f"{common}\n{arch}\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
