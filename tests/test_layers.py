"""The package's layers: imports run one way, along the pipeline.

``cli -> docs -> suite -> {kernel, export, render, timed, prob} -> check -> product -> model ->
errors``: a module imports only from its own layer and the layers below it (kernel and
export may also use timed and prob, prob the timed layer's exact durations; render uses
only check, product and model).  Only the CLI
speaks click and rich; only the kernel's lab and the SPIN runner start processes, and
the job pool its Dask workers (``checker/jobs.py``, beside ``errors`` at the bottom:
any layer may hand it independent jobs).  Every
import counts -- at the top of a module, inside a function, or for type checking only --
because each is a dependency a reader must follow.  And no module imports itself back
through a chain of others.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "checker"

#: Layer of each top-level module or subpackage of ``checker``, lowest first.
LEVEL = {
    "errors": 0,
    "jobs": 0.5,  # on errors, under everything else
    "model": 1,
    "product": 2,
    "check": 3,
    "timed": 4,
    "prob": 4,
    "render": 4,
    "export": 4,
    "kernel": 4,
    "suite": 5,
    "docs": 6,
    "cli": 7,
}
#: Layers that may use a layer of their own level.
PEERS = {
    ("kernel", "timed"),
    ("export", "timed"),
    ("export", "prob"),
    ("kernel", "prob"),
    ("prob", "timed"),
}
#: Third-party modules only some layers may use, and who may.
RESTRICTED = {
    "click": {"cli"},
    "rich": {"cli"},
    "subprocess": {"kernel.lab", "export.spin"},
    "distributed": {"jobs"},
    "dask": {"jobs"},
    "multiprocessing": {"jobs"},
    "matplotlib": {"render.region_plot", "render.prob_plot"},
    "stormpy": {"export.storm"},
}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(name: str, path: Path) -> Iterator[str]:
    """What ``name`` imports: modules of ``checker`` relative to the package (``model.spec``),
    other modules by their full name."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if not name:
        package = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                if node.module:
                    yield ".".join([*base, node.module])
                else:
                    yield from (".".join([*base, alias.name]) for alias in node.names)
            elif node.module and node.module.startswith("checker."):
                yield node.module.removeprefix("checker.")
            elif node.module:
                yield "/" + node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("checker."):
                    yield alias.name.removeprefix("checker.")
                else:
                    yield "/" + alias.name


def _graph() -> dict[str, set[str]]:
    return {name: set(_imports(name, path)) for name, path in _modules()}


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(name for name, _ in _modules() if name and name.split(".")[0] not in LEVEL)
    assert not unplaced, f"modules outside the layers: {unplaced} (place them in LEVEL)"


def test_imports_run_down_the_layers() -> None:
    wrong = []
    for name, targets in _graph().items():
        if not name:
            continue  # checker/__init__.py: the public API re-exports from any layer
        mine = name.split(".")[0]
        for target in targets:
            if target.startswith("/"):
                continue
            theirs = target.split(".")[0]
            if theirs == mine or (mine, theirs) in PEERS:
                continue
            if theirs in LEVEL and LEVEL[theirs] >= LEVEL[mine]:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_render_uses_only_check_product_and_model() -> None:
    allowed = {"render", "check", "product", "model", "errors"}
    wrong = [
        f"{name} imports {target}"
        for name, targets in _graph().items()
        if name.startswith("render")
        for target in targets
        if not target.startswith("/") and target.split(".")[0] not in allowed
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("library", sorted(RESTRICTED))
def test_restricted_libraries(library: str) -> None:
    allowed = RESTRICTED[library]
    wrong = [
        name
        for name, targets in _graph().items()
        if any(t == "/" + library or t.startswith(f"/{library}.") for t in targets)
        and not any(name == a or name.startswith(a + ".") for a in allowed)
    ]
    assert not wrong, f"{library} imported outside {sorted(allowed)}: {wrong}"


def test_no_import_cycles() -> None:
    graph = _graph()
    # Importing a package runs its __init__: an edge to ``a.b`` is an edge to ``a.b``
    # itself if it is a module, or to the package.
    edges = {
        name: {t for t in targets if t in graph and t != name} for name, targets in graph.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_private_names_from_other_modules() -> None:
    wrong = []
    for name, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (
                node.level or "checker" in (node.module or "")
            ):
                wrong += [
                    f"{name} imports {alias.name} from {node.module}"
                    for alias in node.names
                    if alias.name.startswith("_") and alias.name != "__version__"
                ]
    assert not wrong, "\n".join(wrong)
