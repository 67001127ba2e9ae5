"""The spec files as read: TOML tables, and where each entry came from.

Every message of a :class:`~checker.errors.SpecError` names the file, the entry (with its
line when known) and the fix; this module keeps those origins beside the raw tables
(:class:`Src`, :class:`RawSpec`) and checks the shape of each entry -- known keys,
strings where strings belong -- before :mod:`checker.model.overlay` merges a variant in
and :mod:`checker.model.build` turns the tables into a :class:`~checker.model.spec.Spec`.

Examples
--------
>>> src = Src("tcp.toml", "states[0]")
>>> req_str(src, {"name": "LISTEN"}, "name")
'LISTEN'
>>> print(src.error("missing 'name'"))
tcp.toml: states[0]: missing 'name'
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SpecError, did_you_mean, read_text

__all__ = [
    "BASE_KEYS",
    "KEYS",
    "OVERLAY_KEYS",
    "RawSpec",
    "Src",
    "acceptance_of",
    "check_keys",
    "check_top",
    "choices_of",
    "display",
    "entries_of",
    "entry",
    "file_name_problem",
    "name_of",
    "opt_bool",
    "opt_str",
    "params_of",
    "read_base",
    "read_toml",
    "req_str",
    "str_list",
    "table_list",
    "timers_of",
]

#: The tables a base spec may have.
BASE_KEYS = {
    "protocol",
    "acceptance",
    "parameters",
    "states",
    "events",
    "timers",
    "transitions",
    "choices",
}
#: The tables an overlay (a variant) may have.
OVERLAY_KEYS = {"variant", "acceptance", "parameters", "states", "timers", "transitions", "choices"}
#: The keys each kind of entry may have.
KEYS = {
    "protocol": {"name", "title", "reference", "initial"},
    "parameter": {"value", "unit", "description", "ref", "sysctl"},
    "state": {"name", "description", "sent", "received"},
    "event": {"name", "kind", "description", "total"},
    "timer": {"name", "event", "description", "states", "duration", "durations", "untimed", "ref"},
    "transition": {
        "from",
        "to",
        "event",
        "send",
        "guard",
        "retransmit",
        "restart",
        "keep_timer",
        "error",
        "ref",
        "note",
        "figure5",
    },
    "variant": {"name", "base", "description", "ref", "broken", "remove_states", "remove_timers"},
    "choice": {"topic", "kind", "decision", "why", "ref"},
    "acceptance": {"syn_received_ack", "too_old_ack", "ref"},
}


# ----------------------------------------------------------------------- reading ---


def display(path: Path) -> str:
    """A path as the user would type it: relative to the working directory if inside."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z_]+)\s*\]\]\s*(?:#.*)?$")


