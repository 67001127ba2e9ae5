"""The explored state graph in compact form: decoders and a networkx view.

:func:`checker.product.explore.explore` fills it: four 32-bit words per state
(:mod:`checker.product.flat`), edges in flat arrays (a target and a label id per
transition, per-state offsets), and the tables that decode them.  Nothing here searches;
it reads the result.

Examples
--------
>>> from checker import load_spec, explore
>>> from checker.product.config import ProductConfig
>>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
>>> ex.state(0).describe()
'A=CLOSED B=CLOSED A->B=[-] B->A=[-]'
>>> [label.text() for label, _ in ex.edges_from(0)]
['A: active OPEN / snd SYN', 'B: passive OPEN']
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..model.endpoint import Local
from ..model.segments import Segment
from ..model.spec import Spec
from .config import ProductConfig
from .semantics import Label, PState

__all__ = ["NETWORKX_LIMIT", "Exploration"]

#: The most states :meth:`Exploration.to_networkx` builds a view of by default (about
#: 4 GiB of networkx dicts).
NETWORKX_LIMIT = 1_000_000


@dataclass
class Exploration:
    """The explored state graph in compact form, with decoders and a networkx view.

    Examples
    --------
    >>> from checker import AppConfig, ProductConfig, explore, load_spec
    >>> config = ProductConfig(b=AppConfig("passive", "never"), loss="1")
    >>> ex = explore(load_spec(), config)
    >>> ex.states, ex.transitions, ex.complete, len(ex.deadlocks)
    (1291, 3893, True, 24)
    >>> ex.state(ex.deadlocks[0]).describe()
    'A=CLOSED B=LISTEN A->B=[-] B->A=[-]'
    """

    spec: Spec
    config: ProductConfig
    #: Four words per state, node ``i`` at ``4 * i`` (:mod:`checker.product.flat`).
    nodes: array[int]
    offsets: array[int]
    dst: array[int]
    lbl: array[int]
    labels: list[Label]
    deadlocks: list[int]
    capacity_blocked: list[int]
    depth: int
    complete: bool
    limit: str | None
    seconds: float
    peak_bytes: int | None = None
    #: States where a full channel blocked some send (a ``block`` network): none means
    #: the graph is the one of unbounded channels.
    capacity_waits: int = 0
    _locals: list[Local] = field(default_factory=list, repr=False)
    _chans: list[tuple[int, ...]] = field(default_factory=list, repr=False)
    _index: dict[tuple[int, ...], int] | None = field(default=None, repr=False)
    #: Decoded once on first use: the channels' segments, every node's state.
    _chan_segments: list[tuple[Segment, ...]] | None = field(default=None, repr=False)
    _decoded: list[PState] | None = field(default=None, repr=False)

    @property
    def states(self) -> int:
        return len(self.nodes) // 4

    @property
    def transitions(self) -> int:
        return len(self.dst)

    def stopped(self) -> str:
        """Why an incomplete exploration stopped, and how far it got."""
        return f"{self.limit}, after {self.states:,} states"

    @property
    def src(self) -> array[int]:
        """The source column of the edge list (expanded from the per-node offsets)."""
        out: array[int] = array("I")
        offs = self.offsets
        for node in range(len(offs) - 1):
            out.extend(array("I", [node]) * (offs[node + 1] - offs[node]))
        return out

    def state(self, node: int) -> PState:
        """Decode node ``node`` into a reference :class:`~checker.product.reference.PState`."""
        nodes = self.nodes
        at = 4 * node
        w0, ab, ba, w3 = nodes[at], nodes[at + 1], nodes[at + 2], nodes[at + 3]
        chans = self._decoded_channels()
        return PState(
            self._locals[w0 & 0xFFFF],
            self._locals[w0 >> 16],
            chans[ab],
            chans[ba],
            w3 & 15,
            (w3 >> 4) & 15,
            w3 >> 8,
        )

    @property
    def local_states(self) -> list[Local]:
        """The endpoint local states by id (the low and high halves of a node's first
        word)."""
        return self._locals

    @property
    def channel_segments(self) -> list[tuple[Segment, ...]]:
        """The channels' contents by id (a node's second and third words)."""
        return self._decoded_channels()

    def _decoded_channels(self) -> list[tuple[Segment, ...]]:
        cached = self._chan_segments
        if cached is None or len(cached) != len(self._chans):
            cached = self._chan_segments = [
                tuple(Segment.from_code(c) for c in ch) for ch in self._chans
            ]
        return cached

    def decoded(self) -> list[PState]:
        """Every node decoded, in node order (computed once, then cached)."""
        if self._decoded is None:
            self._decoded = [self.state(i) for i in range(self.states)]
        return self._decoded

    def node_of(self, s: PState) -> int | None:
        """The node id of a reference state, or ``None`` if it was not reached."""
        if self._index is None:
            nodes = self.nodes
            self._index = {tuple(nodes[4 * i : 4 * i + 4]): i for i in range(self.states)}
        try:
            a = self._locals.index(s.a)
            b = self._locals.index(s.b)
            ab = self._chans.index(tuple(x.code for x in s.ab))
            ba = self._chans.index(tuple(x.code for x in s.ba))
        except ValueError:
            return None
        w3 = s.lost | (s.dups << 4) | (s.injected << 8)
        return self._index.get((a | (b << 16), ab, ba, w3))

    def edges_from(self, node: int) -> list[tuple[Label, int]]:
        """Outgoing ``(label, target)`` pairs of ``node``, in the order they were generated."""
        if node + 1 >= len(self.offsets):
            return []  # discovered but never expanded (a bounded search)
        lo, hi = self.offsets[node], self.offsets[node + 1]
        return [(self.labels[self.lbl[e]], self.dst[e]) for e in range(lo, hi)]

    def summary(self) -> dict[str, Any]:
        """The JSON contract of ``tcpcheck explore --json``."""
        return {
            "states": self.states,
            "transitions": self.transitions,
            "depth": self.depth,
            "deadlocks": len(self.deadlocks),
            "complete": self.complete,
            "seconds": round(self.seconds, 6),
            "limit": self.limit,
            "capacity_deadlocks": len(self.capacity_blocked),
            "capacity_waits": self.capacity_waits,
            "variant": self.spec.variant.name if self.spec.variant else None,
            "config": self.config.to_json(),
        }

    def to_networkx(self, max_states: int | None = NETWORKX_LIMIT) -> Any:
        """A ``networkx.DiGraph``: node ids as in the search, attributes decoded.

        The view costs about 4 kB per state (the compact graph: under 100 bytes), so it
        is refused beyond ``max_states`` (:data:`NETWORKX_LIMIT`; ``None``: no bound)
        with a :class:`~checker.errors.UsageError` saying so.

        Every attribute is flat and typed (a string, a bool or an int), so the view is
        written as GraphML or node-link JSON as it is (:mod:`checker.export.stategraph`).
        Graph attributes: ``spec``, ``variant`` (``base`` for the spec itself),
        ``complete``.  Node attributes: ``A``, ``B`` (control states), ``A->B``, ``B->A``
        (segments in flight, space-separated), ``initial``, ``deadlock``.  Edge
        attributes: ``actor``, ``event``, ``kind``, ``sent``, ``received``, ``lost``,
        ``channel``, ``rule`` (the spec rule's index, -1 for a move of the network),
        ``text`` (of the first transition), ``labels`` (the text of
        every parallel transition the simple graph merges, one per line) and
        ``transitions`` (how many).

        Examples
        --------
        >>> from checker import ProductConfig, explore, load_spec
        >>> graph = explore(load_spec(), ProductConfig(loss="none", ordering="fifo")).to_networkx()
        >>> graph.graph
        {'spec': 'tcp', 'variant': 'base', 'complete': True}
        >>> graph.number_of_nodes(), graph.nodes[1]["A"], graph.edges[0, 1]["text"]
        (266, 'SYN-SENT', 'A: active OPEN / snd SYN')
        """
        if max_states is not None and self.states > max_states:
            raise UsageError(
                f"the networkx view of {self.states:,} states would take about "
                f"{self.states * 4.3e3 / 2**30:.1f} GiB (4.3 kB a state); it is built for "
                f"at most {max_states:,}: pass max_states=None to build it anyway, or read "
                "the compact graph (nodes, offsets, dst, lbl; state(), edges_from())"
            )
        import networkx as nx

        graph = nx.DiGraph(
            spec=self.spec.name,
            variant=self.spec.variant.name if self.spec.variant else "base",
            complete=self.complete,
        )
        names = [loc.state for loc in self._locals]
        chan_text = [" ".join(Segment.from_code(c).name for c in ch) for ch in self._chans]
        dead = set(self.deadlocks)
        nodes = self.nodes
        graph.add_nodes_from(
            (
                i,
                {
                    "A": names[nodes[4 * i] & 0xFFFF],
                    "B": names[nodes[4 * i] >> 16],
                    "A->B": chan_text[nodes[4 * i + 1]],
                    "B->A": chan_text[nodes[4 * i + 2]],
                    "initial": i == 0,
                    "deadlock": i in dead,
                },
            )
            for i in range(self.states)
        )
        attrs = [_edge_attrs(lab) for lab in self.labels]
        texts = [a["text"] for a in attrs]
        # Filled directly into networkx's dict-of-dicts (its documented data structure):
        # several times faster than add_edge for millions of edges.
        adj = graph._adj
        pred = graph._pred
        offs, dst, lbl = self.offsets, self.dst, self.lbl
        for u in range(len(offs) - 1):
            row = adj[u]
            for e in range(offs[u], offs[u + 1]):
                v = dst[e]
                lid = lbl[e]
                data = row.get(v)
                if data is None:
                    row[v] = pred[v][u] = {**attrs[lid], "labels": texts[lid], "transitions": 1}
                else:
                    data["labels"] += "\n" + texts[lid]
                    data["transitions"] += 1
        return graph


def _edge_attrs(label: Label) -> dict[str, Any]:
    return {
        "actor": label.actor,
        "event": label.event,
        "kind": label.kind,
        "rule": -1 if label.rule is None else label.rule,  # typed: -1 for no spec rule
        "sent": " ".join(s.name for s in label.sent),
        "received": label.received.name if label.received else "",
        "lost": label.segment.name if label.kind == "loss" and label.segment else "",
        "channel": label.channel or "",
        "text": label.text(),
    }
