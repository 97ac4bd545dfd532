"""The suite runs against the package as pip installed it from the wheel (not the source folder):
its files, version, type marker, native library and wheel tag, as `pip install` leaves them."""

import importlib.metadata
import pathlib
import re
import sysconfig

import minga

ROOT = pathlib.Path(__file__).resolve().parents[2]
INSTALLED = pathlib.Path(minga.__file__).resolve().parent


def test_minga_is_the_installed_package_not_the_source_folder():
    site_packages = {pathlib.Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
    assert INSTALLED.parent in site_packages, INSTALLED
    assert not INSTALLED.is_relative_to(ROOT / "python"), INSTALLED


def test_the_package_carries_its_library_its_type_marker_and_the_crates_version():
    assert (INSTALLED / "py.typed").is_file()
    assert list(INSTALLED.glob("libminga.*")), "the wheel carries libminga"
    cargo = (ROOT / "bindings" / "Cargo.toml").read_text(encoding="utf-8")
    crate_version = re.search(r'(?m)^version = "([^"]+)"', cargo).group(1)
    assert importlib.metadata.version("minga") == crate_version == minga.__version__


def test_the_wheel_is_tagged_for_this_platform_not_as_pure_python():
    wheel = importlib.metadata.distribution("minga").read_text("WHEEL")
    assert "Root-Is-Purelib: false" in wheel
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    assert f"Tag: py3-none-{platform}" in wheel
