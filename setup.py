"""The build steps pyproject.toml cannot state: the compiled search loop, and the spec.

* ``checker/product/_search.pyx`` is compiled (Cython, then the C compiler); where no
  compiler works the build goes on without it and tcpcheck runs the same search in
  Python (``checker.product.search``).
* The bundled spec (``spec/``) ships inside the package as ``checker/spec``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent


class BuildPy(build_py):  # type: ignore[misc]
    """build_py that also copies ``spec/`` into the package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "checker" / "spec"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(ROOT / "spec", target)


search_loop = Extension(
    "checker.product._search",
    ["checker/product/_search.pyx"],
    extra_compile_args=["-O3"],
    optional=True,
)

setup(
    ext_modules=cythonize([search_loop], language_level=3, quiet=True),
    cmdclass={"build_py": BuildPy},
)
