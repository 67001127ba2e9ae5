"""Properties as data (``spec/properties.toml``): what a suite states and how it is read.

A property has a name, a kind, a formula over product states (:mod:`checker.check.formula`),
the configuration it is checked under, the fairness it assumes, a reference, and its
expected verdict per variant (an :class:`~checker.check.outcome.Outcome`).  The untimed
kinds (:data:`KINDS`) are decided on the explored product (:mod:`checker.check.untimed`);
the timed kinds (``timed-exit``, ``timed-never``, ``timed-invariant``) on the zone graph in
real time (:mod:`checker.timed.checks`).

:func:`load_properties` validates a suite as it reads it: every key, kind, formula, path
and move pattern, against the spec's state and event names when a spec is given.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SpecError, UsageError, did_you_mean, read_text
from ..model.layers import catalog
from ..model.load import bundled_spec_dir, bundled_spec_path
from ..model.raw import file_name_problem, parse_toml
from ..model.spec import Spec
from ..product.config import ProductConfig
from .formula import Formula, FormulaError, parse_formula
from .outcome import Outcome
from .paths import parse_path
from .patterns import PEERS, TIMED_KINDS, parse_move_pattern, parse_within
from .schema import suite_problem

__all__ = [
    "EXISTENTIAL",
    "FAIRNESS",
    "KINDS",
    "PROBABILITY",
    "Property",
    "bound_of",
    "bundled_properties_path",
    "load_properties",
    "premise_and_goal",
]

#: The untimed kinds (the timed ones are :data:`checker.check.patterns.TIMED_KINDS`).
KINDS = ("invariant", "reachable", "path", "deadlock-free", "eventually", "leads-to")
#: The kind decided on the product read as a Markov decision process (:mod:`checker.prob`).
PROBABILITY = "probability"
#: Fairness assumptions, by name, with what each means.
FAIRNESS = {
    "fair-lossy": "fair-lossy channels: a segment sent infinitely often is delivered infinitely "
    "often (whether the network loses its copies or a full channel drops them), and none "
    "stays in flight forever",
    "fair-apps": "fair applications: an application that can make its next call eventually does",
    "timers": "weak fairness of timers: a timer that stays enabled eventually fires",
}
#: The kinds that claim a run exists -- or, with ``exists = false``, that none does.
EXISTENTIAL = ("reachable", "path")
_LOSE_HINT = 'e.g. lose = "A enters TIME-WAIT"'


@dataclass(frozen=True)
class Property:
    """One property of a suite (an entry of ``spec/properties.toml``).

    Examples
    --------
    >>> prop = next(p for p in load_properties() if p.name == "fin-wait-2-leads-to-closed")
    >>> prop.kind, prop.formula, prop.fairness
    ('leads-to', 'A = FIN-WAIT-2 ~> A = CLOSED', ('fair-lossy', 'fair-apps', 'timers'))
    >>> prop.expected_for("base", ()), prop.expected_for("linux", ())
    (<Outcome.VIOLATED: 'violated'>, <Outcome.HOLDS: 'holds'>)
    """

    name: str
    kind: str
    formula: str
    final: str | None
    description: str
    ref: str
    fairness: tuple[str, ...]
    config: Mapping[str, Any]
    params: Mapping[str, float]
    expected: Mapping[str, Outcome]
    file: str
    entry: str
    #: Timed kinds: where the analysis starts (a formula) and what the network may lose.
    start: str | None = None
    lose: str | None = None
    #: Timed kinds: an endpoint whose connection ended in CLOSED may open a new
    #: incarnation on the same ports (old duplicates).
    reuse: bool = False
    #: Timed kinds: the synthesis the generated report shows -- ``variant`` (default
    #: the base spec), ``params`` fixed beyond the property's own, ``free`` durations.
    synth: Mapping[str, Any] | None = None
    #: ``reachable`` and ``path``: the claim is that some run does this (``True``) or
    #: that no run does (``False``); ``None`` for the other kinds.
    exists: bool | None = None
    #: ``probability``: the loss rates (each as ``--loss-rate`` reads one) and the bound
    #: (``<= 1e-6`` or ``>= 0.99``) the probability keeps at every one of them.
    loss_rates: tuple[str, ...] = ()
    bound: str | None = None
    #: ``probability`` in integer time (``tcpcheck prob --delay``): the delays in flight
    #: (``0.01``, ``uniform:4``, ``0.1=1/2,0.2=1/2``) and the horizon in seconds.
    delay: str | None = None
    within: float | None = None
    #: ``timed-within``: is the peer ``gone`` (every stay from every entry, nothing
    #: arrives) or ``live`` (the whole product from ``start``), as ``tcpcheck bound``.
    peer: str = "gone"

    @property
    def timed(self) -> bool:
        return self.kind.startswith("timed-")

    def expected_for(self, variant: str | None, lineage: Sequence[str] = ()) -> Outcome | None:
        """The expected verdict on ``variant`` (``None``: the base spec): its own, else
        that of the nearest variant in ``lineage`` (what it is laid on, the nearest
        first) the suite names, else ``default``.  ``base`` is the base spec's alone: an
        overlay does not inherit it.

        >>> p = next(p for p in load_properties() if p.name == "fin-wait-2-leads-to-closed")
        >>> p.expected_for("linux"), p.expected_for("mine"), p.expected_for("mine", ["linux"])
        (<Outcome.HOLDS: 'holds'>, <Outcome.VIOLATED: 'violated'>, <Outcome.HOLDS: 'holds'>)
        """
        for key in (variant or "base", *lineage):
            if key in self.expected:
                return self.expected[key]
        return self.expected.get("default")

    def inheriting(self, variant: str, lineage: Sequence[str]) -> Property:
        """This property with the expectation :meth:`expected_for` finds for ``variant``
        through ``lineage`` written under ``variant``'s own name (so every verdict on it
        reads the same expectation)."""
        got = self.expected_for(variant, lineage)
        if got is None or variant in self.expected:
            return self
        return dataclasses.replace(self, expected={**self.expected, variant: got})

    def variants(self) -> list[str | None]:
        """The variants this property has an expectation for (``None``: the base)."""
        names = [k for k in self.expected if k not in ("base", "default")]
        out: list[str | None] = []
        if "base" in self.expected or "default" in self.expected:
            out.append(None)
        out += sorted(names)
        return out

    def claim(self) -> str:
        """The claim in words -- what ``holds`` says is true -- with the configuration it
        is checked under.

        >>> by = {p.name: p for p in load_properties()}
        >>> by["closing-reachable"].claim()
        'some run reaches a state where A = CLOSING or B = CLOSING (with b_close = first)'
        >>> by["only-the-first-closer-enters-time-wait"].claim()
        'no run takes B through *, CLOSE-WAIT, *, TIME-WAIT, * (with a_close = any, b_close = any)'
        """
        text = self._claim()
        if self.config:
            text += " (with " + ", ".join(f"{k} = {v}" for k, v in self.config.items()) + ")"
        return text

    def _claim(self) -> str:
        some = "some run" if self.exists is not False else "no run"
        if self.kind == PROBABILITY:
            assert self.bound is not None
            rates = ", ".join(self.loss_rates)
            if self.delay is not None:
                by = f" within {self.within:g} s" if self.within is not None else ""
                return (
                    f"under every scheduler, P({self.formula}{by}) {self.bound} at loss rate "
                    f"{rates} (digital clocks: delay {self.delay}, applications at once)"
                )
            return (
                f"under every scheduler, P({self.formula}) {self.bound} at loss rate {rates} "
                "(timers waiting for the network)"
            )
        if self.kind == "reachable":
            return f"{some} reaches a state where {self.formula}"
        if self.kind == "path":
            side, _, states = self.formula.partition(":")
            return f"{some} takes {side.strip()} through {states.strip()}"
        if self.kind == "invariant":
            return f"every reachable state satisfies {self.formula}"
        if self.kind == "deadlock-free":
            return f"every run that stops, stops where {self.final}"
        if self.kind == "eventually":
            return f"every run eventually reaches {self.formula}"
        if self.kind == "leads-to":
            p, _, q = self.formula.partition("~>")
            return f"every run that reaches {p.strip()} reaches {q.strip()} afterwards"
        if self.kind == "timed-exit":
            return f"in real time, {self.formula}"
        if self.kind == "timed-never":
            return f"in real time, never: {self.formula}"
        if self.kind == "timed-within":
            whom = "the peer live" if self.peer == "live" else "the peer gone"
            return f"in real time, with {whom}, {self.formula}"
        return f"in real time, always {self.formula}"

    def product_config(self, base: ProductConfig | None = None) -> ProductConfig:
        """The product configuration: ``base`` (or the default) with this property's overrides."""
        return ProductConfig.from_options(self.config, base)


