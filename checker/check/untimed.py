"""The untimed checks: a property decided on an explored product graph.

Kinds (see :mod:`checker.check.properties` for how a suite states them):

``invariant``      always P; counterexample: a shortest path to a state violating P.
``reachable``      some run reaches a state satisfying P; witness: a shortest such run.
``path``           ``A: S1, S2, *, S3``: some run takes endpoint A through exactly these
                   control states (:mod:`checker.check.paths`); witness: a shortest such
                   run.

With ``exists = false`` the last two claim the opposite -- *no* run does it -- and the
shortest run that does is their counterexample (:func:`polarity`).
``deadlock-free``  no reachable state without moves except those satisfying ``final``.
``eventually``     every run reaches Q (``true ~> Q``).
``leads-to``       ``P ~> Q``: every run that reaches P reaches Q afterwards.

Liveness (the last two) is decided under stated fairness (:mod:`checker.check.liveness`); its
counterexample is a lasso -- a prefix and a cycle -- or a path to a state where the run
may stop forever.  The answer is ``unknown`` when the exploration was bounded, or when the
only counterexamples are artefacts of the channel capacity.

The first four find a run that is a path, and can give several: the ``N`` shortest
distinct runs to their goal (:mod:`checker.check.shortest`), the first of them always
the one a single answer gives.  Liveness gives its one lasso.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ..product.exploration import Exploration
from .formula import node_values, parse_formula
from .liveness import GraphFacts, check_leads_to
from .outcome import Outcome
from .paths import parse_path, path_start, path_step
from .properties import Property, premise_and_goal
from .room import room_needed
from .shortest import node_moves, shortest_runs
from .traces import Trace, trace_of
from .verdicts import Verdict, make_verdict

__all__ = ["check_property", "incomplete", "polarity"]


def check_property(
    prop: Property,
    exploration: Exploration,
    variant: str | None,
    fairness_off: Iterable[str] = (),
    facts: GraphFacts | None = None,
    runs: int = 1,
) -> Verdict:
    """Decide ``prop`` on an explored graph (see the module docstring); ``facts``: what
    the liveness checks keep about ``exploration`` between properties (none kept
    otherwise).  ``runs`` above 1 asks for that many distinct shortest runs
    (:attr:`~checker.check.verdicts.Verdict.traces`) where the kind's run is a path:
    invariant, reachable, path and deadlock-free.

    Examples
    --------
    >>> from checker import explore, load_properties, load_spec
    >>> spec = load_spec()
    >>> suite = load_properties(spec=spec)
    >>> prop = next(p for p in suite if p.name == "fin-wait-2-leads-to-closed")
    >>> verdict = check_property(prop, explore(spec, prop.product_config()), None)
    >>> verdict.verdict, verdict.ok
    (<Outcome.VIOLATED: 'violated'>, True)
    >>> print(verdict.message)
    a run reaches A = FIN-WAIT-2 and then stays forever where A = CLOSED never holds
    (fair-lossy, fair-apps, timers)
    >>> verdict.trace.steps[-1].state.describe()
    'A=FIN-WAIT-2 B=CLOSE-WAIT A->B=[-] B->A=[-]'
    """
    if exploration.limit == "memory":
        # Memory ran out already: looking for a run in the part explored would need more.
        return incomplete(prop, exploration, variant)
    if prop.kind == "path":
        return _check_path(prop, exploration, variant, runs)
    p, q = premise_and_goal(prop)
    n = exploration.states
    complete = exploration.complete

    def verdict(value: Outcome, message: str, traces: list[Trace] | None = None) -> Verdict:
        found = traces or []
        return make_verdict(
            prop,
            exploration,
            variant,
            value,
            message,
            found[0] if found else None,
            traces=tuple(found) if runs > 1 else None,
        )

    if prop.kind in ("invariant", "reachable"):
        looking_for = prop.kind == "reachable"  # a state where q holds, or one where it fails
        values = node_values(exploration, q)
        want = 1 if looking_for else 0
        traces = []
        if values.find(want) >= 0:
            traces = _shortest(exploration, lambda node: values[node] == want, runs)
        if traces:  # none only for a hit a cut search reached by no recorded edge
            if prop.kind == "invariant":
                return verdict(Outcome.VIOLATED, f"a reachable state violates {q}", traces)
            return verdict(polarity(prop, True), f"{_run_is(prop)} a shortest path to {q}", traces)
        if not complete:
            return incomplete(prop, exploration, variant)
        if prop.kind == "invariant":
            return verdict(Outcome.HOLDS, f"{q} holds in all {n:,} reachable states", None)
        return verdict(polarity(prop, False), f"no reachable state satisfies {q}", None)

    if prop.kind == "deadlock-free":
        assert prop.final is not None
        final = parse_formula(prop.final)
        blocked = set(exploration.capacity_blocked)
        bad = [d for d in exploration.deadlocks if not final(exploration.state(d))]
        real = [d for d in bad if d not in blocked]
        if real:
            ends = set(real)
            traces = _shortest(exploration, ends.__contains__, runs, stops=True)
            return verdict(
                Outcome.VIOLATED, f"{len(real):,} reachable deadlocks outside {final}", traces
            )
        if bad:
            room = room_needed(exploration, bad[0])
            return make_verdict(
                prop,
                exploration,
                variant,
                Outcome.UNKNOWN,
                f"{len(bad):,} deadlocks outside {final}, all caused by a full channel ({room})",
                needs_room=room,
            )
        if not complete:
            return incomplete(prop, exploration, variant)
        return verdict(Outcome.HOLDS, f"every deadlock satisfies {final}", None)

    assumptions = tuple(f for f in prop.fairness if f not in set(fairness_off))
    return check_leads_to(prop, exploration, variant, p, q, assumptions, facts)


def _check_path(
    prop: Property, exploration: Exploration, variant: str | None, runs: int
) -> Verdict:
    """The shortest runs matching the path pattern: breadth-first over pairs of a node
    and the pattern positions reached on the way to it."""
    side, pattern = parse_path(prop.formula)
    offs, dst = exploration.offsets, exploration.dst
    expanded = len(offs) - 1
    goal = len(pattern)

    # The side's control state, read off the node's first word (no state decoded).
    names = [loc.state for loc in exploration.local_states]
    nodes = exploration.nodes
    shift = 0 if side == "A" else 16

    def control(node: int) -> str:
        return names[(nodes[4 * node] >> shift) & 0xFFFF]

    steps: dict[tuple[frozenset[int], str], frozenset[int]] = {}
    Key = tuple[int, frozenset[int]]

    def moves(key: Key) -> Iterator[tuple[int, Key]]:
        node, pos = key
        if node >= expanded:
            return
        here = control(node)
        for e in range(offs[node], offs[node + 1]):
            v = dst[e]
            there = control(v)
            if there == here:
                npos = pos
            else:
                got = steps.get((pos, there))
                if got is None:
                    got = steps[(pos, there)] = path_step(pattern, pos, there)
                npos = got
            if npos:
                yield e, (v, npos)

    start: Key = (0, path_start(pattern, control(0)))
    found = shortest_runs(exploration, start, lambda key: goal in key[1], moves, runs)
    if found:
        traces = [trace_of(exploration, edges) for edges in found]
        return make_verdict(
            prop,
            exploration,
            variant,
            polarity(prop, True),
            f"{_run_is(prop)} a shortest run taking {side} through {prop.formula}",
            traces[0],
            traces=tuple(traces) if runs > 1 else None,
        )
    if not exploration.complete:
        return incomplete(prop, exploration, variant)
    return make_verdict(
        prop,
        exploration,
        variant,
        polarity(prop, False),
        f"no run takes {side} through {', '.join(pattern)}",
    )


def incomplete(prop: Property, exploration: Exploration, variant: str | None) -> Verdict:
    """``unknown``: a limit stopped the exploration before the property was decided."""
    return make_verdict(
        prop,
        exploration,
        variant,
        Outcome.UNKNOWN,
        f"exploration incomplete ({exploration.stopped()})",
    )


def polarity(prop: Property, found: bool) -> Outcome:
    """The verdict on an existential kind's claim when a run doing it was ``found`` (or
    the whole graph has none): ``exists = true`` holds when one was found, ``exists =
    false`` ("no run ...") when none was."""
    return Outcome.HOLDS if found == (prop.exists is not False) else Outcome.VIOLATED


def _run_is(prop: Property) -> str:
    """What the run found is to an existential claim: its witness, or -- "no run ..." --
    its counterexample."""
    return "witness:" if prop.exists is not False else "counterexample:"


def _shortest(
    exploration: Exploration, goal: Callable[[int], bool], runs: int, *, stops: bool = False
) -> list[Trace]:
    """The shortest runs of the graph to a node where ``goal`` holds
    (:func:`~checker.check.shortest.shortest_runs`), as traces."""
    found = shortest_runs(exploration, 0, goal, node_moves(exploration), runs)
    return [trace_of(exploration, edges, stops=stops) for edges in found]
