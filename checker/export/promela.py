"""Promela export of a product configuration, for cross-checking with SPIN.

The model is generated from the same tables the explorer fills from the spec
(:class:`checker.product.tables.Tables`), so it is the product, not a second reading of the RFC:

- ``a`` and ``b`` hold the endpoints' local-state ids, numbered as the explorer numbers
  them (the initial local state is 0, so every variable starts at 0);
- an unordered channel is a count per segment (a canonical multiset), a FIFO channel an
  array with its head at ``[0]`` and unused slots 0; ``ab_n``/``ba_n`` are their
  lengths; ``lost``/``dups`` exist only under a finite budget;
- one ``active proctype`` per endpoint with a location ``L<id>`` per local state, whose
  ``if`` offers that state's moves -- an application call, a timer, the delivery of
  each segment -- each a ``d_step`` commented with the rule (``rule#N``), the state and
  the event, grouped by target and followed by a jump to the target's location; and
  ``Net``, a ``do`` loop of losses and duplications; ``inj`` counts an attacker's
  forged segments, whose arrivals are moves of the endpoint they reach.  A quiescent
  timer is guarded by
  ``QUIET`` (nothing in flight and no other timer of either endpoint can fire), as in
  the explorer.

Every move is one ``d_step`` and jumps add no state, so SPIN's stored states are exactly
the product's states: measured equal on every configuration tried (default, FIFO, loss
budgets, duplication, overflow drop, other application modes), and SPIN's transitions
are tcpcheck's plus one (pan counts the initial state as a transition).  A location per
local state makes pan try a state's own few moves instead of all of them: 13 times
faster searches than one loop of every move.

Properties enter the model as claims (:class:`Claim`, :mod:`checker.export.claims`).

Examples
--------
>>> from checker.model.load import load_spec
>>> from checker.product.config import ProductConfig
>>> text = promela(load_spec(), ProductConfig(loss="none", ordering="fifo"))
>>> text.count("active proctype")
2
>>> "L0: end0:" in text and "goto L" in text
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ModelError
from ..model.endpoint import Local, initial_local
from ..model.segments import Segment
from ..model.spec import Spec
from ..product.config import ProductConfig
from ..product.semantics import Label, universe, waits_for_quiescence
from ..product.tables import Tables, segment_order

__all__ = ["Claim", "LineAction", "Model", "any_of", "one_of", "promela", "promela_with_moves"]


#: What a line of the model does, for replaying SPIN's trails: an endpoint's move
#: ``("move", side, label, new local)``, the network's ``("lose" | "dup", channel,
#: segment code or FIFO position)``, or a monitor's step ``("monitor", what, None,
#: None)`` -- not a move of the product.
LineAction = tuple[str, str, Any, Any]


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.lineno = 0
        self.moves: dict[int, LineAction] = {}
        #: Every move's guards but its room in the channel, for the moves that need room:
        #: a deadlock where one of them holds is one a full channel causes.
        self.needs_room: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append(text)
        self.lineno += text.count("\n") + 1

    def alt(
        self,
        guards: Sequence[str],
        stmts: Sequence[str],
        comment: str,
        move: LineAction | None = None,
        indent: str = "\t",
    ) -> None:
        """One alternative of an ``if`` or ``do``: a ``d_step`` that runs ``stmts`` when
        every guard holds, commented, and (``move``) what it does for replaying trails."""
        guard = " && ".join(g for g in guards if g) or "true"
        body = "; ".join(stmts) or "skip"
        self.line(f"{indent}:: d_step {{ {guard} -> {body} }}  /* {comment} */")
        if move is not None:
            self.moves[self.lineno] = move


class _Atoms:
    """A formula's atoms as Promela expressions over the model's variables."""

    def __init__(self, model: Model):
        self.model = model

    def local(self, side: str, test: Callable[[Any], bool]) -> str:
        ids = [i for i, loc in enumerate(self.model.locals) if test(loc)]
        return self.model.local_in(side, ids)

    def inflight(self, side: str, bits: int) -> str:
        m = self.model
        ch = "ab" if side == "A" else "ba"
        codes = [c for c in m.codes if Segment.from_code(c).flags & bits == bits]
        return any_of(m.holds(ch, c) for c in codes)

    def empty(self) -> str:
        return "(ab_n == 0 && ba_n == 0)"


def any_of(terms: Iterable[str]) -> str:
    """The Promela disjunction of ``terms``, simplified where a term is a constant.

    >>> any_of(["a == 1", "false"]), any_of([]), any_of(["x", "true"])
    ('(a == 1)', 'false', 'true')
    """
    listed = list(terms)
    if "true" in listed:
        return "true"
    listed = [t for t in listed if t != "false"]
    if not listed:
        return "false"
    return "(" + " || ".join(listed) + ")"


def one_of(var: str, ids: Iterable[int]) -> str:
    """``var`` is one of ``ids``: a few comparisons, or a bit test in 31-bit words (the
    expression stays short for any set: it is repeated in every move of some models).

    >>> one_of("a", [3, 40, 41, 42, 43])
    '(a == 3 || (a >= 31 && a < 62 && ((7680 >> (a - 31)) & 1)))'
    """
    listed = sorted(set(ids))
    if len(listed) <= 4:
        return any_of(f"{var} == {i}" for i in listed)
    words: dict[int, int] = {}
    for i in listed:
        words[i // 31] = words.get(i // 31, 0) | 1 << (i % 31)
    tests = []
    for w, mask in sorted(words.items()):
        if mask & (mask - 1) == 0:  # a single id in this word
            tests.append(f"{var} == {31 * w + mask.bit_length() - 1}")
            continue
        lo, hi = 31 * w, 31 * w + 31
        inside = f"{var} < {hi}" if w == 0 else f"{var} >= {lo} && {var} < {hi}"
        shifted = var if w == 0 else f"({var} - {lo})"
        tests.append(f"({inside} && (({mask} >> {shifted}) & 1))")
    return any_of(tests)


@dataclass
class Model:
    """What the generator knows about the model it writes, for the claims that extend it
    (:mod:`checker.export.claims`): the explorer's tables, segment ids and channel layout."""

    spec: Spec
    config: ProductConfig
    core: Tables
    codes: list[int]
    sid: dict[int, int]  # segment code -> id in the model (0 is an empty FIFO slot)
    quiet: bool  # the spec has quiescent timers: QUIET is defined

    @property
    def locals(self) -> list[Local]:
        return self.core.locals

    @property
    def fifo(self) -> bool:
        return self.config.ordering == "fifo"

    @property
    def atoms(self) -> _Atoms:
        return _Atoms(self)

    def local_in(self, side: str, ids: Sequence[int]) -> str:
        """``side``'s local-state id is one of ``ids``."""
        if len(ids) == len(self.locals):
            return "true"
        return one_of("a" if side == "A" else "b", ids)

    def holds(self, ch: str, code: int) -> str:
        """Channel ``ch`` (``ab`` or ``ba``) holds segment ``code`` somewhere."""
        n = self.sid[code]
        if self.fifo:  # unused slots hold 0, no segment's id
            return any_of(f"{ch}[{i}] == {n}" for i in range(self.config.capacity))
        return f"{ch}[{n}] > 0"


