"""The Python API: what ``checker`` exports, that each name is documented with an example
(the examples run as doctests), and that ``import checker`` stays cheap."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import checker

INIT = Path(checker.__file__)


def _type_checking_imports() -> dict[str, str]:
    """``name -> .module`` of the imports under ``if TYPE_CHECKING:`` in ``checker``."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.level == 1
                for alias in stmt.names:
                    found[alias.asname or alias.name] = f".{stmt.module}"
    return found


def test_the_lazy_names_are_the_ones_type_checkers_see() -> None:
    """Each lazily exported name is imported under TYPE_CHECKING from the same module
    (what mypy and IDEs see is what ``checker.NAME`` gives), and ``__all__`` lists
    exactly the eager and the lazy names."""
    lazy = checker._LAZY
    assert _type_checking_imports() == lazy
    eager = {"ModelError", "SpecError", "TcpcheckError", "UsageError", "__version__"}
    assert sorted(checker.__all__) == sorted(eager | set(lazy))
    assert len(set(checker.__all__)) == len(checker.__all__)


@pytest.mark.parametrize("name", sorted(checker._LAZY))
def test_every_exported_name_resolves_to_its_module(name: str) -> None:
    value = getattr(checker, name)
    assert value.__module__ == "checker" + checker._LAZY[name]
    assert name in dir(checker)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'lode_spec'"):
        checker.lode_spec  # noqa: B018


@pytest.mark.parametrize("name", sorted(n for n in checker.__all__ if n != "__version__"))
def test_every_exported_name_has_an_example(name: str) -> None:
    """A docstring with an example (``>>>``); the suite runs it (``--doctest-modules``)."""
    doc = inspect.getdoc(getattr(checker, name)) or ""
    assert "Examples\n--------" in doc and ">>>" in doc, f"{name}: no Examples section"


def test_import_checker_loads_no_stage() -> None:
    """``import checker`` loads neither a stage of the pipeline nor a heavy library: a
    name is imported on first use."""
    script = (
        "import sys, checker\n"
        "heavy = ['rich', 'distributed', 'dask', 'networkx', 'z3', 'scipy', 'numpy', 'click']\n"
        "stages = [m for m in sys.modules if m.startswith('checker.') and m != 'checker.errors']\n"
        "print(' '.join(sorted(stages) + [m for m in heavy if m in sys.modules]))\n"
        "checker.load_spec\n"
        "print('z3' in sys.modules, 'checker.model.load' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert proc.stdout.splitlines() == ["", "False True"]
