from __future__ import annotations

from pathlib import Path

import pytest

from numascope.errors import NumascopeError
from numascope.probes.bcc_loader import CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, check_privileges
from numascope.probes.kernel_headers import resolve_kernel_headers


def debian_headers(src: Path, version: str) -> None:
    common = src / f"linux-headers-{version}-common"
    arch = src / f"linux-headers-{version}-amd64"
    (common / "include/linux").mkdir(parents=True)
    (common / "include/linux/kconfig.h").write_text("/* common */\n")
    (common / "Makefile").write_text("# common\n")
    (arch / "include/generated").mkdir(parents=True)
    (arch / "include/generated/autoconf.h").write_text("/* arch */\n")
    (arch / "Makefile").write_text(f"include {common}/Makefile\n")
    (src / "kbuild-scripts").mkdir(exist_ok=True)
    (arch / "scripts").symlink_to(src / "kbuild-scripts")


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMASCOPE_KERNEL_HEADERS", raising=False)
    monkeypatch.delenv("BCC_KERNEL_SOURCE", raising=False)


def test_matching_headers_need_nothing(tmp_path: Path) -> None:
    (tmp_path / "modules/6.9.0/build/include").mkdir(parents=True)
    got = resolve_kernel_headers(release="6.9.0", modules_root=tmp_path / "modules")
    assert got is None


def test_merged_tree_from_the_newest_distro_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    debian_headers(src, "6.1.0-9")
    debian_headers(src, "6.1.0-56")
    tree = resolve_kernel_headers(
        release="6.18.0-custom",
        modules_root=tmp_path / "modules",
        src_root=src,
        cache_dir=tmp_path / "cache",
    )
    assert tree is not None and tree.name == "linux-headers-6.1.0-56-amd64"
    assert (tree / "include/linux/kconfig.h").read_text() == "/* common */\n"
    assert (tree / "include/generated/autoconf.h").read_text() == "/* arch */\n"
    assert (tree / "scripts").is_symlink()
    assert "no kernel headers for 6.18.0-custom" in capsys.readouterr().err
    # A second call reuses the tree.
    again = resolve_kernel_headers(
        release="6.18.0-custom",
        modules_root=tmp_path / "m",
        src_root=src,
        cache_dir=tmp_path / "cache",
    )
    assert again == tree


def test_no_headers_anywhere_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(NumascopeError, match="apt-get install linux-headers-amd64"):
        resolve_kernel_headers(
            release="6.18", modules_root=tmp_path, src_root=tmp_path, cache_dir=tmp_path / "c"
        )


def test_override_must_look_like_headers(tmp_path: Path) -> None:
    with pytest.raises(NumascopeError, match="no include/ folder"):
        resolve_kernel_headers(override=str(tmp_path))
    (tmp_path / "include").mkdir()
    assert resolve_kernel_headers(override=str(tmp_path)) == tmp_path


@pytest.mark.parametrize(
    ("caps", "ok"),
    [
        (0, False),
        (1 << CAP_BPF, False),
        ((1 << CAP_BPF) | (1 << CAP_PERFMON), True),
        (1 << CAP_SYS_ADMIN, True),
    ],
)
def test_privilege_check(caps: int, ok: bool) -> None:
    if ok:
        check_privileges(caps)
    else:
        with pytest.raises(NumascopeError, match="CAP_BPF and CAP_PERFMON"):
            check_privileges(caps)
