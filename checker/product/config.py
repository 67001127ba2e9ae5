"""What is composed: the two applications and the two channels between the endpoints.

Defaults (documented in the README): endpoint A opens actively and closes first, endpoint
B listens and closes once it has seen A's FIN; each direction is an unordered channel of
capacity 2 that may lose any segment (no bound on losses) and never duplicates.

Examples
--------
>>> cfg = ProductConfig()
>>> print(cfg.describe())  # doctest: +NORMALIZE_WHITESPACE
A: active open, closes first; B: passive open, closes after the peer;
channels: unordered, capacity 2, loss any, no duplication
>>> ProductConfig(loss="3").loss_budget
3
>>> ProductConfig(capacity=0)
Traceback (most recent call last):
...
checker.errors.UsageError: channel capacity must be at least 1 (got 0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError

__all__ = [
    "ATTACK_KINDS",
    "CLOSE_MODES",
    "OPEN_MODES",
    "OPTION_KEYS",
    "ORDERINGS",
    "OVERFLOWS",
    "AppConfig",
    "ProductConfig",
    "name_list",
]

OPEN_MODES = ("active", "passive")
#: When an application calls CLOSE (or ABORT, if it aborts).
CLOSE_MODES = {
    "first": "closes first: CLOSE once ESTABLISHED",
    "after-peer": "closes after the peer: CLOSE once it has read the peer's FIN (CLOSE-WAIT)",
    "any": "may close at any moment while the connection exists",
    "never": "never closes (the CLOSE-WAIT and FIN-WAIT-2 stories)",
}
ORDERINGS = ("fifo", "unordered")
#: What a full channel does with a segment sent into it.
OVERFLOWS = ("block", "drop")

#: The keys of the product options, as the command line and a property's ``config`` table
#: give them (:meth:`ProductConfig.from_options`).
OPTION_KEYS = (
    "a_close",
    "b_close",
    "a_abort",
    "b_abort",
    "simultaneous_open",
    "listen_send",
    "capacity",
    "overflow",
    "ordering",
    "loss",
    "duplication",
    "attacker",
    "attack_kinds",
    "attack_exact",
    "attack_states",
)

#: The kinds of segment an off-path attacker may forge (what TCP endpoints send).
ATTACK_KINDS = ("SYN", "SYN+ACK", "ACK", "FIN+ACK", "RST", "RST+ACK", "DATA")

#: States in which each close mode calls CLOSE/ABORT.
_CLOSE_STATES: dict[str, frozenset[str] | None] = {
    "first": frozenset({"ESTABLISHED"}),
    "after-peer": frozenset({"CLOSE-WAIT"}),
    "any": None,  # every state whose CLOSE rule is not an error
    "never": frozenset(),
}


@dataclass(frozen=True)
class AppConfig:
    """One application: how it opens, when it closes, whether it aborts instead.

    Examples
    --------
    >>> AppConfig("passive", "never").describe()
    'passive open, never closes'
    >>> AppConfig("sideways")
    Traceback (most recent call last):
    ...
    checker.errors.UsageError: open mode must be one of ... (got 'sideways')
    """

    open: str = "active"
    close: str = "first"
    abort: bool = False
    listen_send: bool = False

    def __post_init__(self) -> None:
        if self.open not in OPEN_MODES:
            raise UsageError(
                f"open mode must be one of {', '.join(OPEN_MODES)} (got {self.open!r})"
            )
        if self.close not in CLOSE_MODES:
            raise UsageError(
                f"close mode must be one of {', '.join(CLOSE_MODES)} (got {self.close!r})"
            )
        if self.listen_send and self.open != "passive":
            raise UsageError("SEND in LISTEN needs a passive opener (use it on the listening side)")

    def may_close_in(self, state: str) -> bool:
        allowed = _CLOSE_STATES[self.close]
        return allowed is None or state in allowed

    def describe(self) -> str:
        closes = {
            "first": "closes first",
            "after-peer": "closes after the peer",
            "any": "closes at any moment",
            "never": "never closes",
        }[self.close]
        text = f"{self.open} open, {closes}"
        if self.abort:
            text += " (or aborts)"
        if self.listen_send:
            text += ", may SEND while listening"
        return text


@dataclass(frozen=True)
class ProductConfig:
    """The composition: two applications and two one-way channels.

    Examples
    --------
    >>> config = ProductConfig(b=AppConfig("passive", "never"), loss="1")
    >>> print(config.describe())
    A: active open, closes first; B: passive open, never closes; channels: unordered,
    capacity 2, at most 1 lost, no duplication
    """

    a: AppConfig = field(default_factory=lambda: AppConfig("active", "first"))
    b: AppConfig = field(default_factory=lambda: AppConfig("passive", "after-peer"))
    capacity: int = 2
    ordering: str = "unordered"
    loss: str = "any"
    duplication: str = "none"
    overflow: str = "block"
    #: Segments an off-path attacker may inject per run (0: no attacker), their kinds,
    #: and whether it knows the connection's numbers (otherwise it is blind).
    attacker: int = 0
    attack_kinds: tuple[str, ...] = ATTACK_KINDS
    attack_exact: bool = False
    #: The states an endpoint must be in for the attacker to strike it (empty: any).
    attack_states: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise UsageError(f"channel capacity must be at least 1 (got {self.capacity})")
        if self.capacity > 8:
            raise UsageError(f"channel capacity above 8 is not supported (got {self.capacity})")
        if self.overflow not in OVERFLOWS:
            raise UsageError(f"overflow must be block or drop (got {self.overflow!r})")
        if self.ordering not in ORDERINGS:
            raise UsageError(f"ordering must be fifo or unordered (got {self.ordering!r})")
        _budget("loss", self.loss, allow_any=True)
        _budget("duplication", self.duplication, allow_any=False)
        if not 0 <= self.attacker <= 15:
            raise UsageError(f"attacker budget must be 0-15 segments (got {self.attacker})")
        unknown = [k for k in self.attack_kinds if k not in ATTACK_KINDS]
        if unknown or not self.attack_kinds:
            raise UsageError(
                f"attack kinds must be some of {', '.join(ATTACK_KINDS)} "
                f"(got {', '.join(self.attack_kinds) or 'none'})"
            )
        if len(set(self.attack_kinds)) != len(self.attack_kinds):
            raise UsageError(f"attack kinds listed twice: {', '.join(self.attack_kinds)}")

    @property
    def loss_budget(self) -> int | None:
        """Losses allowed per run: ``None`` for unbounded, 0 for none."""
        return _budget("loss", self.loss, allow_any=True)

    @property
    def dup_budget(self) -> int:
        budget = _budget("duplication", self.duplication, allow_any=False)
        assert budget is not None
        return budget

    def app(self, side: str) -> AppConfig:
        return self.a if side == "A" else self.b

    def describe(self) -> str:
        dup = "no duplication" if self.dup_budget == 0 else f"at most {self.dup_budget} duplicated"
        loss = {None: "loss any", 0: "no loss"}.get(
            self.loss_budget, f"at most {self.loss_budget} lost"
        )
        full = "; a full channel drops what is sent into it" if self.overflow == "drop" else ""
        return (
            f"A: {self.a.describe()}; B: {self.b.describe()}; channels: {self.ordering}, "
            f"capacity {self.capacity}, {loss}, {dup}{full}{self.describe_attacker()}"
        )

    def describe_attacker(self) -> str:
        """The attacker, as :meth:`describe` ends ("" without one).

        >>> ProductConfig(attacker=1, attack_kinds=("RST",)).describe_attacker()
        '; a blind attacker injects at most 1 segment (RST)'
        """
        if not self.attacker:
            return ""
        who = "an attacker who knows the numbers" if self.attack_exact else "a blind attacker"
        many = "segment" if self.attacker == 1 else "segments"
        where = f" into {', '.join(self.attack_states)}" if self.attack_states else ""
        kinds = ", ".join(self.attack_kinds)
        return f"; {who} injects at most {self.attacker} {many} ({kinds}){where}"

    def to_json(self) -> dict[str, Any]:
        return {
            "a": {
                "open": self.a.open,
                "close": self.a.close,
                "abort": self.a.abort,
                "listen_send": self.a.listen_send,
            },
            "b": {
                "open": self.b.open,
                "close": self.b.close,
                "abort": self.b.abort,
                "listen_send": self.b.listen_send,
            },
            "capacity": self.capacity,
            "ordering": self.ordering,
            "loss": self.loss,
            "duplication": self.duplication,
            "overflow": self.overflow,
            # Only with an attacker: the JSON of every other run keeps its bytes.
            **(
                {
                    "attacker": self.attacker,
                    "attack_kinds": list(self.attack_kinds),
                    "attack_exact": self.attack_exact,
                    "attack_states": list(self.attack_states),
                }
                if self.attacker
                else {}
            ),
        }

    @classmethod
    def from_options(
        cls, options: Mapping[str, Any], base: ProductConfig | None = None
    ) -> ProductConfig:
        """The configuration ``options`` describe, keyed as the command line's product
        options and a property's ``config`` table are (:data:`OPTION_KEYS`); what is not
        given is ``base``'s (the default's).  A opens actively; B too with ``simultaneous_open``.

        >>> print(ProductConfig.from_options({"b_close": "never", "loss": 1}).describe())
        ... # doctest: +NORMALIZE_WHITESPACE
        A: active open, closes first; B: passive open, never closes;
        channels: unordered, capacity 2, at most 1 lost, no duplication
        """
        base = base or cls()
        c = options
        b_open = "active" if c.get("simultaneous_open", base.b.open == "active") else "passive"
        return cls(
            a=AppConfig("active", c.get("a_close", base.a.close), c.get("a_abort", base.a.abort)),
            b=AppConfig(
                b_open,
                c.get("b_close", base.b.close),
                c.get("b_abort", base.b.abort),
                c.get("listen_send", base.b.listen_send),
            ),
            capacity=c.get("capacity", base.capacity),
            ordering=c.get("ordering", base.ordering),
            # A suite's TOML may give a budget as a number (loss = 1).
            loss=str(c.get("loss", base.loss)),
            duplication=str(c.get("duplication", base.duplication)),
            overflow=c.get("overflow", base.overflow),
            attacker=c.get("attacker", base.attacker),
            attack_kinds=name_list(c.get("attack_kinds", base.attack_kinds)),
            attack_exact=c.get("attack_exact", base.attack_exact),
            attack_states=name_list(c.get("attack_states", base.attack_states)),
        )


def name_list(given: str | Sequence[str]) -> tuple[str, ...]:
    """A list of names as a tuple; a string is a comma-separated list (the command line).

    >>> name_list("RST, SYN"), name_list(["RST"]), name_list("")
    (('RST', 'SYN'), ('RST',), ())
    """
    if isinstance(given, str):
        return tuple(n.strip() for n in given.split(",") if n.strip())
    return tuple(given)


def _budget(what: str, text: str, *, allow_any: bool) -> int | None:
    if text == "none":
        return 0
    if text == "any" and allow_any:
        return None
    if text.isdigit() and int(text) <= 15:
        return int(text)
    choices = "none, any or a number 0-15" if allow_any else "none or a number 0-15"
    raise UsageError(f"{what} must be {choices} (got {text!r})")
