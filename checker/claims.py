"""tcpcheck's properties inside a Promela model: never claims and monitor processes.

Each claim extends the model :mod:`checker.promela` writes so that SPIN reports an error
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
timer and application, and strong for each segment's delivery (a segment that can be
delivered infinitely often is delivered infinitely often).  Strong fairness over a dozen
groups as an LTL premise is beyond any LTL-to-Büchi translation, so the model carries a
monitor instead, with one bit per fairness group:

- ``mon``: ``p`` has held and ``q`` not since (tcpcheck's one-bit monitor);
- at some moment the monitor process guesses that the run's cycle begins (``cyc``);
  from then on every move adds its group to ``Ts``/``Tw`` (taken), the strong groups
  enabled in the new state to ``Es`` (enabled since the guess) and intersects ``Ww``
  with the weak groups enabled (enabled all along the window);
- when every group in ``Es`` and ``Ww`` has been taken in the window, ``acc`` pulses
  and the window restarts.

The never claim accepts runs where ``mon`` holds from the guess on and ``acc`` pulses
infinitely often.  An accepting cycle of the product therefore keeps ``Es`` constant and
contains a whole window: every strong group enabled on it is taken on it, every weak
group enabled throughout is taken -- a fair cycle avoiding ``q``.  Conversely a fair
lasso of tcpcheck's gives one, guessing the cycle where it begins.  A run may also stop
where no fairness is owed (``fin = 1``); a state where nothing can move although a
delivery, timer or call is owed -- a full channel blocks it -- sets ``fin = 2``, accepted
only in the second search (``blocked``), as tcpcheck answers ``unknown`` there.

Examples
--------
>>> from checker.formula import parse_formula
>>> Always(parse_formula("A != CLOSING")).kind
'invariant'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .endpoint import initial_local
from .errors import ModelError
from .formula import Formula
from .liveness import Group, delivery_group, edge_group, local_obligations
from .product import Label, PState
from .promela import Claim, Model, Move, _any
from .properties import path_start, path_step
from .segments import Segment

__all__ = ["Always", "DeadlockClaim", "FairClaim", "PathClaim", "Reach"]


@dataclass
class Always(Claim):
    """The invariant ``formula``: the claim ends in a state where it fails."""

    formula: Formula
    kind = "invariant"

    def finish(self, model: Model, needs_room: Sequence[str]) -> list[tuple[str, Move | None]]:
        expr = self.formula.render(model.atoms)
        return _lines([f"/* always: {self.formula.canonical} */", _until(f"!({expr})")])


@dataclass
class Reach(Claim):
    """Reachability of ``formula``: the claim ends in a state where it holds."""

    formula: Formula
    kind = "reachable"

    def finish(self, model: Model, needs_room: Sequence[str]) -> list[tuple[str, Move | None]]:
        expr = self.formula.render(model.atoms)
        return _lines([f"/* reach: {self.formula.canonical} */", _until(expr)])


def _until(stop: str) -> str:
    return f"never {{\n\tdo\n\t:: {stop} -> break\n\t:: else\n\tod\n}}"


def _lines(texts: Sequence[str]) -> list[tuple[str, Move | None]]:
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

    def finish(self, model: Model, needs_room: Sequence[str]) -> list[tuple[str, Move | None]]:
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

    def finish(self, model: Model, needs_room: Sequence[str]) -> list[tuple[str, Move | None]]:
        cond = ["timeout", f"!({self.final.render(model.atoms)})"]
        if not self.blocked:
            cond.append(f"!{_any(f'({g})' for g in needs_room)}")
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
    #: The active fairness groups, strong first, in the monitor's order.
    groups: list[Group] = field(default_factory=list)

    def _enabled(self, model: Model) -> dict[Group, str]:
        """Each active fairness group with the Promela condition that it is enabled."""
        active = set(self.assumptions)
        out: dict[Group, list[str]] = {}
        for side in ("A", "B"):
            for i, loc in enumerate(model.locals):
                always = local_obligations(model.spec, model.config, side, loc, False)
                quiet = local_obligations(model.spec, model.config, side, loc, True)
                for assumption, group in sorted(quiet):
                    if assumption not in active:
                        continue
                    here = model.local_in(side, [i])
                    term = here if (assumption, group) in always else f"({here} && QUIET)"
                    out.setdefault(group, []).append(term)
            inc = "ba" if side == "A" else "ab"
            for c in model.codes:
                assumption, group = delivery_group(side, Segment.from_code(c))
                if assumption in active:
                    out.setdefault(group, []).append(model.holds(inc, c))
        # Strong groups first: their bits in Es are the group's index.
        order = sorted(out, key=lambda g: (g[0] != "strong", g))
        return {g: _any(out[g]) for g in order}

    def declare(self, model: Model) -> list[str]:
        enabled = self._enabled(model)
        self.groups = list(enabled)
        strong = [g for g in self.groups if g[0] == "strong"]
        if len(strong) > 31:
            raise ModelError("more than 31 strongly fair groups: the monitor's mask is an int")
        start = initial_local(model.spec)
        first = PState(start, start)
        mon = int(self.p(first) and not self.q(first))
        ens = " + ".join(["0", *(f"({enabled[g]} -> {1 << i} : 0)" for i, g in enumerate(strong))])
        # Group i is satisfied by a step that takes it, or, for a strong group, while it
        # has not been enabled since the cycle began, for a weak one in a state where it
        # is not enabled.
        sat = [
            f"(k == {i} && (G == {i} || "
            + (f"(Es & {1 << i}) == 0" if g[0] == "strong" else f"!{enabled[g]}")
            + "))"
            for i, g in enumerate(self.groups)
        ]
        lines = [
            f"/* fairness group {i}: {k} {side} {what} */"
            for i, (k, side, what) in enumerate(self.groups)
        ]
        lines += [
            f"bit mon = {mon};  /* {self.p.canonical} has held, {self.q.canonical} not since */",
            "bit cyc, acc;  /* the cycle has begun; a round of the groups was completed */",
            "byte fin;  /* 1: the run stops where nothing is owed; 2: a full channel stops it */",
            "byte k;  /* the fairness group the round waits for */",
            "int Es;  /* the strong groups enabled since the cycle began */",
            f"#define NGROUPS {len(self.groups)}",
            f"#define P ({self.p.render(model.atoms)})",
            f"#define Q ({self.q.render(model.atoms)})",
            f"#define ENS ({ens})",
            f"#define STOPOK (!{_any(enabled.values())})",
            f"#define SAT(G) ({' || '.join(sat) or 'false'})",
            "byte pend;  /* 1 + the group of the move the monitor has yet to see; 0: none */",
        ]
        return lines

    def guard(self) -> str:
        return "fin == 0 && pend == 0"

    def update(self, model: Model, label: Label | None) -> list[str]:
        # The monitor sees the move in its own next step: one copy of its update in the
        # model, not one per move (which the C compiler takes minutes over).
        index = len(self.groups)  # no group: a loss or a duplication, or switched off
        if label is not None:
            assumption, group = edge_group(label)
            if group is not None and assumption in self.assumptions:
                index = self.groups.index(group)
        return [f"pend = {index + 1}"]

    def finish(self, model: Model, needs_room: Sequence[str]) -> list[tuple[str, Move | None]]:
        accept = "(acc && fin == 0) || fin == 1" + (" || fin == 2" if self.blocked else "")
        begun = "cyc || fin == 1" + (" || fin == 2" if self.blocked else "")
        used = ", ".join(self.assumptions) or "no fairness"
        return [
            ("active proctype Monitor() {\nend: do", None),
            (
                "\t:: d_step { pend != 0 ->  /* the move just made */",
                ("monitor", "update", None, None),
            ),
            ("\t\tif", None),
            ("\t\t:: cyc -> Es = Es | ENS;", None),
            ("\t\t\tdo", None),
            ("\t\t\t:: k < NGROUPS && SAT(pend - 1) -> k++", None),
            ("\t\t\t:: else -> break", None),
            ("\t\t\tod;", None),
            ("\t\t\tif", None),
            ("\t\t\t:: k == NGROUPS -> acc = 1; k = 0", None),
            ("\t\t\t:: else -> acc = 0", None),
            ("\t\t\tfi", None),
            ("\t\t:: else -> skip", None),
            ("\t\tfi;", None),
            ("\t\tmon = (mon || P) && !Q;", None),
            ("\t\tpend = 0", None),
            ("\t}", None),
            (
                "\t:: d_step { fin == 0 && pend == 0 && cyc == 0 && mon -> cyc = 1; Es = ENS }"
                "  /* the cycle begins here */",
                ("monitor", "cycle", None, None),
            ),
            (
                "\t:: d_step { fin == 0 && pend == 0 && STOPOK -> fin = 1; acc = 0 }"
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
