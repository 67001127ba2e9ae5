"""Room in the channels: whether any capacity holds everything a run can put in flight.

A channel of bounded capacity that *blocks* (the sender waits for room) removes runs; a
verdict that depends on such a wait is an artefact of the capacity.  When the senders
can put only so much in flight, a larger capacity removes the artefact: the suite raises
the capacity until no run needs room (:mod:`checker.suite`).  When an endpoint can send
without end while nothing is delivered -- a retransmission that is never abandoned
(R2 infinite, RFC 9293 §3.8.3 MUST-21) -- no capacity suffices, and raising it only
grows the graph: :func:`endless_sender` finds that case before any exploration.

In the untimed product nothing forces a delivery (only fairness does, for liveness), so
"can send without end" is a cycle of the endpoint's own moves -- timer expiries that may
fire with segments in flight, and application calls -- that sends something.  Timers that
wait for quiescence never fire with a segment in flight, so they cannot fill a channel.

Examples
--------
>>> from checker.model.load import load_spec
>>> from checker.product.config import ProductConfig
>>> spec = load_spec(params={"FIN_RETRIES": float("inf")})
>>> print(endless_sender(spec, ProductConfig()).describe())
A retransmits without end: 'timeout RETX / snd FIN+ACK' in CLOSING (...) can repeat forever ...
>>> endless_sender(load_spec(), ProductConfig()) is None
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from ..model.endpoint import Local, Step, closure, timer_steps
from ..model.spec import Spec
from .config import ProductConfig
from .semantics import SIDES, app_steps, step_label

__all__ = ["EndlessSender", "endless_sender"]


@dataclass(frozen=True)
class EndlessSender:
    """An endpoint's loop of own moves that sends: it can fill any channel."""

    side: str
    kind: str  # "timeout" or "user"
    step: Step

    def describe(self) -> str:
        """E.g. ``A retransmits without end: 'timeout RETX / snd FIN+ACK' in FIN-WAIT-1
        ... can repeat forever with nothing delivered``."""
        move = step_label(self.side, self.step, self.kind).text().split(": ", 1)[1]
        verb = "retransmits" if self.kind == "timeout" else "sends"
        return (
            f"{self.side} {verb} without end: '{move}' in {self.step.source.describe()} "
            "can repeat forever with nothing delivered"
        )


def _own_steps(
    spec: Spec, config: ProductConfig, side: str, local: Local
) -> list[tuple[str, Step]]:
    """The moves ``side`` makes in ``local`` without receiving anything and while segments
    are in flight: timers that may fire at any moment, and its application's calls."""
    return [("timeout", st) for st in timer_steps(spec, local, "any")] + [
        ("user", st) for st in app_steps(spec, config.app(side), local)
    ]


def endless_sender(
    spec: Spec, config: ProductConfig, locals_: Iterable[Local] | None = None
) -> EndlessSender | None:
    """An endpoint's sending loop among ``locals_`` (default: every local state the
    endpoint can reach against any peer, :func:`~checker.model.endpoint.closure`), the
    first in a fixed order; ``None`` when every run puts a bounded number of segments
    in flight before something is delivered."""
    starts = sorted(closure(spec).locals if locals_ is None else set(locals_))
    for side in SIDES:
        graph: nx.DiGraph[Local] = nx.DiGraph()
        sending: dict[tuple[Local, Local], tuple[str, Step]] = {}
        todo, seen = list(starts), set(starts)
        while todo:
            local = todo.pop()
            graph.add_node(local)
            for kind, st in _own_steps(spec, config, side, local):
                graph.add_edge(local, st.target)
                if st.sent:
                    sending.setdefault((local, st.target), (kind, st))
                if st.target not in seen:
                    seen.add(st.target)
                    todo.append(st.target)
        for comp in sorted(sorted(c) for c in nx.strongly_connected_components(graph)):
            inside = set(comp)
            for (u, v), (kind, st) in sorted(sending.items(), key=lambda kv: kv[0]):
                if u in inside and v in inside:
                    return EndlessSender(side, kind, st)
    return None
