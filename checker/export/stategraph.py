"""The explored state graph in the formats other tools read: GraphML and node-link JSON.

Both are written from the networkx view
(:meth:`~checker.product.exploration.Exploration.to_networkx`), whose attributes are flat
and typed -- strings, booleans, integers -- so that a reader
gets them back as they were: ``networkx.read_graphml`` (GraphML declares each key's type)
and ``networkx.node_link_graph`` (JSON).  The same exploration gives the same bytes.

Examples
--------
>>> import io, json, networkx
>>> from checker.model.load import load_spec
>>> from checker.product.config import ProductConfig
>>> from checker.product.explore import explore
>>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
>>> back = networkx.read_graphml(io.BytesIO(graphml(ex)), node_type=int)
>>> back.number_of_nodes() == ex.states, back.nodes[0]["A"], back.nodes[0]["initial"]
(True, 'CLOSED', True)
>>> doc = json.loads(node_link_json(ex))
>>> doc["graph"]["variant"], len(doc["nodes"]) == ex.states
('base', True)
"""

from __future__ import annotations

import io
import json
from typing import Any

from ..product.exploration import NETWORKX_LIMIT, Exploration

__all__ = ["FORMATS", "graphml", "node_link", "node_link_json", "state_graph"]

#: The formats of the whole state graph, by name (``tcpcheck graph --format``).
FORMATS = ("graphml", "json")


def graphml(ex: Exploration, max_states: int | None = NETWORKX_LIMIT) -> bytes:
    """The state graph as GraphML (UTF-8), every attribute declared with its type.

    Examples
    --------
    >>> from checker import ProductConfig, explore, load_spec
    >>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
    >>> text = graphml(ex).decode()
    >>> text.count("<node "), text.count("<edge ")
    (266, 475)
    """
    import networkx as nx

    out = io.BytesIO()
    # lxml's writer would order keys by hash; the ElementTree one keeps their order.
    nx.write_graphml_xml(ex.to_networkx(max_states), out, encoding="utf-8", prettyprint=True)
    return out.getvalue()


def node_link(ex: Exploration, max_states: int | None = NETWORKX_LIMIT) -> dict[str, Any]:
    """The state graph as node-link data (``networkx.node_link_graph`` reads it back,
    with ``edges="edges"``).

    Examples
    --------
    >>> from checker import ProductConfig, explore, load_spec
    >>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
    >>> data = node_link(ex)
    >>> data["nodes"][0]
    {'A': 'CLOSED', 'B': 'CLOSED', 'A->B': '', 'B->A': '', 'initial': True,
     'deadlock': False, 'id': 0}
    >>> data["edges"][0]["text"], data["edges"][0]["source"], data["edges"][0]["target"]
    ('A: active OPEN / snd SYN', 0, 1)
    """
    import networkx as nx

    data: dict[str, Any] = nx.node_link_data(ex.to_networkx(max_states), edges="edges")
    return data


def node_link_json(ex: Exploration, max_states: int | None = NETWORKX_LIMIT) -> bytes:
    """:func:`node_link` as JSON text (UTF-8, keys in a fixed order).

    Examples
    --------
    >>> from checker import ProductConfig, explore, load_spec
    >>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
    >>> node_link_json(ex)[:20]
    b'{\\n "directed": true,'
    """
    text = json.dumps(node_link(ex, max_states), indent=1, ensure_ascii=False, sort_keys=True)
    return (text + "\n").encode()


def state_graph(ex: Exploration, fmt: str, max_states: int | None = NETWORKX_LIMIT) -> bytes:
    """The state graph in ``fmt`` (one of :data:`FORMATS`): what ``tcpcheck graph
    --format`` writes.

    Examples
    --------
    >>> from checker import ProductConfig, explore, load_spec
    >>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
    >>> FORMATS
    ('graphml', 'json')
    >>> state_graph(ex, "json") == node_link_json(ex)
    True
    """
    if fmt == "graphml":
        return graphml(ex, max_states)
    if fmt == "json":
        return node_link_json(ex, max_states)
    raise ValueError(f"unknown state-graph format {fmt!r}; formats: {', '.join(FORMATS)}")
