"""Load a protocol spec (``spec/*.toml``): read, overlay a variant, type and validate.

The spec is the single source of every transition (see the comment at the top of
``spec/tcp.toml`` for the format).  Loading is strict: every mistake is found at load
time and reported as one :class:`~checker.errors.SpecError` naming the file, the entry
and the fix.  The steps are modules of their own: :mod:`checker.model.raw` reads the
files and checks each entry's shape, :mod:`checker.model.overlay` merges a variant in,
:mod:`checker.model.build` types and validates the result; then
:func:`checker.model.endpoint.closure` explores the endpoint on its own to prove that no
reachable state lacks a rule for a segment it can receive.

Examples
--------
>>> spec = load_spec()
>>> spec.name, len(spec.states)
('tcp', 11)
>>> load_spec(variant="no-time-wait").has_state("TIME-WAIT")
False
>>> "linux" in [v.name for v in list_variants()]
True
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..errors import SpecError, UsageError, unknown_name
from .build import build_spec, value_problem
from .endpoint import closure
from .layers import bundled_spec_dir, bundled_spec_path, layers, overlay_meta, root_variants
from .overlay import apply_overlay
from .raw import Src, display, read_base
from .spec import Spec, Variant

__all__ = ["bundled_spec_dir", "bundled_spec_path", "list_variants", "load_spec"]


def list_variants(spec_path: str | Path | None = None) -> list[Variant]:
    """The variants shipped beside a base spec (by default, the bundled one; for an
    overlay, the spec it is laid on), sorted by file name.

    Examples
    --------
    >>> [v.name for v in list_variants()]
    ['linux', 'no-time-wait', 'rfc1337', 'rfc5961', 'rfc793', 'rst-time-wait', 'short-time-wait']
    """
    root = layers(Path(spec_path) if spec_path else bundled_spec_path()).root
    found: list[Variant] = []
    for name, file in root_variants(root).items():
        meta = overlay_meta(file)  # already parsed while root_variants named it
        found.append(
            Variant(
                name=name,
                description=str(meta.get("description", "")),
                ref=str(meta.get("ref", "")),
                broken=bool(meta.get("broken", False)),
                file=display(file),
            )
        )
    return found


def load_spec(
    path: str | Path | None = None,
    variant: str | None = None,
    params: Mapping[str, float] | None = None,
    *,
    check_behaviour: bool = True,
) -> Spec:
    """Load and validate a spec.

    Parameters
    ----------
    path
        A spec file (``[protocol]`` ...) or an overlay (``[variant]`` ...) laid on what it
        builds on (by default the bundled TCP spec).  ``None`` loads the bundled
        ``spec/tcp.toml``.
    variant
        A variant (:func:`checker.model.layers.layers`): ``base``, the name of one shipped
        beside the base spec (``spec/variants/NAME.toml``) or of an overlay ``path``
        builds on or sits beside, or the path of an overlay.
    params
        Parameter overrides, ``{"MSL": 30}``.
    check_behaviour
        Also explore the endpoint on its own (:func:`checker.model.endpoint.closure`) to prove
        that every reachable state handles every segment it can receive, deterministically.

    Raises
    ------
    SpecError
        For any mistake in the files; :class:`UsageError` for an unknown variant or
        parameter.

    Examples
    --------
    >>> spec = load_spec(variant="linux", params={"MSL": 30})
    >>> spec.variant.name, spec.values["MSL"], spec.values["TIME_WAIT"]
    ('linux', 30.0, 60.0)
    >>> spec.state_names[:4]
    ('CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED')
    """
    given = Path(path) if path is not None else bundled_spec_path()
    chain = layers(given, variant)
    raw = read_base(chain.root)
    chosen: Variant | None = None
    names = chain.names
    for depth, file in enumerate(chain.overlays):
        chosen = apply_overlay(raw, file, names[len(names) - depth :])
    if params:
        for pname, value in params.items():
            if pname not in raw.parameters:
                raise unknown_name("parameter", pname, sorted(raw.parameters), "parameters")
            body, _src = raw.parameters[pname]
            _check_override(pname, body.get("unit"), value)
            raw.parameters[pname] = ({**body, "value": value}, Src("--param", pname))
    try:
        spec = build_spec(raw, chosen)
    except SpecError as exc:
        if chosen is None or exc.file == chosen.file:
            raise
        # A base entry the overlay made wrong (a timer it moved away from a state the
        # base's rules time out in): the overlay is where to fix it.
        raise SpecError(chosen.file, "as this overlay leaves the base spec", str(exc)) from None
    if check_behaviour:
        closure(spec)
    return spec


def _check_override(name: str, unit: object, value: float) -> None:
    """A value given for a parameter (``--param``, a property's ``params``) that the model
    cannot mean (:func:`~checker.model.build.value_problem`)."""
    problem = value_problem(name, unit, value)
    if problem is not None:
        raise UsageError(problem)
