"""Promela export of a product configuration, for cross-checking with SPIN.

The model is generated from the same tables the explorer fills from the spec
(:class:`checker.explore._Core`), so it is the product, not a second reading of the RFC:

- ``a`` and ``b`` hold the endpoints' local-state ids, numbered as the explorer numbers
  them (the initial local state is 0, so every variable starts at 0);
- an unordered channel is a count per segment (a canonical multiset), a FIFO channel an
  array with its head at ``[0]`` and unused slots 0; ``ab_n``/``ba_n`` are their
  lengths; ``lost``/``dups`` exist only under a finite budget;
- one ``active proctype`` per endpoint (and ``Net`` for losses and duplications), each a
  single ``do`` loop of ``d_step`` alternatives -- one per table entry: an application
  call, a timer, the delivery of each segment -- with a comment naming the rule
  (``rule#N``), the state and the event.  A quiescent timer is guarded by ``QUIET``
  (nothing in flight and no other timer of either endpoint can fire), as in the explorer.

With every move one ``d_step`` at a single loop location, SPIN's stored states are
exactly the product's states: measured equal on every configuration tried (default,
FIFO, loss budgets, duplication, overflow drop, other application modes), and SPIN's
transitions are tcpcheck's plus one (pan counts the initial state as a transition).

Examples
--------
>>> from checker.spec import load_spec
>>> from checker.config import ProductConfig
>>> text = promela(load_spec(), ProductConfig(loss="none", ordering="fifo"))
>>> text.count("active proctype")
2
>>> "d_step { a == 0 &&" in text
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .config import ProductConfig
from .endpoint import Local, closure, initial_local
from .errors import ModelError
from .explore import _Core, _segment_order
from .formula import Formula
from .segments import Segment
from .spec import Spec

__all__ = ["Move", "promela", "promela_with_moves"]


#: What a line of the model does, for replaying SPIN's trails: an endpoint's move
#: ``("move", side, label, new local)``, or the network's ``("lose" | "dup", channel,
#: segment code or FIFO position)``.
Move = tuple[str, str, Any, Any]


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.lineno = 0
        self.moves: dict[int, Move] = {}

    def line(self, text: str) -> None:
        self.lines.append(text)
        self.lineno += text.count("\n") + 1

    def alt(
        self, guards: Sequence[str], stmts: Sequence[str], comment: str, move: Move | None = None
    ) -> None:
        guard = " && ".join(g for g in guards if g) or "true"
        body = "; ".join(stmts) or "skip"
        self.line(f"\t:: d_step {{ {guard} -> {body} }}  /* {comment} */")
        if move is not None:
            self.moves[self.lineno] = move


class _Atoms:
    """A formula's atoms as Promela expressions over the model's variables."""

    def __init__(self, locals_: Sequence[Local], sid: dict[int, int], fifo: bool, cap: int):
        self.locals = locals_
        self.sid = sid
        self.fifo = fifo
        self.cap = cap

    def local(self, side: str, test: Callable[[Any], bool]) -> str:
        var = "a" if side == "A" else "b"
        ids = [i for i, loc in enumerate(self.locals) if test(loc)]
        if len(ids) == len(self.locals):
            return "true"
        return "(" + " || ".join(f"{var} == {i}" for i in ids) + ")" if ids else "false"

    def inflight(self, side: str, bits: int) -> str:
        ch = "ab" if side == "A" else "ba"
        segs = [n for c, n in sorted(self.sid.items()) if Segment.from_code(c).flags & bits == bits]
        if self.fifo:  # unused slots hold 0, no segment's id
            tests = [f"{ch}[{i}] == {n}" for n in segs for i in range(self.cap)]
        else:
            tests = [f"{ch}[{n}] > 0" for n in segs]
        return "(" + " || ".join(tests) + ")" if tests else "false"

    def empty(self) -> str:
        return "(ab_n == 0 && ba_n == 0)"


def promela(
    spec: Spec,
    config: ProductConfig,
    never: tuple[str, Formula] | None = None,
) -> str:
    """The Promela model of the product of ``spec`` under ``config`` (deterministic).

    ``never = ("always", f)`` adds a never claim that ends -- an error for SPIN -- in a
    reachable state where ``f`` fails; ``("reach", f)`` one that ends where ``f`` holds."""
    return promela_with_moves(spec, config, never)[0]


def promela_with_moves(
    spec: Spec,
    config: ProductConfig,
    never: tuple[str, Formula] | None = None,
) -> tuple[str, dict[int, Move]]:
    """:func:`promela`, and what each move's line does (for replaying trails)."""
    core = _Core(spec, config)
    core.lid(initial_local(spec))  # id 0, as in explore()
    endpoint = closure(spec)
    for loc in sorted(endpoint.locals):
        core.lid(loc)
    n_loc = len(core.locals)
    codes = sorted((s.code for s in endpoint.segments), key=_segment_order)
    sid = {c: i + 1 for i, c in enumerate(codes)}  # 0 is an empty FIFO slot
    cap = config.capacity
    fifo = config.ordering == "fifo"
    drop = config.overflow == "drop"
    loss_budget = config.loss_budget  # None: any number of losses, no counter
    dup_budget = config.dup_budget
    quiet = any(t.untimed == "quiescent" for t in spec.timers)
    any_timer = [i for i in range(n_loc) if core.has_any_timer(i)]
    w = _Writer()

    def name(code: int) -> str:
        return Segment.from_code(code).name

    w.line(f"/* Generated by `tcpcheck export promela` from {spec.title}"
           + (f", variant {spec.variant.name}" if spec.variant else "") + ". */")  # fmt: skip
    w.line(f"/* Configuration: {config.describe()}. */")
    w.line(f"/* {n_loc} local states of an endpoint; {len(codes)} segments. */")
    for i, loc in enumerate(core.locals):
        w.line(f"/* local {i}: {loc.describe()} */")
    for c in codes:
        w.line(f"/* segment {sid[c]}: {name(c)} */")
    w.line(f"#define CAP {cap}")
    w.line("byte a, b;  /* the endpoints' local-state ids */")
    if fifo:
        w.line("byte ab[CAP], ba[CAP];  /* FIFO contents, head at [0], unused slots 0 */")
    else:
        w.line(f"byte ab[{len(codes) + 1}], ba[{len(codes) + 1}];  /* a count per segment */")
    w.line("byte ab_n, ba_n;  /* lengths: a function of the contents, no extra states */")
    if loss_budget is not None and loss_budget > 0:
        w.line("byte lost;")
    if dup_budget > 0:
        w.line("byte dups;")
    if quiet:
        cond = " || ".join(f"X == {i}" for i in any_timer) or "0"
        w.line(f"#define ANYTIMER(X) ({cond})")
        w.line("#define QUIET (ab_n == 0 && ba_n == 0 && !ANYTIMER(a) && !ANYTIMER(b))")

    def push(ch: str, segs: tuple[int, ...]) -> tuple[str, list[str]]:
        """(guard, statements) sending ``segs`` into ``ch`` (blocking, or dropping what
        does not fit)."""
        if not segs:
            return "", []
        guard = "" if drop else ("false" if len(segs) > cap else f"{ch}_n + {len(segs)} <= CAP")
        out = []
        for c in segs:
            one = f"{ch}[{ch}_n] = {sid[c]}; {ch}_n++" if fifo else f"{ch}[{sid[c]}]++; {ch}_n++"
            out.append(f"if :: {ch}_n < CAP -> {one} :: else -> skip fi" if drop else one)
        return guard, out

    def remove_at(ch: str, i: int) -> list[str]:
        # Shift left and clear the last slot: equal contents must be equal arrays.
        shift = [f"{ch}[{j}] = {ch}[{j + 1}]" for j in range(i, cap - 1)]
        return [*shift, f"{ch}[{cap - 1}] = 0", f"{ch}_n--"]

    def about(lab: int, src: int) -> str:
        label = core.labels[lab]
        text = f"{label.actor}: rule#{label.rule} {core.locals[src].state}: {label.event}"
        if label.received:
            text += f" ({label.received.name})"
        if label.sent:
            text += " / snd " + ", ".join(s.name for s in label.sent)
        return text + f" -> {label.target}"

    for side, me, out, inc in (("A", "a", "ab", "ba"), ("B", "b", "ba", "ab")):
        w.line(f"active proctype {side}() {{\nend: do")
        count = 0
        for lid in range(n_loc):
            for lab, new, oid in core.moves(side, lid):
                g, st = push(out, core.outs[oid])
                step = ("move", side, core.labels[lab], core.locals[new])
                w.alt([f"{me} == {lid}", g], [f"{me} = {new}", *st], about(lab, lid), step)
                count += 1
            if quiet and lid not in any_timer:
                for lab, new, oid in core.timer_moves(side, lid, "quiescent"):
                    g, st = push(out, core.outs[oid])
                    step = ("move", side, core.labels[lab], core.locals[new])
                    guards = [f"{me} == {lid}", "QUIET", g]
                    w.alt(guards, [f"{me} = {new}", *st], about(lab, lid), step)
                    count += 1
            for c in codes:
                if fifo:
                    ready, taken = f"{inc}_n > 0 && {inc}[0] == {sid[c]}", remove_at(inc, 0)
                else:
                    ready, taken = f"{inc}[{sid[c]}] > 0", [f"{inc}[{sid[c]}]--", f"{inc}_n--"]
                try:
                    lab, new, oid = core.recv(side, lid, c)
                except ModelError:
                    # A segment this local state cannot place (it acknowledges something
                    # never sent); the explorer stops with an error there, SPIN too.
                    w.alt([f"{me} == {lid}", ready], ["assert(false)"], f"{name(c)}: unplaceable")
                    continue
                g, st = push(out, core.outs[oid])
                step = ("move", side, core.labels[lab], core.locals[new])
                guards = [f"{me} == {lid}", ready, g]
                w.alt(guards, [f"{me} = {new}", *taken, *st], about(lab, lid), step)
                count += 1
        if count == 0:
            w.line("\t:: false")
        w.line("od\n}")

    losing = loss_budget is None or loss_budget > 0
    if losing or dup_budget > 0:
        w.line("active proctype Net() {\nend: do")
        for ch, shown in (("ab", "A->B"), ("ba", "B->A")):
            if losing:
                budget = [f"lost < {loss_budget}"] if loss_budget is not None else []
                counted = ["lost++"] if loss_budget is not None else []
                if fifo:
                    for i in range(cap):
                        # One loss per distinct remainder, as the explorer counts them.
                        held = [f"{ch}_n > {i}"] + ([f"{ch}[{i}] != {ch}[{i - 1}]"] if i else [])
                        w.alt(
                            held + budget,
                            remove_at(ch, i) + counted,
                            f"net: lose {shown} #{i}",
                            ("lose", ch, "position", i),
                        )
                else:
                    for c in codes:
                        w.alt(
                            [f"{ch}[{sid[c]}] > 0", *budget],
                            [f"{ch}[{sid[c]}]--", f"{ch}_n--", *counted],
                            f"net: lose {name(c)} {shown}",
                            ("lose", ch, "code", c),
                        )
            if dup_budget > 0:
                for c in codes:
                    if fifo:
                        present = " || ".join(
                            f"({ch}_n > {i} && {ch}[{i}] == {sid[c]})" for i in range(cap)
                        )
                        has, put = f"({present})", [f"{ch}[{ch}_n] = {sid[c]}", f"{ch}_n++"]
                    else:
                        has, put = f"{ch}[{sid[c]}] > 0", [f"{ch}[{sid[c]}]++", f"{ch}_n++"]
                    w.alt(
                        [has, f"{ch}_n < CAP", f"dups < {dup_budget}"],
                        [*put, "dups++"],
                        f"net: duplicate {name(c)} {shown}",
                        ("dup", ch, "code", c),
                    )
        w.line("od\n}")
    if never is not None:
        mode, formula = never
        expr = formula.render(_Atoms(core.locals, sid, fifo, cap))
        stop = f"!({expr})" if mode == "always" else expr
        w.line(f"/* {mode}: {formula.canonical} */")
        w.line(f"never {{\n\tdo\n\t:: {stop} -> break\n\t:: else\n\tod\n}}")
    return "\n".join(w.lines) + "\n", w.moves