def bundled_properties_path() -> Path:
    return bundled_spec_dir() / "properties.toml"


def load_properties(
    path: str | Path | None = None,
    spec: Spec | None = None,
    variants: Collection[str] | None = None,
) -> list[Property]:
    """Load and validate a property suite; formulas are checked against ``spec``'s states,
    the variants its expectations and syntheses name against ``variants`` (by default the
    bundled spec's, and ``spec``'s own with what it builds on).

    Examples
    --------
    >>> from checker import load_spec
    >>> suite = load_properties(spec=load_spec())
    >>> [p.name for p in suite][:3]
    ['textbook-client-path', 'textbook-server-path', 'fin-wait-1-straight-to-time-wait']
    >>> sorted({p.kind for p in suite})
    ['deadlock-free', 'eventually', 'invariant', 'leads-to', 'path', 'probability',
     'reachable', 'timed-exit', 'timed-never', 'timed-within']
    """
    file = Path(path) if path is not None else bundled_properties_path()
    shown = str(file)
    text = read_text(file, shown, "--properties")
    doc = parse_toml(text, shown)
    names = spec.state_names if spec is not None else None
    known = _known_variants(spec, variants)
    # The types first, by the schema: every later check reads well-typed values.
    typed = suite_problem(doc)
    if typed is not None:
        raise SpecError(shown, *typed)
    raw: list[dict[str, Any]] = doc["properties"]
    out: list[Property] = []
    seen: set[str] = set()
    for i, body in enumerate(raw):
        entry = f"properties[{i}]"
        name = body.get("name")
        if isinstance(name, str):
            entry = f"properties[{i}] {name}"

        def err(problem: str, hint: str | None = None, entry: str = entry) -> SpecError:
            return SpecError(shown, entry, problem, hint)

        for key in ("name", "kind", "description", "ref"):
            if not body[key].strip():
                raise err(f"'{key}' is empty (give a non-empty string)")
        problem = file_name_problem("property", str(name))
        if problem is not None:
            raise err(problem, 'e.g. name = "last-ack-not-stuck"')
        if name in seen:
            raise err(f"property '{name}' is defined twice")
        seen.add(str(name))
        kind = body["kind"]
        all_kinds = (*KINDS, *TIMED_KINDS, PROBABILITY)
        if kind not in all_kinds:
            raise err(
                f"unknown kind '{kind}'",
                did_you_mean(kind, all_kinds) or "kinds: " + ", ".join(all_kinds),
            )
        timed = kind in TIMED_KINDS
        for key in ("start", "lose"):
            if key in body and not timed:
                raise err(
                    f"'{key}' belongs only in a timed property (kinds {', '.join(TIMED_KINDS)})"
                )
        if "reuse" in body and not timed:
            raise err(f"'reuse' belongs only in a timed property (kinds {', '.join(TIMED_KINDS)})")
        if "peer" in body and kind != "timed-within":
            raise err("'peer' belongs only in a timed-within property")
        if "synth" in body and not timed:
            raise err(f"'synth' belongs only in a timed property (kinds {', '.join(TIMED_KINDS)})")
        synth_variant = (body.get("synth") or {}).get("variant")
        if synth_variant is not None and synth_variant not in known:
            raise err(
                f"synth: unknown variant '{synth_variant}'",
                did_you_mean(synth_variant, sorted(known))
                or "variants: " + ", ".join(sorted(known)),
            )
        exists: bool | None = None
        if kind in EXISTENTIAL:
            # Unstated, a reachability or path claim is existential ("some run ...").
            exists = body.get("exists", True)
        elif "exists" in body:
            raise err(
                f"'exists' belongs only in a claim that a run exists (kinds "
                f"{', '.join(EXISTENTIAL)}); a {kind} claim is about every run",
            )
        if "start" in body:
            _check_formula(err, body["start"], names, leads_to=False, key="start")
        if "lose" in body:
            try:
                lose = parse_move_pattern(body["lose"], names)
            except ValueError as exc:
                raise err(f"lose: {exc}", 'e.g. lose = "A enters TIME-WAIT"') from None
            if lose.events is not None or lose.verb == "accepts":
                raise err("lose: name the moves that send, like 'A enters TIME-WAIT'", _LOSE_HINT)
        for key in ("loss_rate", "bound", "delay", "within"):
            if key in body and kind != PROBABILITY:
                raise err(f"'{key}' belongs only in a {PROBABILITY} property")
        formula = body.get("formula", "true" if kind == "deadlock-free" else None)
        if not isinstance(formula, str):
            raise err("missing 'formula'")
        final = body.get("final")
        if kind == "deadlock-free" and not isinstance(final, str):
            raise err("a deadlock-free property needs 'final': the states allowed to stop")
        if kind == "path":
            try:
                parse_path(formula, names)
            except FormulaError as exc:
                raise err(f"formula: {exc}") from None
        elif kind == "timed-exit":
            events = [e.name for e in spec.events] if spec is not None else None
            try:
                pattern = parse_move_pattern(formula, names, events)
            except ValueError as exc:
                raise err(f"formula: {exc}") from None
            if pattern.verb != "leaves" or pattern.events is None:
                raise err(
                    "formula: a timed-exit property is 'SIDE leaves STATE only by EVENT, ...'"
                )
        elif kind == "timed-within":
            params = [q.name for q in spec.parameters] if spec is not None else None
            try:
                parse_within(formula, names, params)
            except ValueError as exc:
                raise err(f"formula: {exc}", "e.g. B leaves LAST-ACK within 127 * RTO") from None
            if body.get("peer", "gone") not in PEERS:
                raise err(f"peer: {body['peer']!r} is not one of {', '.join(PEERS)}")
            if "start" in body and body.get("peer") != "live":
                raise err(
                    "start: a gone peer's stays start at every entry into the state",
                    'add peer = "live" to measure from start in the whole product',
                )
            if "lose" in body or "reuse" in body or "synth" in body:
                raise err(
                    "lose, reuse and synth do not apply to a timed-within claim (its "
                    "synthesis is the formula of `tcpcheck bound STATE --free ...`)"
                )
        elif kind == PROBABILITY:
            _check_probability(err, body, names, [e.name for e in spec.events] if spec else None)
        elif kind == "timed-never":
            try:
                pattern = parse_move_pattern(formula, names)
            except ValueError as exc:
                raise err(f"formula: {exc}") from None
            if pattern.events is not None:
                raise err(
                    "formula: a timed-never property names moves that must not happen, "
                    "without 'only by' (e.g. 'A accepts an old segment')"
                )
            if pattern.verb == "accepts" and body.get("reuse") is not True:
                raise err(
                    "formula: old segments exist only when connections are reused",
                    "add reuse = true",
                )
        else:
            _check_formula(err, formula, names, leads_to=kind == "leads-to")
        if final is not None:
            _check_formula(err, final, names, leads_to=False, key="final")
        fairness = body.get(
            "fairness", list(FAIRNESS) if kind in ("eventually", "leads-to") else []
        )
        for f in fairness:
            if f not in FAIRNESS:
                raise err(
                    f"fairness: unknown assumption '{f}'",
                    did_you_mean(f, list(FAIRNESS)) or "assumptions: " + ", ".join(FAIRNESS),
                )
        config = body.get("config", {})
        params = body.get("params", {})
        expected = body.get("expected", {})
        if not expected:
            raise err("missing 'expected': the verdict per variant, e.g. { base = \"holds\" }")
        for key, value in expected.items():
            if key not in known:
                raise err(
                    f"expected: unknown variant '{key}'",
                    did_you_mean(key, sorted(known)) or "variants: " + ", ".join(sorted(known)),
                )
            if value not in tuple(Outcome):
                raise err(
                    f"expected.{key} must be one of {', '.join(Outcome)} (got {value!r})",
                    did_you_mean(value, list(Outcome)),
                )
        prop = Property(
            name=str(name),
            kind=kind,
            formula=formula,
            final=final,
            description=body["description"],
            ref=body["ref"],
            fairness=tuple(fairness),
            config=config,
            params={k: float(v) for k, v in params.items()},
            expected={key: Outcome(value) for key, value in expected.items()},
            file=shown,
            entry=entry,
            start=body.get("start"),
            lose=body.get("lose"),
            reuse=bool(body.get("reuse", False)),
            synth=body.get("synth"),
            exists=exists,
            peer=body.get("peer", "gone"),
            loss_rates=tuple(_rate_text(r) for r in _as_list(body.get("loss_rate", []))),
            bound=_bound_text(body["bound"]) if "bound" in body else None,
            delay=str(body["delay"]) if "delay" in body else None,
            within=float(body["within"]) if "within" in body else None,
        )
        try:
            prop.product_config()
        except UsageError as exc:
            raise err(f"config: {exc}") from None
        out.append(prop)
    return out