def _header_lines(text: str) -> dict[str, list[int]]:
    """Line numbers of each ``[[name]]`` header, so messages can say where an entry is."""
    lines: dict[str, list[int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(line)
        if m:
            lines.setdefault(m.group(1), []).append(number)
    return lines


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; the result maps ``"__lines__"`` to :func:`_header_lines`."""
    shown = display(path)
    text = read_text(path, shown, "--spec")
    doc = parse_toml(text, shown)
    doc["__lines__"] = _header_lines(text)
    return doc


def parse_toml(text: str, shown: str) -> dict[str, Any]:
    """``text`` (the file ``shown``) as TOML; a :class:`SpecError` naming the file when
    it is not TOML or nests deeper than the parser's recursion can go."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(
            shown, "", f"malformed TOML: {exc}", hint="see https://toml.io for the syntax"
        ) from None
    except RecursionError:
        raise SpecError(
            shown,
            "",
            "arrays or tables nested too deeply to read (hundreds of levels)",
            hint="a spec or a suite nests a few levels at most",
        ) from None


def entry(doc: Mapping[str, Any], table: str, i: int) -> str:
    """``transitions[3] (line 120)``: the entry's index and, when known, its line."""
    lines = doc.get("__lines__", {}).get(table, [])
    return f"{table}[{i}] (line {lines[i]})" if i < len(lines) else f"{table}[{i}]"


# ----------------------------------------------------------------------- entries ---


class Src:
    """Where a raw entry came from, for error messages."""

    def __init__(self, file: str, entry: str) -> None:
        self.file = file
        self.entry = entry

    def error(self, problem: str, hint: str | None = None) -> SpecError:
        return SpecError(self.file, self.entry, problem, hint)


def check_keys(src: Src, raw: Mapping[str, Any], kind: str) -> None:
    allowed = KEYS[kind]
    for key in raw:
        if key not in allowed:
            raise src.error(
                f"unknown key '{key}'",
                did_you_mean(key, allowed) or "allowed: " + ", ".join(sorted(allowed)),
            )


def req_str(src: Src, raw: Mapping[str, Any], key: str) -> str:
    if key not in raw:
        raise src.error(f"missing '{key}'")
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise src.error(f"'{key}' must be a non-empty string")
    return value


def opt_str(src: Src, raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise src.error(f"'{key}' must be a string")
    return value


def opt_bool(src: Src, raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise src.error(f"'{key}' must be true or false")
    return value


def str_list(src: Src, raw: Mapping[str, Any], key: str, *, required: bool = True) -> list[str]:
    if key not in raw:
        if required:
            raise src.error(f"missing '{key}'")
        return []
    value = raw[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise src.error(f"'{key}' must be a string or a list of strings")
    return list(value)


def table_list(src: Src, doc: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise src.error(f"'{key}' must be an array of tables: write [[{key}]]")
    return value


def name_of(src: Src, name: str, choices: Iterable[str], what: str) -> str:
    choices = list(choices)
    if name not in choices:
        raise src.error(f"unknown {what} '{name}'", did_you_mean(name, choices))
    return name


# ---------------------------------------------------------------------- the base ---


@dataclass
class RawSpec:
    """The spec between reading and typing: raw tables with their origins."""

    protocol: dict[str, Any]
    protocol_src: Src
    parameters: dict[str, tuple[dict[str, Any], Src]]
    states: list[tuple[dict[str, Any], Src]]
    events: list[tuple[dict[str, Any], Src]]
    timers: dict[str, tuple[dict[str, Any], Src]]
    transitions: list[tuple[dict[str, Any], Src, str | None]]
    files: list[str]
    #: ``[[choices]]``: what the spec chose or left out, by topic.
    choices: dict[str, tuple[dict[str, Any], Src]] = field(default_factory=dict)
    #: ``[acceptance]``: each key with where it was set (an overlay's replace the base's).
    acceptance: dict[str, tuple[Any, Src]] = field(default_factory=dict)


def check_top(file: str, doc: Mapping[str, Any], allowed: set[str]) -> None:
    for key in doc:
        if key == "__lines__":
            continue
        if key not in allowed:
            raise SpecError(
                file,
                key,
                f"unknown table '{key}'",
                did_you_mean(key, allowed) or "allowed: " + ", ".join(sorted(allowed)),
            )


def params_of(file: str, doc: Mapping[str, Any]) -> dict[str, tuple[dict[str, Any], Src]]:
    raw = doc.get("parameters", {})
    if not isinstance(raw, dict):
        raise SpecError(file, "parameters", "must be a table: write [parameters.NAME]")
    out: dict[str, tuple[dict[str, Any], Src]] = {}
    for name, body in raw.items():
        src = Src(file, f"parameters.{name}")
        if not isinstance(body, dict):
            raise src.error("must be a table with at least 'value'")
        out[name] = (body, src)
    return out


def entries_of(file: str, doc: Mapping[str, Any], table: str) -> list[tuple[dict[str, Any], Src]]:
    """The entries of an array of tables (``[[states]]``, ``[[events]]``), each with
    where it is written."""
    return [
        (b, Src(file, entry(doc, table, i)))
        for i, b in enumerate(table_list(Src(file, table), doc, table))
    ]


def timers_of(file: str, doc: Mapping[str, Any]) -> dict[str, tuple[dict[str, Any], Src]]:
    out: dict[str, tuple[dict[str, Any], Src]] = {}
    for i, body in enumerate(table_list(Src(file, "timers"), doc, "timers")):
        src = Src(file, entry(doc, "timers", i))
        name = req_str(src, body, "name")
        src.entry = f"{src.entry} {name}"
        if name in out:
            raise src.error(f"timer '{name}' is defined twice")
        out[name] = (body, src)
    return out


def read_base(path: Path) -> RawSpec:
    """The tables of a base spec (one with a ``[protocol]`` table)."""
    file = display(path)
    doc = read_toml(path)
    check_top(file, doc, BASE_KEYS)
    protocol = doc.get("protocol")
    if not isinstance(protocol, dict):
        raise SpecError(
            file, "protocol", "missing [protocol] table (name, title, reference, initial)"
        )
    psrc = Src(file, "protocol")
    check_keys(psrc, protocol, "protocol")
    states = entries_of(file, doc, "states")
    events = entries_of(file, doc, "events")
    transitions: list[tuple[dict[str, Any], Src, str | None]] = [
        (b, Src(file, entry(doc, "transitions", i)), None)
        for i, b in enumerate(table_list(psrc, doc, "transitions"))
    ]
    return RawSpec(
        protocol,
        psrc,
        params_of(file, doc),
        states,
        events,
        timers_of(file, doc),
        transitions,
        [file],
        choices_of(file, doc),
        acceptance_of(file, doc),
    )


def acceptance_of(file: str, doc: Mapping[str, Any]) -> dict[str, tuple[Any, Src]]:
    """The keys of a file's ``[acceptance]`` table, each with its origin (checked when
    the spec is built: :func:`checker.model.build.build_spec`)."""
    body = doc.get("acceptance", {})
    src = Src(file, "acceptance")
    if not isinstance(body, dict):
        raise src.error("must be a table", 'e.g. [acceptance] too_old_ack = "challenge"')
    check_keys(src, body, "acceptance")
    return {k: (v, src) for k, v in body.items() if k != "ref"}


def choices_of(file: str, doc: Mapping[str, Any]) -> dict[str, tuple[dict[str, Any], Src]]:
    """The ``[[choices]]`` of a file, by topic (an overlay's replace the base's)."""
    out: dict[str, tuple[dict[str, Any], Src]] = {}
    for i, body in enumerate(table_list(Src(file, "choices"), doc, "choices")):
        src = Src(file, entry(doc, "choices", i))
        check_keys(src, body, "choice")
        topic = req_str(src, body, "topic")
        if topic in out:
            raise src.error(f"choice '{topic}' is stated twice")
        out[topic] = (body, src)
    return out


#: What a name that names files (a property's charts, a variant's diagrams) may be:
#: nothing that could lead a writer out of its output folder.
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def file_name_problem(what: str, name: str) -> str | None:
    """Why ``name`` cannot be a ``what``'s name, or ``None`` when it can.

    >>> file_name_problem("property", "../../x")  # doctest: +ELLIPSIS
    "property name '../../x' may hold only letters, digits, ... (it names files)"
    >>> file_name_problem("variant", "linux") is None
    True
    """
    if _FILE_NAME.fullmatch(name):
        return None
    return (
        f"{what} name {name!r} may hold only letters, digits, '.', '_' and '-', start with "
        "a letter or digit, and be at most 100 characters (it names files)"
    )
