"""Variants as overlays on a base spec, merged before the spec is typed.

An overlay is a file with a ``[variant]`` table.  Its parameters, states and timers
replace the base's by name (a new name adds one); its transitions replace every base
transition with the same source state and event (the parts of a multi-state or
multi-event entry it does not name stay);
``remove_states`` and ``remove_timers`` delete.  Merging works on the raw tables
(:class:`~checker.model.raw.RawSpec`), so the merged spec is validated as a whole, as
if it had been written in one file.

Examples
--------
>>> from checker.model.load import bundled_spec_path
>>> from checker.model.raw import read_base
>>> raw = read_base(bundled_spec_path())
>>> path = bundled_spec_path().parent / "variants" / "no-time-wait.toml"
>>> apply_overlay(raw, path).name
'no-time-wait'
>>> any(body["name"] == "TIME-WAIT" for body, _src in raw.states)
False
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import SpecError
from .layers import RESERVED
from .raw import (
    OVERLAY_KEYS,
    RawSpec,
    Src,
    acceptance_of,
    check_keys,
    check_top,
    choices_of,
    display,
    entries_of,
    entry,
    file_name_problem,
    name_of,
    opt_bool,
    params_of,
    read_toml,
    req_str,
    str_list,
    table_list,
    timers_of,
)
from .spec import Variant

__all__ = ["apply_overlay"]


def apply_overlay(raw: RawSpec, path: Path, lineage: tuple[str, ...] = ()) -> Variant:
    """Merge the overlay at ``path`` into ``raw`` (in place); its ``[variant]`` table.
    ``lineage``: the names of the overlays already merged, the nearest first."""
    file = display(path)
    doc = read_toml(path)
    check_top(file, doc, OVERLAY_KEYS)
    meta = doc.get("variant")
    vsrc = Src(file, "variant")
    if not isinstance(meta, dict):
        raise SpecError(file, "variant", "missing [variant] table (description, ref)")
    check_keys(vsrc, meta, "variant")
    # Without a name, the file's stem names the variant (mine.toml: "mine").
    name = req_str(vsrc, meta, "name") if "name" in meta else path.stem
    problem = file_name_problem("variant", name)
    if problem is not None:
        raise SpecError(file, "variant", problem, 'e.g. name = "linux"')
    if name in RESERVED:
        raise SpecError(
            file,
            "variant",
            f"an overlay cannot be named {name!r}: 'base' is the base spec itself and "
            "'default' a suite's expectation for every variant",
            "choose another name",
        )
    variant = Variant(
        name=name,
        description=req_str(vsrc, meta, "description"),
        ref=req_str(vsrc, meta, "ref"),
        broken=opt_bool(vsrc, meta, "broken"),
        file=file,
        lineage=lineage,
    )
    raw.files.append(file)
    state_names = [str(b.get("name")) for b, _ in raw.states]
    removed = str_list(vsrc, meta, "remove_states", required=False)
    for name in removed:
        name_of(vsrc, name, state_names, "state in remove_states")
        raw.states = [(b, s) for b, s in raw.states if b.get("name") != name]
        # Rules from the removed state go; a rule shared with other states keeps those.
        kept: list[tuple[dict[str, Any], Src, str | None]] = []
        for body, src, origin in raw.transitions:
            sources = _as_list(body.get("from"))
            rest = [s for s in sources if s != name]
            if len(rest) == len(sources):
                kept.append((body, src, origin))
            elif rest:
                kept.append(({**body, "from": rest}, src, origin))
        raw.transitions = kept
        for body, _src in raw.timers.values():
            if isinstance(body.get("states"), list) and name in body["states"]:
                body["states"] = [x for x in body["states"] if x != name]
    removed_timers = str_list(vsrc, meta, "remove_timers", required=False)
    for name in removed_timers:
        name_of(vsrc, name, raw.timers, "timer in remove_timers")
        del raw.timers[name]
    # A state of the overlay replaces the base's of the same name, or is added.
    for body, src in entries_of(file, doc, "states"):
        at = [k for k, (b, _s) in enumerate(raw.states) if b.get("name") == body.get("name")]
        if at:
            raw.states[at[0]] = (body, src)
        else:
            raw.states.append((body, src))
    raw.parameters.update(params_of(file, doc))
    raw.timers.update(timers_of(file, doc))
    raw.choices.update(choices_of(file, doc))
    raw.acceptance.update(acceptance_of(file, doc))

    # Each overlay transition replaces all base transitions with its (from, event) pairs.
    new = [
        (b, Src(file, entry(doc, "transitions", i)), variant.name)
        for i, b in enumerate(table_list(vsrc, doc, "transitions"))
    ]
    for body, src, _name in new:
        for key in ("from", "event"):  # what a rule replaces is keyed by these
            str_list(src, body, key)
    pairs = {
        (f, e) for b, _, _ in new for f in _as_list(b.get("from")) for e in _as_list(b.get("event"))
    }
    kept = []
    inserted = False
    for body, src, origin in raw.transitions:
        sources = _as_list(body.get("from"))
        evs = _as_list(body.get("event"))
        hit = [(f, e) for f in sources for e in evs if (f, e) in pairs]
        if not hit:
            kept.append((body, src, origin))
            continue
        # Keep the parts of a multi-state/multi-event entry that the overlay leaves alone.
        rest_sources = [f for f in sources if all((f, e) not in pairs for e in evs)]
        if rest_sources:
            kept.append(({**body, "from": rest_sources}, src, origin))
        partly = [f for f in sources if f not in rest_sources]
        for f in partly:
            left = [e for e in evs if (f, e) not in pairs]
            if left:
                kept.append(({**body, "from": f, "event": left}, src, origin))
        if not inserted:
            kept.extend(new)
            inserted = True
    if not inserted:
        kept.extend(new)
    raw.transitions = kept
    _nothing_left_uses_a_removed_name(vsrc, removed, removed_timers, kept)
    return variant


def _nothing_left_uses_a_removed_name(
    vsrc: Src,
    states: list[str],
    timers: list[str],
    rules: list[tuple[dict[str, Any], Src, str | None]],
) -> None:
    """Every rule still leading into a removed state, or still run by a removed timer's
    timeout, is the overlay's to replace: name them all, at the overlay (the base spec
    is not wrong; the removal left them)."""
    uses = [
        ("remove_states", name, "lead into", lambda body, n=name: body.get("to") == n)
        for name in states
    ] + [
        (
            "remove_timers",
            name,
            "fire on timeout",
            lambda body, n=name: f"timeout {n}" in _as_list(body.get("event")),
        )
        for name in timers
    ]
    for key, name, verb, uses_it in uses:
        left = [src for body, src, _origin in rules if uses_it(body)]
        if left:
            where = "; ".join(f"{s.file}: {s.entry}" for s in left)
            raise vsrc.error(
                f"{key}: {len(left)} rule(s) still {verb} {name}: {where}",
                hint=f"replace or remove each of them in this overlay, or keep {name}",
            )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