class Claim:
    """What a property adds to the model; the base adds nothing.  Subclasses (in
    :mod:`checker.export.claims`) declare variables, guard and extend every move of the
    product (``guard``, ``update``) and write monitors and a never claim (``finish``)."""

    #: SPIN searches for acceptance cycles (``pan -a``) rather than safety errors.
    liveness = False
    #: What an error of SPIN's means for the property (the exported file says it).
    meaning = ""

    def declare(self, model: Model) -> list[str]:
        """Declarations and macros, after the model's own."""
        return []

    def guard(self) -> str:
        """A guard on every move of the product ("" for none)."""
        return ""

    def update(self, model: Model, label: Label | None) -> list[str]:
        """Statements appended to a move with ``label`` (``None``: a loss or duplication)."""
        return []

    def lose(self, model: Model, ch: str, sid: str) -> list[str]:
        """Statements run before channel ``ch`` loses the segment whose id is ``sid`` (a
        Promela expression), or when a full ``ch`` drops it."""
        return []

    def finish(
        self, model: Model, needs_room: Sequence[str]
    ) -> list[tuple[str, LineAction | None]]:
        """Lines after the processes (monitors, the never claim), each with what it does
        when it is a step of a monitor process.  ``needs_room``: for each move that sends,
        its guards but the room in the channel."""
        return []


def promela(spec: Spec, config: ProductConfig, claim: Claim | None = None) -> str:
    """The Promela model of the product of ``spec`` under ``config`` (deterministic),
    extended by ``claim`` (:mod:`checker.export.claims`) when given."""
    return promela_with_moves(spec, config, claim)[0]


