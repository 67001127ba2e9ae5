"""Message sequence charts in plain text: two lifelines, segments as arrows.

Each step of a trace is one row.  A's column is on the left, B's on the right, the
network in between: a segment leaves its sender as ``SYN ──▷`` (or ``◁── SYN+ACK``),
arrives as ``──▶ SYN`` (or ``ACK ◀──``), and a lost one ends in ``✕`` -- as does one a
full channel dropped (``✕ dropped: full``, overflow ``drop``).  Application calls
and timer expiries are written in the endpoint's column; each endpoint's new state is
shown when it changes, and the last column gives both endpoints' states after every
step.  A lasso marks where its cycle starts; a run that stops forever
says so at the end.

Examples
--------
>>> from checker.model.load import load_spec
>>> from checker.product.config import ProductConfig
>>> from checker.product.explore import explore
>>> from checker.check.traces import trace_of
>>> ex = explore(load_spec(), ProductConfig(loss="none", ordering="fifo"))
>>> print(render_text(trace_of(ex, [0])))  # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
step  A  network  B  after: A / B
   0  CLOSED  CLOSED  CLOSED / CLOSED
   1  active OPEN → SYN-SENT  SYN ───...▷  SYN-SENT / CLOSED
      final: A=SYN-SENT B=CLOSED A->B=[SYN] B->A=[-]
"""

from __future__ import annotations

from collections.abc import Sequence

from ..check.traces import Trace
from ..product.semantics import Label, PState

__all__ = ["render_text"]

_SIDE = 28
_NET = 36
_B = 32


def _net_cell(label: Label) -> str:
    """The network column for one move."""
    width = _NET
    if label.kind == "loss" and label.segment is not None:
        name = label.segment.name
        bar = "─" * max(3, width // 2 - len(name) - 3)
        if label.channel == "A->B":
            return f"{name} {bar}✕ lost"
        return f"lost ✕{bar} {name}".rjust(width)
    if label.kind == "dup" and label.segment is not None:
        return f"duplicated: {label.segment.name} ({label.channel})".center(width)
    parts: list[str] = []
    if label.received is not None:
        name = label.received.name
        forged = label.kind == "attack"
        if forged:  # from the attacker, not out of the channel: a dotted arrow
            name = f"forged {name}"
        bar = ("┄" if forged else "─") * max(3, width - len(name) - 3)
        parts.append(f"{bar}▶ {name}".rjust(width) if label.actor == "B" else f"{name} ◀{bar}")
    # What a full channel dropped is the tail of what was sent (overflow drop).
    kept = len(label.sent) - len(label.dropped)
    for k, seg in enumerate(label.sent):
        if k >= kept:
            bar = "─" * max(3, width // 2 - len(seg.name) - 3)
            parts.append(
                f"{seg.name} {bar}✕ dropped: full"
                if label.actor == "A"
                else f"full: dropped ✕{bar} {seg.name}".rjust(width)
            )
            continue
        bar = "─" * max(3, width - len(seg.name) - 3)
        parts.append(
            f"{seg.name} {bar}▷" if label.actor == "A" else f"◁{bar} {seg.name}".rjust(width)
        )
    return "\n".join(parts)


def _actor_cell(label: Label, before: PState, after: PState) -> str:
    if label.actor == "net":
        return ""
    old = before.local(label.actor).state
    new = after.local(label.actor).state
    event = label.event
    if label.kind == "timeout":
        event = f"⏱ {event}"
    return f"{event} → {new}" if new != old else event


def _banner(text: str) -> str:
    return f"      {'── ' + text + ' ──':^{_SIDE + _NET + 3}}".rstrip()


def _instant(value: float) -> str:
    return f"t={value:g}"


def render_text(trace: Trace, instants: Sequence[float] | None = None) -> str:
    """Render ``trace`` as a text message sequence chart (deterministic).

    With ``instants`` (one per step, the initial state's first, e.g. from
    :func:`checker.timed.checks.timed_run`) -- or when the trace is a timed run -- every row
    starts with its time.

    Examples
    --------
    >>> from checker import explore, load_properties, load_spec, check_property
    >>> spec = load_spec()
    >>> prop = next(p for p in load_properties(spec=spec) if p.name == "closing-reachable")
    >>> witness = check_property(prop, explore(spec, prop.product_config()), None).trace
    >>> print(render_text(witness).splitlines()[-1])
    final: A=CLOSING B=... A->B=[...] B->A=[...]
    """
    if instants is None and trace.times is not None:
        instants = [float(t) for t in trace.times]
    if instants is not None and len(instants) != len(trace.steps) + 1:
        raise ValueError("one instant per step, the initial state's first")
    clock = 12 if instants is not None else 0

    def when(index: int) -> str:
        return f"{_instant(instants[index]):<{clock}}" if instants is not None else ""

    lines = [
        f"{'time':<{clock}}" * bool(clock)
        + f"step  {'A':<{_SIDE}} {'network':<{_NET}}  {'B':<{_B}}  after: A / B"
    ]
    first = trace.initial
    both = f"{first.a.state} / {first.b.state}"
    lines.append(
        when(0) + f"{0:>4}  {first.a.state:<{_SIDE}} {'':<{_NET}}  {first.b.state:<{_B}}  {both}"
    )
    before = trace.initial
    for i, step in enumerate(trace.steps):
        if trace.loop is not None and i == trace.loop:
            lines.append(_banner("the cycle starts here and repeats forever"))
        label = step.label
        actor = _actor_cell(label, before, step.state)
        left = actor if label.actor == "A" else ""
        right = actor if label.actor == "B" else ""
        net_rows = _net_cell(label).split("\n") or [""]
        for j, net in enumerate(net_rows):
            number = f"{i + 1:>4}" if j == 0 else "    "
            lcell = left if j == 0 else ""
            rcell = right if j == 0 else ""
            after = f"{step.state.a.state} / {step.state.b.state}" if j == 0 else ""
            row = f"{number}  {lcell:<{_SIDE}} {net:<{_NET}}  {rcell:<{_B}}  {after}"
            prefix = when(i + 1) if j == 0 else " " * clock
            lines.append((prefix + row).rstrip())
        before = step.state
    if trace.loop is not None:
        lines.append(_banner(f"back to the state after step {trace.loop}"))
    if trace.stops:
        lines.append(_banner("and stays here forever: no move is owed"))
    end = trace.steps[-1].state if trace.steps else trace.initial
    lines.append(f"      {'final: ' + end.describe()}")
    return "\n".join(lines)
