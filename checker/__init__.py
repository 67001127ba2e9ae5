"""tcpcheck: a model checker and specification generator for TCP connection management.

The pipeline is a chain of plain functions::

    spec = load_spec(variant="linux")                  # spec/*.toml -> typed Spec
    result = explore(spec, ProductConfig(loss="1"))    # product automaton, breadth-first
    graph = result.to_networkx()                       # networkx.DiGraph view

Examples
--------
>>> import checker
>>> config = checker.ProductConfig(loss="none", ordering="fifo")
>>> result = checker.explore(checker.load_spec(), config)
>>> result.states
266
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import ModelError, SpecError, TcpcheckError, UsageError

__version__ = "0.1.0"

#: The pipeline's names, each imported from its module on first use: a command that
#: needs one stage does not pay for loading the others.
_LAZY = {
    "AppConfig": ".product.config",
    "Exploration": ".product.exploration",
    "Label": ".product.semantics",
    "PState": ".product.semantics",
    "Product": ".product.reference",
    "ProductConfig": ".product.config",
    "Spec": ".model.spec",
    "explore": ".product.explore",
    "list_variants": ".model.load",
    "load_spec": ".model.load",
}

if TYPE_CHECKING:
    from .model.load import list_variants, load_spec
    from .model.spec import Spec
    from .product.config import AppConfig, ProductConfig
    from .product.exploration import Exploration
    from .product.explore import explore
    from .product.reference import Product
    from .product.semantics import Label, PState


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'checker' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


__all__ = [
    "AppConfig",
    "Exploration",
    "Label",
    "ModelError",
    "PState",
    "Product",
    "ProductConfig",
    "Spec",
    "SpecError",
    "TcpcheckError",
    "UsageError",
    "__version__",
    "explore",
    "list_variants",
    "load_spec",
]