def promela_with_moves(
    spec: Spec, config: ProductConfig, claim: Claim | None = None
) -> tuple[str, dict[int, LineAction]]:
    """:func:`promela`, and what each move's line does (for replaying trails)."""
    claim = claim or Claim()
    core = Tables(spec, config)
    core.lid(initial_local(spec))  # id 0, as in explore()
    all_locals, all_segments = universe(spec, config)
    for loc in all_locals:
        core.lid(loc)
    n_loc = len(core.locals)
    codes = sorted((s.code for s in all_segments), key=segment_order)
    sid = {c: i + 1 for i, c in enumerate(codes)}  # 0 is an empty FIFO slot
    # The channel's rules (checker.product.network), written as Promela below.
    net = core.network
    cap = net.capacity
    fifo = net.fifo
    drop = net.drops_overflow
    loss_budget = net.loss  # None: any number of losses, no counter
    dup_budget = net.duplication
    quiet = waits_for_quiescence(spec)
    model = Model(spec, config, core, codes, sid, quiet)
    # QUIET is semantics.quiescent written in Promela: nothing in flight, and no local
    # state with a pending timer (semantics.timer_pending, via the tables).
    any_timer = [i for i in range(n_loc) if core.has_any_timer(i)]
    live = claim.guard()
    w = _Writer()

    w.line(f"/* Generated by `tcpcheck export promela` from {spec.title}"
           + (f", variant {spec.variant.name}" if spec.variant else "") + ". */")  # fmt: skip
    w.line(f"/* Configuration: {config.describe()}. */")
    if claim.meaning:
        flags = "" if claim.liveness else " -DSAFETY"
        search = " -a" if claim.liveness else ""
        w.line(f"/* Run: spin -a F.pml && tcc -DNOREDUCE{flags} -o pan pan.c && ./pan{search} "
               f"-m1000000 (or cc for tcc) -- {claim.meaning}. */")  # fmt: skip
    w.line(f"/* {n_loc} local states of an endpoint; {len(codes)} segments. */")
    for i, loc in enumerate(core.locals):
        w.line(f"/* local {i}: {loc.describe()} */")
    for c in codes:
        w.line(f"/* segment {sid[c]}: {Segment.from_code(c).describe()} */")
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
    if config.attacker:
        w.line("byte inj;  /* segments the attacker has forged */")
    if quiet:
        w.line(f"#define ANYTIMER(X) {one_of('X', any_timer) if any_timer else '(0)'}")
        w.line("#define QUIET (ab_n == 0 && ba_n == 0 && !ANYTIMER(a) && !ANYTIMER(b))")
    for text in claim.declare(model):
        w.line(text)

    def name(code: int) -> str:
        return Segment.from_code(code).name

    def push(ch: str, segs: tuple[int, ...]) -> tuple[str, list[str]]:
        """(guard, statements) sending ``segs`` into ``ch`` (blocking, or dropping what
        does not fit)."""
        if not segs:
            return "", []
        guard = "" if drop else ("false" if len(segs) > cap else f"{ch}_n + {len(segs)} <= CAP")
        out = []
        for c in segs:
            one = f"{ch}[{ch}_n] = {sid[c]}; {ch}_n++" if fifo else f"{ch}[{sid[c]}]++; {ch}_n++"
            # A segment a full channel drops was sent all the same: the claim may owe
            # its delivery (fair loss), as it does for one the network loses.
            dropped = "; ".join(claim.lose(model, ch, str(sid[c]))) or "skip"
            out.append(f"if :: {ch}_n < CAP -> {one} :: else -> {dropped} fi" if drop else one)
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

    #: A move of an endpoint from a local state: (target local id, guards without the
    #: room in the channel, the room needed, statements, label id).
    Alt = tuple[int, list[str], str, list[str], int]

    def location(side: str, src: int, alts: list[Alt], unplaceable: list[str]) -> None:
        """The location of local state ``src``: its moves grouped by target, each group
        an inner ``if`` followed by one jump (SPIN keeps one exit label per distinct
        statement after a ``d_step``, at most 2048 in a model: a jump per move would run
        out of them; an ``if`` whose options are ``d_step``s adds no state)."""
        w.line(f"L{src}: end{src}:  /* {core.locals[src].describe()} */")
        if not alts and not unplaceable:
            w.line("\tfalse;  /* no move */")
            return
        w.line("\tif")
        for new in sorted({a[0] for a in alts}):
            w.line("\t:: if")
            for target, guards, room, stmts, lab in alts:
                if target != new:
                    continue
                label = core.labels[lab]
                if room:  # the location is the local state: spell it out, globally
                    here = f"{'a' if side == 'A' else 'b'} == {src}"
                    w.needs_room.append(" && ".join([here, *guards]))
                step = ("move", side, label, core.locals[new])
                body = [*stmts, *claim.update(model, label)]
                w.alt([live, *guards, room], body, about(lab, src), step, indent="\t\t")
            w.line(f"\t\tfi; goto L{new}")
        for ready in unplaceable:
            # A segment this local state has no rule for: the explorer stops with an
            # error there, SPIN too.
            w.alt([ready], ["assert(false)"], "a segment this state has no rule for")
        w.line("\tfi;")

    for side, me, out, inc in (("A", "a", "ab", "ba"), ("B", "b", "ba", "ab")):
        # One location per local state: a move tries only the alternatives of its own
        # local state (jumps add no state, so the stored states stay the product's).
        w.line(f"active proctype {side}() {{")
        for lid in range(n_loc):
            alts: list[Alt] = []
            unplaceable: list[str] = []
            for lab, new, oid in core.moves(side, lid):
                g, st = push(out, core.outs[oid])
                alts.append((new, [], g, [f"{me} = {new}", *st], lab))
            # The attacker's forged segments, at the placements it can aim at: a move of
            # this endpoint that consumes nothing from the channel.
            for lab, new, oid in core.attack_table(side, lid) if config.attacker else ():
                g, st = push(out, core.outs[oid])
                alts.append(
                    (new, [f"inj < {config.attacker}"], g, [f"{me} = {new}", *st, "inj++"], lab)
                )
            if quiet and lid not in any_timer:
                for lab, new, oid in core.quiet_table(side, lid):
                    g, st = push(out, core.outs[oid])
                    alts.append((new, ["QUIET"], g, [f"{me} = {new}", *st], lab))
            for c in codes:
                if fifo:
                    ready, taken = f"{inc}_n > 0 && {inc}[0] == {sid[c]}", remove_at(inc, 0)
                else:
                    ready, taken = f"{inc}[{sid[c]}] > 0", [f"{inc}[{sid[c]}]--", f"{inc}_n--"]
                try:
                    lab, new, oid = core.recv(side, lid, c)
                except ModelError:
                    unplaceable.append(ready)
                    continue
                g, st = push(out, core.outs[oid])
                alts.append((new, [ready], g, [f"{me} = {new}", *taken, *st], lab))
            location(side, lid, alts, unplaceable)
        w.line("}")

    losing = loss_budget is None or loss_budget > 0
    if losing or dup_budget > 0:
        w.line("active proctype Net() {\nend: do")
        after = claim.update(model, None)
        for ch, shown in (("ab", "A->B"), ("ba", "B->A")):
            if losing:
                budget = [f"lost < {loss_budget}"] if loss_budget is not None else []
                counted = ["lost++"] if loss_budget is not None else []
                if fifo:
                    for i in range(cap):
                        # One loss per distinct remainder, as the explorer counts them.
                        held = [f"{ch}_n > {i}"] + ([f"{ch}[{i}] != {ch}[{i - 1}]"] if i else [])
                        w.alt(
                            [live, *held, *budget],
                            [
                                *claim.lose(model, ch, f"{ch}[{i}]"),
                                *remove_at(ch, i),
                                *counted,
                                *after,
                            ],
                            f"net: lose {shown} #{i}",
                            ("lose", ch, "position", i),
                        )
                else:
                    for c in codes:
                        w.alt(
                            [live, f"{ch}[{sid[c]}] > 0", *budget],
                            [
                                *claim.lose(model, ch, str(sid[c])),
                                f"{ch}[{sid[c]}]--",
                                f"{ch}_n--",
                                *counted,
                                *after,
                            ],
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
                        [live, has, f"{ch}_n < CAP", f"dups < {dup_budget}"],
                        [*put, "dups++", *after],
                        f"net: duplicate {name(c)} {shown}",
                        ("dup", ch, "code", c),
                    )
        w.line("od\n}")
    for text, move in claim.finish(model, w.needs_room):
        w.line(text)
        if move is not None:
            w.moves[w.lineno] = move
    return "\n".join(w.lines) + "\n", w.moves