_BOUND = re.compile(r"^\s*(<=|>=)\s*(\S+)\s*$")


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _rate_text(value: float | str) -> str:
    """A loss rate as written (a TOML number by its shortest repr: 0.01, not 1/100)."""
    return value if isinstance(value, str) else repr(float(value))


def _bound_text(text: str) -> str:
    m = _BOUND.match(text)
    assert m is not None
    return f"{m[1]} {m[2]}"


def bound_of(prop: Property) -> tuple[str, float]:
    """A probability property's bound: the comparison and the number.

    >>> p = next(p for p in load_properties() if p.kind == PROBABILITY)
    >>> bound_of(p)
    ('<=', 1e-06)
    """
    assert prop.bound is not None
    op, _, number = prop.bound.partition(" ")
    return op, float(number)


def _check_probability(
    err: Any, body: Mapping[str, Any], names: Iterable[str] | None, events: list[str] | None
) -> None:
    """A probability property: a move pattern with one outcome or a state formula, loss
    rates, and a bound."""
    formula = body.get("formula")
    if not isinstance(formula, str):
        raise err("missing 'formula'", 'e.g. formula = "B leaves LAST-ACK by timeout"')
    if re.match(r"^\s*[AB]\s+(leaves|enters)\s", formula):
        head, by, tail = formula.partition(" by ")
        try:
            pattern = parse_move_pattern(head, names, events)
        except ValueError as exc:
            raise err(f"formula: {exc}") from None
        if pattern.verb == "leaves" and not by:
            raise err(
                "formula: name the way out, e.g. 'B leaves LAST-ACK by timeout' (tcpcheck "
                "prob 'B leaves LAST-ACK' shows them all)"
            )
        for ev in (e.strip() for e in tail.split(",")) if by else ():
            if events is not None and ev != "timeout" and ev not in events:
                hint = did_you_mean(ev, events)
                raise err(f"formula: unknown event '{ev}'" + (f" ({hint})" if hint else ""))
    else:
        _check_formula(err, formula, names, leads_to=False)
    rates = _as_list(body.get("loss_rate", []))
    if not rates:
        raise err("missing 'loss_rate': the loss rates, e.g. loss_rate = [0.01, 0.05]")
    for r in rates:
        if isinstance(r, (int, float)) and not 0 <= r <= 1:
            raise err(f"loss_rate: {r} is not a probability (between 0 and 1)")
    bound = body.get("bound")
    m = _BOUND.match(bound) if isinstance(bound, str) else None
    if m is None:
        raise err("missing or unreadable 'bound'", 'e.g. bound = "<= 1e-6" or ">= 0.99"')
    try:
        value = float(m[2])
    except ValueError:
        raise err(f"bound: {m[2]!r} is not a number", 'e.g. bound = "<= 1e-6"') from None
    if not 0 <= value <= 1:
        raise err(f"bound: {m[2]} is not a probability (between 0 and 1)")
    if "within" in body and "delay" not in body:
        raise err(
            "'within' reads time: give 'delay' too",
            "e.g. delay = 0.01 (seconds each segment spends in flight), within = 7.5",
        )


