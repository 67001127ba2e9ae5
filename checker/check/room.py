"""Which move a full channel blocked: what an ``unknown`` verdict caused by the capacity
reports, so that the reader (or :mod:`checker.suite`, which then raises the capacity)
knows exactly what needed room."""

from __future__ import annotations

from ..product.exploration import Exploration
from ..product.reference import Product

__all__ = ["room_needed"]


def room_needed(exploration: Exploration, node: int) -> str:
    """The first move a full channel blocks in state ``node``, in words.

    >>> from checker.model.load import load_spec
    >>> from checker.product.config import ProductConfig
    >>> from checker.product.explore import explore
    >>> ex = explore(load_spec(), ProductConfig(capacity=1, loss="none"))
    >>> room_needed(ex, ex.capacity_blocked[0])  # doctest: +ELLIPSIS
    "in A=... B=... A->B=[...] B->A=[...], '...' waits for room in ... (capacity 1)"
    """
    state = exploration.state(node)
    waiting = Product(exploration.spec, exploration.config).waiting_for_room(state)
    capacity = exploration.config.capacity
    if not waiting:  # not a state where a full channel blocks a move
        return f"in {state.describe()}, no move waits for room (capacity {capacity})"
    label = waiting[0]
    where = f"{label.channel} (capacity {capacity})"
    return f"in {state.describe()}, '{label.text()}' waits for room in {where}"
