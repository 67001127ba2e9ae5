"""From the raw tables to a typed, validated :class:`~checker.model.spec.Spec`.

Loading is strict, in the manner of automat: every mistake is found here, at load time,
and reported as one :class:`~checker.errors.SpecError` naming the file, the entry and
the fix -- unknown names (with a "did you mean"), missing references, guards that cannot
tell two rules apart, unreachable states.  What needs the endpoint's semantics (a
reachable state that cannot handle a segment it can receive) is checked after this, by
:func:`checker.model.load.load_spec`.

Examples
--------
>>> from checker.model.load import bundled_spec_path
>>> from checker.model.raw import read_base
>>> raw = read_base(bundled_spec_path())
>>> raw.states = [(b, s) for b, s in raw.states if b["name"] != "CLOSING"]
>>> build_spec(raw, None)
Traceback (most recent call last):
...
checker.errors.SpecError: ...: unknown state 'CLOSING'...
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ..errors import SpecError, UsageError, did_you_mean
from .expr import Expr, ExprSyntaxError, Num, parse
from .guards import GuardSyntaxError, parse_guard
from .raw import RawSpec, Src, check_keys, name_of, opt_bool, opt_str, req_str, str_list
from .segments import ACCEPTANCE_CHOICES, LEVELS, SEGMENT_EVENTS, SEND_TOKENS, Acceptance
from .spec import (
    CHOICE_KINDS,
    USER_EVENTS,
    Choice,
    Event,
    Parameter,
    Spec,
    State,
    Timer,
    Transition,
    Variant,
)

__all__ = ["build_spec"]

#: How a timer may fire in the untimed graph.
_UNTIMED = ("any", "quiescent")


def _evaluate_parameters(raw: RawSpec) -> dict[str, tuple[Expr, str, float, dict[str, Any], Src]]:
    """Each parameter's expression, its text and its value (a parameter may be defined
    from others, in any order; a cycle or an unknown name is an error)."""
    exprs: dict[str, tuple[Expr, str, dict[str, Any], Src]] = {}
    for name, (body, src) in raw.parameters.items():
        check_keys(src, body, "parameter")
        if not name.isidentifier():
            raise src.error(f"parameter name '{name}' is not an identifier")
        if "value" not in body:
            raise src.error("missing 'value'")
        value = body["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise src.error("'value' must be a number or an arithmetic expression in a string")
        text = str(value)
        if isinstance(value, (int, float)):
            if value != value:  # NaN
                raise src.error("'value' is not a number")
            try:
                expr: Expr = Num(float(value))  # also inf: R2 may be infinite (MUST-21)
            except OverflowError:
                raise src.error(
                    f"'value' has {len(str(value))} digits: too large for a number"
                ) from None
        else:
            try:
                expr = parse(text)
            except ExprSyntaxError as exc:
                raise src.error(f"cannot read value {text!r}: {exc}") from None
        exprs[name] = (expr, text, body, src)

    values: dict[str, float] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> float:
        if name in values:
            return values[name]
        expr, _text, _body, src = exprs[name]
        for dep in sorted(expr.names()):
            if dep not in exprs:
                raise src.error(
                    f"value refers to unknown parameter '{dep}'", did_you_mean(dep, exprs)
                )
            if dep in chain:
                cycle = (*chain[chain.index(dep) :], dep)
                # The cycle is the mistake of whoever closed it: an overlay's entry
                # rather than the base's, which was fine on its own.
                srcs = [exprs[m][3] for m in cycle[:-1]]
                blamed = next((s for s in srcs if s.file != raw.files[0]), src)
                shown = " -> ".join(f"{m} ({exprs[m][3].file})" for m in cycle[:-1])
                raise blamed.error(f"parameters refer to each other in a cycle: {shown} -> {dep}")
        env = {dep: resolve(dep, (*chain, dep)) for dep in expr.names()}
        problem = None
        try:
            values[name] = expr.evaluate(env)
        except ZeroDivisionError:
            problem = "value divides by zero"
        except OverflowError:
            problem = "value overflows (too large for a number)"
        except ValueError as exc:  # a function outside its domain, e.g. log2(0)
            problem = f"value: {exc}"
        if problem is not None:
            origin = {n: (e[0], e[3]) for n, e in exprs.items()}
            raise _value_error(
                src, problem, sorted(expr.names()), origin, about=f"parameter {name}: "
            )
        return values[name]

    return {
        name: (
            exprs[name][0],
            exprs[name][1],
            resolve(name, (name,)),
            exprs[name][2],
            exprs[name][3],
        )
        for name in exprs
    }


#: The largest finite retry count.  Linux keeps each in a byte (``tcp_syn_retries`` is
#: at most 127, ``tcp_retries2``, ``tcp_orphan_retries`` and ``tcp_synack_retries`` at most
#: 255), and the model unrolls every retry into states of its own: a larger count means
#: no TCP and only makes loading (the closure proof) run without end.
MAX_COUNT = 255


_SYSCTL = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")


def _sysctl(src: Src, body: dict[str, Any]) -> str:
    """A parameter's ``sysctl``: the kernel setting it is (``net.ipv4.tcp_fin_timeout``)."""
    name = body.get("sysctl", "")
    if not isinstance(name, str) or (name and not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", name)):
        raise src.error(
            f"'sysctl' must name a kernel setting such as net.ipv4.tcp_fin_timeout (got {name!r})"
        )
    return name


def value_problem(name: str, unit: object, value: float) -> str | None:
    """Why ``value`` cannot be parameter ``name``'s (a count: a whole number from 0 to
    :data:`MAX_COUNT`, or ``inf``; a duration: above 0 seconds; never ``nan``), or None.

    >>> value_problem("FIN_RETRIES", "count", 1e9)
    'parameter FIN_RETRIES = 1e+09: a retry count is at most 255 (or inf for no limit)...'
    >>> value_problem("RTO", "s", 0)
    'parameter RTO is a duration: above 0 seconds (got 0)'
    """
    if math.isnan(value):
        return f"parameter {name}: nan is not a value"
    if unit == "count":
        if not (value == math.inf or (value >= 0 and value == int(value))):
            return (
                f"parameter {name} counts retransmissions: a whole number of at least 0 or "
                f"inf (got {value:g})"
            )
        if MAX_COUNT < value < math.inf:
            return (
                f"parameter {name} = {value:g}: a retry count is at most {MAX_COUNT} (or inf "
                "for no limit); Linux keeps each in a byte, and the model unrolls every "
                "retry into states"
            )
    if unit == "s" and not value > 0:
        return f"parameter {name} is a duration: above 0 seconds (got {value:g})"
    return None


def _value_error(
    src: Src,
    problem: str,
    names: list[str],
    origin: Mapping[str, tuple[Expr, Src]],
    about: str = "",
) -> SpecError | UsageError:
    """The error of a parameter value that ``names`` make wrong: the file's entry, unless
    some of those names are (or derive from) values given with ``--param`` -- a formula
    the file derives soundly from its own values is not the file's mistake then.
    ``about`` opens the message when it does not name the parameter itself."""
    found: set[str] = set()
    seen: set[str] = set()
    todo = list(names)
    while todo:
        n = todo.pop()
        if n in seen or n not in origin:
            continue
        seen.add(n)
        expr, where = origin[n]
        if where.file == "--param":
            found.add(n)
        else:
            todo.extend(expr.names())
    if not found:
        return src.error(problem)
    given_as = ", ".join(f"--param {n}" for n in sorted(found))
    return UsageError(f"{given_as}: {about}{problem}; give values consistent with it")


def build_spec(raw: RawSpec, variant: Variant | None) -> Spec:
    """Type and validate the (merged) tables: every name known, every reference
    resolved, the rules for one state and event told apart by their guards, every user
    event the spec calls total defined everywhere, every state reachable."""
    psrc = raw.protocol_src
    name = req_str(psrc, raw.protocol, "name")
    title = req_str(psrc, raw.protocol, "title")
    reference = req_str(psrc, raw.protocol, "reference")
    initial = req_str(psrc, raw.protocol, "initial")

    # Parameters.
    params = _evaluate_parameters(raw)
    parameters = tuple(
        Parameter(
            name=n,
            expr=expr,
            text=text,
            value=value,
            unit=str(body.get("unit", "")),
            description=req_str(src, body, "description"),
            ref=req_str(src, body, "ref"),
            sysctl=_sysctl(src, body),
        )
        for n, (expr, text, value, body, src) in params.items()
    )
    # The values written as numbers first: an overlay's MSL = 0 is the overlay's mistake,
    # not that of the base's TIME_WAIT = 2 * MSL, which it makes 0 too.
    given = sorted(
        zip(params.values(), parameters, strict=True), key=lambda pair: bool(pair[0][0].names())
    )
    for (expr, _t, _v, _body, src), param in given:
        problem = value_problem(param.name, param.unit, param.value)
        if problem is not None:
            derived = sorted(expr.names())
            problem += f" (from {', '.join(derived)})" if derived else ""
            inputs = {n: (p[0], p[4]) for n, p in params.items()}
            raise _value_error(src, problem, derived, inputs)
    values = {p.name: p.value for p in parameters}

    # States.
    states: list[State] = []
    for body, src in raw.states:
        check_keys(src, body, "state")
        sname = req_str(src, body, "name")
        src.entry = f"{src.entry} {sname}"
        if any(s.name == sname for s in states):
            raise src.error(f"state '{sname}' is defined twice")
        levels: list[int] = []
        for key in ("sent", "received"):
            level = req_str(src, body, key)
            if level not in LEVELS:
                raise src.error(f"'{key}' must be one of none, SYN, FIN (got {level!r})")
            levels.append(LEVELS[level])
        states.append(State(sname, req_str(src, body, "description"), levels[0], levels[1]))
    state_names = [s.name for s in states]
    if not states:
        raise psrc.error("the spec declares no [[states]]")
    name_of(Src(psrc.file, "protocol.initial"), initial, state_names, "initial state")

    # Timers.
    timers: list[Timer] = []
    for tname, (body, src) in raw.timers.items():
        check_keys(src, body, "timer")
        event = req_str(src, body, "event")
        if event != f"timeout {tname}":
            raise src.error(f"a timer's event must be 'timeout {tname}' (got {event!r})")
        untimed = req_str(src, body, "untimed")
        if untimed not in _UNTIMED:
            raise src.error(
                f"'untimed' must be one of {', '.join(_UNTIMED)} (got {untimed!r})",
                did_you_mean(untimed, _UNTIMED),
            )
        tstates = [name_of(src, s, state_names, "state") for s in str_list(src, body, "states")]
        dtext = req_str(src, body, "duration")
        duration = _duration_expr(src, dtext, values)
        by_state = []
        table = body.get("durations", {})
        if not isinstance(table, dict):
            raise src.error("'durations' must be a table: state name = duration")
        for sname, text in sorted(table.items()):
            if sname not in tstates:
                raise src.error(
                    f"'durations' names state '{sname}', where the timer does not run",
                    did_you_mean(sname, tstates),
                )
            if not isinstance(text, str):
                raise src.error(f"the duration in {sname} must be a string")
            by_state.append((sname, _duration_expr(src, text, values), text))
        timers.append(
            Timer(
                tname,
                event,
                req_str(src, body, "description"),
                tuple(tstates),
                duration,
                dtext,
                untimed,
                req_str(src, body, "ref"),
                tuple(by_state),
            )
        )

    # Events: the spec's user events, the fixed segment events, the timers' events.
    events: list[Event] = []
    for body, src in raw.events:
        check_keys(src, body, "event")
        ename = req_str(src, body, "name")
        kind = req_str(src, body, "kind")
        if kind != "user":
            raise src.error(
                f'only user events are declared here (kind = "user"); got {kind!r}',
                "segment events are fixed by the segment abstraction; "
                "timeout events come from [[timers]]",
            )
        name_of(src, ename, USER_EVENTS, "user event")
        events.append(
            Event(ename, "user", req_str(src, body, "description"), opt_bool(src, body, "total"))
        )
    events += [Event(n, "segment", d) for n, d in SEGMENT_EVENTS.items()]
    events += [Event(t.event, "timeout", t.description) for t in timers]
    event_kind = {e.name: e.kind for e in events}

    # Transitions.
    transitions: list[Transition] = []
    for body, src, origin in raw.transitions:
        check_keys(src, body, "transition")
        sources = str_list(src, body, "from")
        evs = str_list(src, body, "event")
        target_name = req_str(src, body, "to")
        ref = req_str(src, body, "ref")
        sends = str_list(src, body, "send", required=False)
        for token in sends:
            name_of(src, token, SEND_TOKENS, "segment in 'send'")
        try:
            guard = parse_guard(opt_str(src, body, "guard"))
        except GuardSyntaxError as exc:
            raise src.error(str(exc)) from None
        for p in sorted(guard.parameters()):
            if p not in values:
                raise src.error(f"guard refers to unknown parameter '{p}'", did_you_mean(p, values))
        figure5 = body.get("figure5")
        if figure5 is not None and (isinstance(figure5, bool) or not isinstance(figure5, int)):
            raise src.error("'figure5' must be the arrow's number")
        for s in sources:
            name_of(src, s, state_names, "state")
            target = s if target_name == "same" else name_of(src, target_name, state_names, "state")
            if opt_bool(src, body, "keep_timer") and not any(
                s in t.states and target in t.states and s != target for t in timers
            ):
                raise src.error(
                    f"'keep_timer' needs a timer running in both {s} and {target}",
                    "drop keep_timer: the timer stops or restarts anyway",
                )
            for e in evs:
                name_of(src, e, event_kind, "event")
                kind = event_kind[e]
                if kind == "timeout":
                    timer = next(t for t in timers if t.event == e)
                    if s not in timer.states:
                        raise src.error(
                            f"'{e}' in state {s}, but timer {timer.name} does not run there",
                            f"add {s} to the timer's states",
                        )
                transitions.append(
                    Transition(
                        index=len(transitions),
                        source=s,
                        event=e,
                        kind=kind,
                        target=target,
                        send=tuple(sends),
                        guard=guard,
                        retransmit=opt_bool(src, body, "retransmit"),
                        restart=opt_bool(src, body, "restart"),
                        error=opt_str(src, body, "error"),
                        ref=ref,
                        note=opt_str(src, body, "note"),
                        figure5=figure5,
                        file=src.file,
                        entry=src.entry,
                        keeps_timer=opt_bool(src, body, "keep_timer"),
                        variant=origin,
                    )
                )

    by_pair: dict[tuple[str, str], list[Transition]] = {}
    for t in transitions:
        by_pair.setdefault((t.source, t.event), []).append(t)
    for (s, e), group in by_pair.items():
        if len(group) > 1:
            for t in group:
                if not t.guard:
                    other = next(o for o in group if o is not t)
                    raise SpecError(
                        t.file,
                        t.entry,
                        f"two rules for '{e}' in {s} ({t.entry} and {other.entry} of {other.file}) "
                        "and this one has no guard to tell them apart",
                        "add complementary guards, or delete one rule",
                    )
            seen: dict[str, Transition] = {}
            for t in group:
                key = str(t.guard)
                if key in seen:
                    raise SpecError(
                        t.file,
                        t.entry,
                        f"duplicate rule for '{e}' [{key}] in {s} (also {seen[key].entry})",
                    )
                seen[key] = t

    # Total user events (CLOSE, ABORT) are defined in every state.
    for ev in events:
        if ev.total:
            for s in state_names:
                if (s, ev.name) not in by_pair:
                    raise SpecError(
                        raw.files[0],
                        "transitions",
                        f"no rule for '{ev.name}' in state {s}",
                        f"RFC 9293 §3.10 defines {ev.name} in every state: "
                        f"add a transition from {s}",
                    )

    # Every state is reachable from the initial one (guards ignored).
    reach = {initial}
    frontier = [initial]
    while frontier:
        s = frontier.pop()
        for t in transitions:
            if t.source == s and t.target not in reach:
                reach.add(t.target)
                frontier.append(t.target)
    for body, src in raw.states:
        if body["name"] not in reach:
            raise src.error(
                f"state {body['name']} is unreachable from {initial}",
                "add a transition into it or remove the state",
            )

    return Spec(
        name=name,
        title=title,
        reference=reference,
        initial=initial,
        parameters=parameters,
        states=tuple(states),
        events=tuple(events),
        timers=tuple(timers),
        transitions=tuple(transitions),
        variant=variant,
        files=tuple(raw.files),
        choices=_choices(raw),
        acceptance=_acceptance(raw),
    )


def _acceptance(raw: RawSpec) -> Acceptance:
    """The ``[acceptance]`` keys, each one of its :data:`ACCEPTANCE_CHOICES`."""
    given: dict[str, str] = {}
    for key, (value, src) in raw.acceptance.items():
        allowed = ACCEPTANCE_CHOICES[key]
        if value not in allowed:
            raise src.error(
                f"{key} = {value!r} is not one of {', '.join(allowed)}",
                did_you_mean(str(value), list(allowed)) or f"use {allowed[0]!r} or {allowed[1]!r}",
            )
        given[key] = value
    return Acceptance(**given)


def _choices(raw: RawSpec) -> tuple[Choice, ...]:
    """The ``[[choices]]``, each with every field, its kind one of :data:`CHOICE_KINDS`."""
    out = []
    for topic, (body, src) in raw.choices.items():
        kind = req_str(src, body, "kind")
        if kind not in CHOICE_KINDS:
            raise src.error(
                f"unknown kind '{kind}'",
                did_you_mean(kind, list(CHOICE_KINDS)) or "kinds: " + ", ".join(CHOICE_KINDS),
            )
        out.append(
            Choice(
                topic,
                kind,
                req_str(src, body, "decision"),
                req_str(src, body, "why"),
                req_str(src, body, "ref"),
                src.file,
            )
        )
    return tuple(out)


def _duration_expr(src: Src, text: str, values: Mapping[str, float]) -> Expr:
    try:
        duration = parse(text)
    except ExprSyntaxError as exc:
        raise src.error(f"cannot read duration {text!r}: {exc}") from None
    for dep in sorted(duration.names() - {"retries"}):
        if dep not in values:
            raise src.error(
                f"duration refers to unknown parameter '{dep}'", did_you_mean(dep, values)
            )
    return duration