def _check_formula(
    err: Any, text: str, names: Iterable[str] | None, *, leads_to: bool, key: str = "formula"
) -> None:
    parts = text.split("~>")
    if leads_to and len(parts) != 2:
        raise err(f"a leads-to {key} is written 'P ~> Q'")
    if not leads_to and len(parts) != 1:
        raise err(f"'~>' belongs only in a leads-to {key}")
    offset = 0
    for part in parts:
        try:
            parse_formula(part, names)
        except FormulaError as exc:
            raise err(
                f"{key}: column {exc.column + offset}: {str(exc).split(': ', 1)[1]}",
            ) from None
        offset += len(part) + 2


def premise_and_goal(prop: Property) -> tuple[Formula, Formula]:
    """``(p, q)`` of a property read as ``p ~> q``: its two sides for ``leads-to``,
    ``true`` and the formula otherwise (``eventually``; invariant and reachable use q).

    >>> [str(f) for f in premise_and_goal(load_properties()[9])]
    ['A = FIN-WAIT-2', 'A = CLOSED']
    """
    # Names were checked against the base spec at load time; a variant may lack a state
    # (no-time-wait has no TIME-WAIT), which then simply never holds.
    if prop.kind == "leads-to":
        p, q = prop.formula.split("~>")
        return parse_formula(p), parse_formula(q)
    return parse_formula("true"), parse_formula(prop.formula)


def _known_variants(spec: Spec | None, variants: Collection[str] | None) -> frozenset[str]:
    """The names a suite's ``expected`` keys may take: ``default``, and ``variants`` or,
    when not given, the bundled spec's with ``spec``'s own and what it builds on."""
    if variants is None:
        variants = catalog(bundled_spec_path())
        if spec is not None and spec.variant is not None:
            variants = [*variants, spec.variant.name, *spec.variant.lineage]
    return frozenset(["base", "default", *variants])
