"""Where the banner's JS and CSS live: ``static/banner/`` in the repository and the sdist,
``consent/static/banner/`` in the wheel, and `banner_sources` finding them either way.

The wheel and sdist are built for real, with hatchling's backend in a subprocess (no network,
no isolation): from this checkout, and the wheel once more from the unpacked sdist, as pip
does when it installs from an sdist. The backend writes only into the output directory, so
the checkout is built in place.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import consent
from consent.assets import ASSET_FILES, _locate_banner_sources, banner_sources

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "static" / "banner"
#: Where the wheel puts them: the package's ``static/banner/``.
IN_WHEEL = "consent/static/banner/"

_BUILD = """
import sys
import hatchling.build as backend
out = sys.argv[2]
if sys.argv[1] == "both":
    print(backend.build_sdist(out))
print(backend.build_wheel(out))
"""


def build(project: Path, out: Path, *, sdist: bool) -> list[Path]:
    """Build ``project``'s wheel (and sdist first, if asked) into ``out``; their paths."""
    result = subprocess.run(
        [sys.executable, "-c", _BUILD, "both" if sdist else "wheel", str(out)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = result.stdout.splitlines()[-(2 if sdist else 1) :]
    return [out / name for name in names]


def source_files() -> dict[str, bytes]:
    """Every file of the repository's ``static/banner/``, by name."""
    return {path.name: path.read_bytes() for path in SOURCES.iterdir() if path.is_file()}


def wheel_files(wheel: Path) -> dict[str, bytes]:
    """Every file below ``consent/static/`` in ``wheel``, by path."""
    with zipfile.ZipFile(wheel) as archive:
        return {
            name: archive.read(name)
            for name in archive.namelist()
            if name.startswith("consent/static/") and not name.endswith("/")
        }


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """This checkout's (sdist, wheel)."""
    sdist, wheel = build(ROOT, tmp_path_factory.mktemp("dist"), sdist=True)
    return sdist, wheel


def assert_wheel_carries_sources(wheel: Path) -> None:
    files = wheel_files(wheel)
    # the whole directory, and nothing else below consent/static/ (no second copy)
    assert files == {IN_WHEEL + name: body for name, body in source_files().items()}
    for name in ASSET_FILES:
        assert files[IN_WHEEL + name] == (SOURCES / name).read_bytes(), name


def test_wheel_carries_static_banner_as_package_data(dists: tuple[Path, Path]) -> None:
    assert_wheel_carries_sources(dists[1])


def test_sdist_carries_static_banner(dists: tuple[Path, Path]) -> None:
    with tarfile.open(dists[0]) as archive:
        members = {m.name: m for m in archive.getmembers() if m.isfile()}
        top = next(iter(members)).split("/", 1)[0]
        banner = {}
        for name, member in members.items():
            if name.startswith(f"{top}/static/banner/"):
                body = archive.extractfile(member)
                assert body is not None, name
                banner[name.removeprefix(f"{top}/static/banner/")] = body.read()
    assert banner == source_files()
    assert set(ASSET_FILES) <= set(banner)
    assert not [name for name in members if name.startswith(f"{top}/src/consent/static/")]


def test_wheel_built_from_the_sdist_carries_them_too(
    dists: tuple[Path, Path], tmp_path: Path
) -> None:
    with tarfile.open(dists[0]) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(tmp_path / "sdist", filter="data")
        else:  # Python 3.10 before 3.10.12: no extraction filters yet
            archive.extractall(tmp_path / "sdist")
    (project,) = (tmp_path / "sdist").iterdir()
    (wheel,) = build(project, tmp_path / "dist", sdist=False)
    assert_wheel_carries_sources(wheel)


# -- banner_sources: no build, no install --------------------------------------------------------


def test_banner_sources_holds_every_asset_file() -> None:
    sources = banner_sources()
    assert sources.is_dir()
    for name in ASSET_FILES:
        assert (sources / name).is_file(), name


def test_banner_sources_is_static_banner_when_run_from_the_checkout() -> None:
    package = Path(consent.__file__).resolve().parent
    if package == ROOT / "src" / "consent":  # editable install, or src on sys.path
        assert Path(str(banner_sources())) == SOURCES
    else:  # an installed wheel
        assert Path(str(banner_sources())) == package / "static" / "banner"


def test_the_package_source_holds_no_second_copy() -> None:
    assert not (ROOT / "src" / "consent" / "static").exists()


def test_an_installed_copy_is_preferred(tmp_path: Path) -> None:
    installed, checkout = tmp_path / "site" / "banner", tmp_path / "repo" / "banner"
    installed.mkdir(parents=True)
    checkout.mkdir(parents=True)
    assert _locate_banner_sources(installed, checkout) == installed


def test_the_checkout_is_taken_without_an_installed_copy(tmp_path: Path) -> None:
    installed, checkout = tmp_path / "site" / "banner", tmp_path / "repo" / "banner"
    checkout.mkdir(parents=True)
    assert _locate_banner_sources(installed, checkout) == checkout


def test_neither_place_is_an_error_naming_both(tmp_path: Path) -> None:
    installed, checkout = tmp_path / "site" / "banner", tmp_path / "repo" / "banner"
    with pytest.raises(FileNotFoundError) as raised:
        _locate_banner_sources(installed, checkout)
    assert str(installed) in str(raised.value)
    assert str(checkout) in str(raised.value)
