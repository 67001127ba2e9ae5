"""tcpcheck's properties inside a Promela model: never claims and monitor processes.

Each claim extends the model :mod:`checker.export.promela` writes so that SPIN reports an error
exactly when tcpcheck's property check has a witness or a counterexample:

``Always(f)`` / ``Reach(f)``
    a never claim that ends (an error for SPIN) in a reachable state where ``f`` fails /
    holds: ``invariant`` and ``reachable``.
``PathClaim(side, pattern)``
    a deterministic never claim that follows the endpoint's control states through the
    pattern (``*`` for any states) and ends when all of it is matched: ``path``.
``DeadlockClaim(final, blocked)``
    a watcher process that fails an assertion when no move is possible (``timeout``)
    outside ``final`` -- not counting, unless ``blocked``, states where a move waits only
    for room in a full channel (tcpcheck reports those as ``unknown``): ``deadlock-free``.
``FairClaim(p, q, assumptions, blocked)``
    ``p ~> q`` under tcpcheck's fairness, for SPIN's acceptance-cycle search: see below.

Fairness as a monitor
---------------------
SPIN's own fairness (``pan -f``) is weak fairness per process; tcpcheck's is weak for each
timer and application, and strong for each segment's delivery (a segment sent infinitely
often is delivered infinitely often, and none stays in flight forever).  Strong fairness
over a dozen groups as an LTL premise is beyond any LTL-to-Büchi translation, so the model
carries a monitor instead, updated in the ``d_step`` of every move:

- ``mon``: ``p`` has held and ``q`` not since (tcpcheck's one-bit monitor);
- at some moment the monitor process guesses that the run's cycle begins (``cyc``);
  from then on ``Ls`` holds the deliveries whose segment the network lost, or a full
  channel dropped, and that have not been delivered since;
- a round has a turn per fairness group, taken in order (``k``): a turn is passed by a
  move of its group, or in a state where the group is not enabled and, for a delivery,
  not in ``Ls``.  A completed round pulses ``acc``.

The never claim accepts runs where ``mon`` holds from the guess on and ``acc`` pulses
infinitely often.  Why the rounds decide fair loss: a segment sent on a cycle, or in
flight somewhere on it, but never delivered on it was lost or dropped on the cycle or
never left the channel (its count falls only by delivery or loss, and the cycle returns
to its start) -- so "delivered, or lost and dropped nowhere and not in flight somewhere"
per segment is exactly fair loss on a cycle, and the rest is weak fairness (generalized Büchi,
degeneralized by the turn counter).  On an accepting cycle a segment lost and never
delivered stays in ``Ls`` all around it, so its turn never passes; every other turn
passes as fairness demands: the cycle is fair and avoids ``q``.  Conversely a fair
lasso of tcpcheck's is accepted, guessing the cycle where it begins.  A run may also
stop where no fairness is owed (``fin = 1``); a state where nothing can move although a
delivery, timer or call is owed -- a full channel blocks it -- sets ``fin = 2``,
accepted only with ``blocked``, as tcpcheck answers ``unknown`` there.

Examples
--------
>>> from checker.check.formula import parse_formula
>>> Always(parse_formula("A != CLOSING")).kind
'invariant'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..check.formula import Formula, parse_formula
from ..check.liveness import Group, delivery_group, edge_group, local_obligations
from ..check.paths import parse_path, path_start, path_step
from ..check.properties import Property, premise_and_goal
from ..errors import ModelError, UsageError
from ..model.endpoint import initial_local
from ..model.load import load_spec
from ..model.overrides import merge_params, parameter_names
from ..model.segments import Segment
from ..product.semantics import Label, PState
from .promela import Claim, LineAction, Model, any_of, promela

__all__ = [
    "Always",
    "DeadlockClaim",
    "FairClaim",
    "PathClaim",
    "Reach",
    "claim_for",
    "property_model",
]


def claim_for(prop: Property, blocked: bool = False) -> Claim:
    """The claim deciding an untimed property; ``blocked``: a deadlock or a stop where a
    full channel blocks an owed move counts too (tcpcheck's ``unknown``)."""
    kind = prop.kind
    if kind == "invariant":
        return Always(parse_formula(prop.formula))
    if kind == "reachable":
        return Reach(parse_formula(prop.formula))
    if kind == "path":
        side, pattern = parse_path(prop.formula)
        return PathClaim(side, pattern)
    if kind == "deadlock-free":
        assert prop.final is not None
        return DeadlockClaim(parse_formula(prop.final), blocked)
    if kind in ("eventually", "leads-to"):
        p, q = premise_and_goal(prop)
        return FairClaim(p, q, tuple(prop.fairness), blocked)
    raise ValueError(f"{prop.name}: {kind} properties are not decided by SPIN (timed)")


def property_model(
    prop: Property, spec_path: str | Path | None = None, variant: str | None = None
) -> str:
    """The Promela model SPIN decides ``prop`` on: the product under the property's own
    configuration and parameters (those ``variant`` has), with the property's claim --
    what ``tcpcheck export promela --property NAME`` writes."""
    if prop.timed:
        raise UsageError(
            f"{prop.name} is a timed property: SPIN has no clocks; export an untimed one"
        )
    known = parameter_names(spec_path, variant, check_behaviour=True)
    config = prop.product_config()
    claim = claim_for(prop)
    spec = load_spec(spec_path, variant=variant, params=merge_params(prop.params, known=known))
    return promela(spec, config, claim)


@dataclass
class Always(Claim):
    """The invariant ``formula``: the claim ends in a state where it fails."""

    formula: Formula
    kind = "invariant"
    meaning = "an error (the claim ends) is a reachable state where the invariant fails"

    def finish(
        self, model: Model, needs_room: Sequence[str]
    ) -> list[tuple[str, LineAction | None]]:
        expr = self.formula.render(model.atoms)
        stop = expr if self.kind == "reachable" else f"!({expr})"
        return _lines([f"/* {self.kind}: {self.formula.canonical} */", _until(stop)])


@dataclass
class Reach(Always):
    """Reachability of ``formula``: the claim ends in a state where it holds."""

    kind = "reachable"
    meaning = (
        "an error (the claim ends) is a run to a state where the formula holds: a witness "
        "of 'some run reaches', a counterexample to 'no run reaches' (exists = false)"
    )


def _until(stop: str) -> str:
    return f"never {{\n\tdo\n\t:: {stop} -> break\n\t:: else\n\tod\n}}"


def _lines(texts: Sequence[str]) -> list[tuple[str, LineAction | None]]:
    return [(t, None) for t in texts]


@dataclass
class PathClaim(Claim):
    """Some run takes ``side`` through ``pattern``: a deterministic never claim whose
    locations are (pattern positions matched, the control state seen last); it stays
    while the control state stays, advances when it changes, blocks when no position is
    left, and ends when the whole pattern is matched."""

    side: str
    pattern: list[str]
    kind = "path"
    meaning = (
        "an error (the claim ends) is a run through the pattern: a witness of 'some run "
        "takes', a counterexample to 'no run takes' (exists = false)"
    )

    def finish(
        self, model: Model, needs_room: Sequence[str]
    ) -> list[tuple[str, LineAction | None]]:
        controls = sorted({loc.state for loc in model.locals})
        var = {
            c: model.local_in(
                self.side, [i for i, loc in enumerate(model.locals) if loc.state == c]
            )
            for c in controls
        }
        goal = len(self.pattern)
        names: dict[tuple[frozenset[int], str], str] = {}
        todo: list[tuple[frozenset[int], str]] = []

        def target(pos: frozenset[int], control: str) -> str:
            if goal in pos:
                return "done"
            key = (pos, control)
            if key not in names:
                names[key] = f"L{len(names)}"
                todo.append(key)
            return names[key]

        def branches(moves: list[tuple[str, str]]) -> list[str]:
            if not moves:
                return ["\tfalse;"]  # no position left: this run cannot match
            return ["\tif", *(f"\t:: {cond} -> goto {to}" for cond, to in moves), "\tfi;"]

        body = ["start:"]
        body += branches(
            [(var[c], target(p, c)) for c in controls if (p := path_start(self.pattern, c))]
        )
        while todo:
            pos, here = todo.pop(0)
            moves = [(var[here], names[(pos, here)])]
            for c in controls:
                if c != here and (nxt := path_step(self.pattern, pos, c)):
                    moves.append((var[c], target(nxt, c)))
            body += [f"{names[(pos, here)]}:  /* matched {sorted(pos)}, {self.side} = {here} */"]
            body += branches(moves)
        shown = f"{self.side}: {', '.join(self.pattern)}"
        return _lines([f"/* path: {shown} */", "never {", *body, "done:", "\tskip", "}"])


@dataclass
class DeadlockClaim(Claim):
    """A deadlock outside ``final``: a watcher fails an assertion when nothing can move
    (SPIN's ``timeout``).  Unless ``blocked``, not where a move only lacks room."""

    final: Formula
    blocked: bool = False
    kind = "deadlock-free"
    meaning = "an assertion violated is a deadlock outside the final states"

    def finish(
        self, model: Model, needs_room: Sequence[str]
    ) -> list[tuple[str, LineAction | None]]:
        cond = ["timeout", f"!({self.final.render(model.atoms)})"]
        if not self.blocked:
            cond.append(f"!{any_of(f'({g})' for g in needs_room)}")
        return [
            ("/* a deadlock outside: " + self.final.canonical + " */", None),
            ("active proctype Watch() {\nend: do", None),
            (
                f"\t:: atomic {{ {' && '.join(cond)} -> assert(false) }}",
                ("monitor", "deadlock", None, None),
            ),
            ("od\n}", None),
        ]


@dataclass
class FairClaim(Claim):
    """``p ~> q`` under ``assumptions`` (see the module doc).  One instance serves the
    generation of one model: :meth:`declare` numbers the fairness groups."""

    p: Formula
    q: Formula
    assumptions: tuple[str, ...]
    blocked: bool = False
    kind = "leads-to"
    liveness = True
    meaning = "an acceptance cycle is a fair run that reaches p and never q afterwards"
    #: The active fairness groups, strong first, in the monitor's order.
    groups: list[Group] = field(default_factory=list)
    #: Each delivery group's bit in ``Ls``.
    lost_bit: dict[Group, int] = field(default_factory=dict)
    #: The assignments filling the constant tables.
    tables: list[str] = field(default_factory=list)

    def declare(self, model: Model) -> list[str]:
        active = set(self.assumptions)
        # The groups, strong (deliveries) first -- a turn's number is its group's index,
        # and a delivery's bit in Ls is 1 << its index -- then the weak ones (timers and
        # calls), bit i - len(strong) in the per-local-state tables.
        strong: dict[Group, tuple[int, int]] = {}  # group -> (channel 1 ab / 2 ba, id)
        for side, ch in (("A", 2), ("B", 1)):
            for c in model.codes:
                assumption, group = delivery_group(side, Segment.from_code(c))
                if assumption in active:
                    if group in strong:
                        raise ModelError(f"two segments are described as {group[2]}")
                    strong[group] = (ch, model.sid[c])
        owed = {
            (side, i, quiet): {
                g
                for a, g in local_obligations(model.spec, model.config, side, loc, quiet)
                if a in active
            }
            for side in ("A", "B")
            for i, loc in enumerate(model.locals)
            for quiet in (False, True)
        }
        weak = sorted({g for groups in owed.values() for g in groups})
        if len(strong) > 31 or len(weak) > 31:
            raise ModelError("more than 31 fairness groups of one kind: the monitor's masks")
        self.groups = sorted(strong) + weak
        self.lost_bit = {g: 1 << i for i, g in enumerate(sorted(strong))}
        bit = {g: 1 << i for i, g in enumerate(weak)}

        def mask(groups: set[Group]) -> int:
            return sum(bit[g] for g in groups)

        tables = []
        for side in ("A", "B"):
            for i in range(len(model.locals)):
                always = mask(owed[(side, i, False)])
                only_quiet = mask(owed[(side, i, True)]) & ~always
                if always:
                    tables.append(f"EN{side}[{i}] = {always}")
                if only_quiet:
                    tables.append(f"Q{side}[{i}] = {only_quiet}")
        for i, g in enumerate(sorted(strong)):
            ch, sid = strong[g]
            tables += [f"TCH[{i}] = {ch}", f"TSID[{i}] = {sid}"]
        self.tables = tables
        start = initial_local(model.spec)
        first = PState(start, start)
        mon = int(self.p(first) and not self.q(first))
        ns, n = len(strong), len(self.groups)
        cap = model.config.capacity
        if model.fifo:
            held = {
                ch: " || ".join(f"{ch}[{j}] == TSID[X]" for j in range(cap)) for ch in ("ab", "ba")
            }
        else:
            held = {ch: f"{ch}[TSID[X]] > 0" for ch in ("ab", "ba")}
        quiet = "QUIET" if model.quiet else "false"
        lines = [
            f"/* fairness group {i}: {k} {side} {what} */"
            for i, (k, side, what) in enumerate(self.groups)
        ]
        lines += [
            f"bit mon = {mon};  /* {self.p.canonical} has held, {self.q.canonical} not since */",
            "bit cyc, acc;  /* the cycle has begun; a round of the turns was completed */",
            "byte fin = 3;  /* 3: tables not filled yet; 0: running; 1: the run stops where "
            "nothing is owed; 2: a full channel stops it */",
            "byte k;  /* the turn the round waits for */",
            "int Ls;  /* deliveries lost or dropped since the cycle began, not made since */",
            "/* Constant tables (hidden: no part of a state), filled by the monitor's first step:",
            "   the weak groups enabled in each local state (Q: only when QUIET), and each",
            "   delivery turn's channel (1: A->B, 2: B->A) and segment id. */",
            f"hidden int ENA[{len(model.locals)}], ENB[{len(model.locals)}];",
            f"hidden int QA[{len(model.locals)}], QB[{len(model.locals)}];",
            f"hidden byte TCH[{max(ns, 1)}], TSID[{max(ns, 1)}];",
            f"#define NSTRONG {ns}",
            f"#define NTURNS {n}",
            f"#define P ({self.p.render(model.atoms)})",
            f"#define Q ({self.q.render(model.atoms)})",
            f"#define WEAKEN (ENA[a] | ENB[b] | ({quiet} -> (QA[a] | QB[b]) : 0))",
            f"#define DELEN(X) ((TCH[X] == 1 && ({held['ab']})) "
            f"|| (TCH[X] == 2 && ({held['ba']})))",
            "/* Turn X is passed in this state: its group is not enabled (a delivery: its",
            "   segment is not in flight, and was not lost since the cycle began). */",
            "#define PASS(X) (X < NSTRONG -> (!DELEN(X) && ((Ls >> X) & 1) == 0) "
            ": ((WEAKEN >> (X - NSTRONG)) & 1) == 0)",
            "#define STOPOK (WEAKEN == 0" + (" && ab_n == 0 && ba_n == 0)" if ns else ")"),
            "/* After each move (G: its group): pass the turns it passes, a round of them",
            "   pulses acc; and the monitor of p and q. */",
            "#define UPD(G) \\",
            "\tif \\",
            "\t:: cyc -> Ls = Ls & ~(G < NSTRONG -> 1 << G : 0); \\",
            "\t\tdo \\",
            "\t\t:: k < NTURNS && (k == G || PASS(k)) -> k++ \\",
            "\t\t:: else -> break \\",
            "\t\tod; \\",
            "\t\tif \\",
            "\t\t:: k == NTURNS -> acc = 1; k = 0 \\",
            "\t\t:: else -> acc = 0 \\",
            "\t\tfi \\",
            "\t:: else -> skip \\",
            "\tfi; \\",
            "\tmon = (mon || P) && !Q",
        ]
        return lines

    def lose(self, model: Model, ch: str, sid: str) -> list[str]:
        receiver = "B" if ch == "ab" else "A"
        terms = [
            f"({sid} == {model.sid[c]} -> {bit} : 0)"
            for c in model.codes
            if (bit := self.lost_bit.get(delivery_group(receiver, Segment.from_code(c))[1]))
        ]
        if not terms:
            return []
        return [f"if :: cyc -> Ls = Ls | ({' + '.join(terms)}) :: else -> skip fi"]

    def guard(self) -> str:
        return "fin == 0"

    def update(self, model: Model, label: Label | None) -> list[str]:
        # In the move's own d_step: a monitor step of its own would store every state
        # once more per move into it (measured: 3.3 times the states).
        index = len(self.groups)  # no group: a loss or a duplication, or switched off
        if label is not None:
            assumption, group = edge_group(label)
            if group is not None and assumption in self.assumptions:
                index = self.groups.index(group)
        return [f"UPD({index})"]

    def finish(
        self, model: Model, needs_room: Sequence[str]
    ) -> list[tuple[str, LineAction | None]]:
        accept = "(acc && fin == 0) || fin == 1" + (" || fin == 2" if self.blocked else "")
        begun = "cyc || fin == 1" + (" || fin == 2" if self.blocked else "")
        used = ", ".join(self.assumptions) or "no fairness"
        return [
            ("active proctype Monitor() {\nend: do", None),
            (
                f"\t:: d_step {{ fin == 3 -> {'; '.join([*self.tables, 'fin = 0'])} }}",
                ("monitor", "tables", None, None),
            ),
            (
                "\t:: d_step { fin == 0 && cyc == 0 && mon -> cyc = 1 }"
                "  /* the cycle begins here */",
                ("monitor", "cycle", None, None),
            ),
            (
                "\t:: d_step { fin == 0 && STOPOK -> fin = 1; acc = 0 }"
                "  /* the run stops: nothing is owed */",
                ("monitor", "stop", None, None),
            ),
            (
                "\t:: atomic { timeout && fin == 0 -> fin = 2; acc = 0 }"
                "  /* nothing can move, something is owed */",
                ("monitor", "stuck", None, None),
            ),
            ("od\n}", None),
            (f"/* {self.p.canonical} ~> {self.q.canonical} under {used} */", None),
            (f"#define ACC ({accept})", None),
            ("never {", None),
            ("T0_init:", None),
            (f"\tif\n\t:: true -> goto T0_init\n\t:: ({begun}) && mon -> goto T1\n\tfi;", None),
            ("T1:", None),
            ("\tif\n\t:: mon && ACC -> goto accept_S\n\t:: mon && !ACC -> goto T1\n\tfi;", None),
            ("accept_S:", None),
            ("\tif\n\t:: mon && ACC -> goto accept_S\n\t:: mon && !ACC -> goto T1\n\tfi;", None),
            ("}", None),
        ]
