"""The shape of a property suite file: every table, key and value type, as a schema.

A suite is TOML that people write by hand, so its types are checked before its meaning:
``capacity = "2"``, ``a_abort = "no"`` or ``final = 3`` are refused here, naming the
file, the property and the field, rather than being read as something else (a truthy
string turning an abort on) or failing deep inside a check.  The schema is pydantic's,
in strict mode (no string becomes a number, no number a boolean) with unknown keys
forbidden; :mod:`checker.check.properties` then checks the meaning (kinds, formulas,
names against the spec).

Examples
--------
>>> entry = {"name": "x", "kind": "invariant", "description": "d", "ref": "r"}
>>> suite_problem({"properties": [{**entry, "config": {"capacity": "2"}}]})
('properties[0] x', "config.capacity: must be a whole number (got '2', a string)", None)
>>> suite_problem({"properties": [{**entry, "config": {"a_abort": "no"}}]})
('properties[0] x', "config.a_abort: must be true or false (got 'no', a string)", None)
>>> suite_problem({"properties": [{**entry, "fairnes": []}]})[1:]
("unknown key 'fairnes'", "did you mean 'fairness'?")
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import did_you_mean

__all__ = ["SuiteFile", "suite_problem"]

_STRICT = ConfigDict(strict=True, extra="forbid")

#: A parameter's value: a number (a count may be ``inf``); a whole number too large for
#: a float is refused as a number, not turned into ``inf``.
Number = float
#: A retry or duplication budget: a name (``none``, ``any``) or a count 0-15.
Budget = str | Annotated[int, Field(ge=0, le=15)]


class ConfigTable(BaseModel):
    """A property's ``config``: the product options (:data:`OPTION_KEYS`)."""

    model_config = _STRICT
    a_close: str | None = None
    b_close: str | None = None
    a_abort: bool | None = None
    b_abort: bool | None = None
    simultaneous_open: bool | None = None
    listen_send: bool | None = None
    capacity: Annotated[int, Field(ge=1, le=64)] | None = None
    overflow: str | None = None
    ordering: str | None = None
    loss: Budget | None = None
    duplication: Budget | None = None
    attacker: Annotated[int, Field(ge=0, le=15)] | None = None
    attack_kinds: list[str] | None = None
    attack_exact: bool | None = None
    attack_states: list[str] | None = None


class SynthTable(BaseModel):
    """A timed property's ``synth``: the synthesis its report shows."""

    model_config = _STRICT
    variant: str | None = None
    params: dict[str, Number] = {}
    free: Annotated[list[str], Field(min_length=1)] | None = None


class PropertyEntry(BaseModel):
    """One ``[[properties]]`` table, its types only."""

    model_config = _STRICT
    name: str
    kind: str
    description: str
    ref: str
    formula: str | None = None
    final: str | None = None
    fairness: list[str] | None = None
    config: ConfigTable = ConfigTable()
    params: dict[str, Number] = {}
    expected: dict[str, str] = {}
    start: str | None = None
    lose: str | None = None
    reuse: bool | None = None
    synth: SynthTable | None = None
    exists: bool | None = None
    peer: str | None = None
    loss_rate: list[Number | str] | Number | str | None = None
    bound: str | None = None
    delay: Number | str | None = None
    within: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None


class SuiteFile(BaseModel):
    """A suite file: ``[[properties]]`` tables and nothing else."""

    model_config = _STRICT
    properties: list[PropertyEntry]


#: What each pydantic error type means for a TOML value, in the words of the fix.
_WANTED = {
    "int_type": "a whole number",
    "bool_type": "true or false",
    "string_type": "a string",
    "float_type": "a number",
    "dict_type": "a table",
    "model_type": "a table",
    "list_type": "a list",
}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _shown(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
        return f"a {len(str(abs(value)))}-digit number"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text}, {_kind(value)}"


def _fields(loc: tuple[int | str, ...]) -> tuple[str, list[str]]:
    """The field a location names (``config.capacity``), without pydantic's union tags
    (``str``, ``int``, ``function-after[...]``); and the known keys there."""
    parts = [str(p) for p in loc if not (isinstance(p, str) and (p in _TAGS or "[" in p))]
    return ".".join(parts), parts


_TAGS = {"str", "int", "float", "bool", "constrained-int"}
_MODELS: dict[str, type[BaseModel]] = {"config": ConfigTable, "synth": SynthTable}


def suite_problem(doc: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """The first type error in a parsed suite -- (entry, problem, hint) -- or None.

    The entry is ``properties[i] NAME`` as the rest of the loader names it."""
    try:
        SuiteFile.model_validate(doc)
    except ValidationError as exc:
        errors = exc.errors()
    else:
        return None
    first = errors[0]
    loc = tuple(first["loc"])
    if loc[:1] != ("properties",) or len(loc) < 2 or not isinstance(loc[1], int):
        if first["type"] == "extra_forbidden":
            return str(loc[0]), f"unknown table '{loc[0]}'", "a suite holds [[properties]]"
        return "properties", "expected [[properties]] tables", None
    i = loc[1]
    name = doc["properties"][i].get("name") if isinstance(doc["properties"][i], dict) else None
    entry = f"properties[{i}] {name}" if isinstance(name, str) else f"properties[{i}]"
    field, parts = _fields(loc[2:])
    if not parts:
        return entry, "expected a table", None
    if first["type"] == "extra_forbidden":
        model: type[BaseModel] = PropertyEntry
        if len(parts) == 2 and parts[0] in _MODELS:
            model = _MODELS[parts[0]]
        where = f"{'.'.join(parts[:-1])}: " if len(parts) > 1 else ""
        return (
            entry,
            f"{where}unknown key '{parts[-1]}'",
            did_you_mean(parts[-1], list(model.model_fields)),
        )
    if first["type"] == "missing":
        return entry, f"missing '{field}'", None
    # A union (a budget: a name or a count) fails once per member: say every one.
    same = [e for e in errors if _fields(tuple(e["loc"])[2:])[0] == field and e["loc"][1] == i]
    wanted = [_WANTED[e["type"]] for e in same if e["type"] in _WANTED]
    got = first["input"]
    if wanted:
        unique = list(dict.fromkeys(wanted))
        if first["type"] == "float_type" and isinstance(got, int) and not isinstance(got, bool):
            unique = ["a number of at most 1.8e308"]
        return entry, f"{field}: must be {' or '.join(unique)} (got {_shown(got)})", None
    return entry, f"{field}: {first['msg'].lower()} (got {_shown(got)})", None
