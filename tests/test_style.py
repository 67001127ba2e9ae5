"""The code stays typed (mypy --strict) and ruff-clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_ruff(root: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "checker", "tests", "benchmarks"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict(root: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=root, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
