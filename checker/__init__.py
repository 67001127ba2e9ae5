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

from .errors import ModelError, SpecError, TcpcheckError, UsageError
from .model.load import list_variants, load_spec
from .model.spec import Spec
from .product.config import AppConfig, ProductConfig
from .product.exploration import Exploration
from .product.explore import explore
from .product.reference import Product
from .product.semantics import Label, PState

__version__ = "0.1.0"

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
