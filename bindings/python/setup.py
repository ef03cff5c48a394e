"""Builds the wheel with libsessmgr.so inside it, so that ``pip install ./bindings/python`` gives
a package that works at once.

The library is built from the source tree around this package (``cargo build --release --lib``
at the repository's root, Rust being what building sessmgr needs anyway) and copied next to the
package's modules, where ``sessmgr._native`` looks first after ``SESSMGR_LIBRARY``. With no
source tree around (an sdist unpacked elsewhere), the wheel holds no library, says so, and the
package loads the one ``make install`` put on the system's search path.
``SESSMGR_WHEEL_LIBRARY=/path/to/libsessmgr.so`` puts that file in the wheel instead of building.
Either way the wheel's copy is stripped of its debug information, as ``make install`` strips
the installed library (``objcopy``, from binutils, which a C compiler comes with).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
LIBRARY = "libsessmgr.so"


def source_tree() -> Path | None:
    root = HERE.parent.parent
    manifest = root / "Cargo.toml"
    if manifest.is_file() and 'name = "sessmgr"' in manifest.read_text():
        return root
    return None


def built_library() -> Path | None:
    given = os.environ.get("SESSMGR_WHEEL_LIBRARY")
    if given:
        return Path(given)
    root = source_tree()
    if root is None:
        print(f"sessmgr: no sessmgr source tree around {HERE}: the wheel holds no {LIBRARY}")
        return None
    manifest = str(root / "Cargo.toml")
    subprocess.run(["cargo", "build", "--release", "--lib", "--manifest-path", manifest], check=True)
    metadata = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--manifest-path", manifest],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(json.loads(metadata.stdout)["target_directory"]) / "release" / LIBRARY


def strip(library: Path) -> None:
    """Removes the debug information, as ``make install`` does (about 2 MB instead of 19)."""
    objcopy = shutil.which("objcopy")
    if objcopy is None:
        raise SystemExit("sessmgr: objcopy (binutils) is needed to strip the library for the wheel")
    subprocess.run([objcopy, "--strip-debug", "--strip-unneeded", str(library)], check=True)


class BuildWithLibrary(build_py):
    """build_py, then the library, stripped, into the package."""

    def run(self) -> None:
        super().run()
        library = built_library()
        if library is not None:
            packaged = Path(self.build_lib) / "sessmgr" / LIBRARY
            shutil.copyfile(library, packaged)
            strip(packaged)


class BinaryDistribution(Distribution):
    """The wheel holds a compiled library: it is for this platform only."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
