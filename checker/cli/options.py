"""Options several commands share, and the reading of their values.

``--spec``/``--variant``/``--param`` choose the spec, ``--properties`` the property
suite, and the product options (``--capacity``, ``--loss``, ``--a-close``...) the
composition: they are read here into the library's values -- a loaded
:class:`~checker.model.spec.Spec`, parameter overrides, a
:class:`~checker.product.config.ProductConfig` -- and nothing else is decided here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import UsageError, unknown_name
from ..model.load import load_spec
from ..model.spec import Spec
from ..product.config import (
    ATTACK_KINDS,
    CLOSE_MODES,
    OPTION_KEYS,
    ORDERINGS,
    OVERFLOWS,
    ProductConfig,
    name_list,
)

if TYPE_CHECKING:
    from ..check.properties import Property
    from ..jobs import Workers
    from ..timed.solver import SolverLimits

__all__ = [
    "COUNT",
    "find_property",
    "load",
    "output_options",
    "parse_config",
    "parse_params",
    "pick_variants",
    "product_config",
    "product_options",
    "refuse_free_and_fixed",
    "seconds_limit",
    "spec_file_option",
    "spec_options",
    "suite_options",
]

F = TypeVar("F", bound=Callable[..., Any])


def _set_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        from .console import QUIET

        ctx.find_root().meta[QUIET] = True
    return value


def output_options(
    json_help: str = "Print JSON on standard output (nothing else there).",
) -> Callable[[F], F]:
    """``--json`` (the ``as_json`` argument) and ``-q/--quiet``, the same on every command.

    Quiet is kept in the context (:func:`~checker.cli.console.quiet`), not passed: what
    it silences is the console's business, not the command's.
    """

    def decorate(f: F) -> F:
        f = click.option("--json", "as_json", is_flag=True, help=json_help)(f)
        return click.option(
            "--quiet",
            "-q",
            is_flag=True,
            expose_value=False,
            callback=_set_quiet,
            help="No progress display, and of the report only its conclusion (the summary, "
            "what differs, where files went).",
        )(f)

    return decorate


def parse_params(values: tuple[str, ...]) -> dict[str, float]:
    """``--param NAME=VALUE`` values as parameter overrides."""
    params: dict[str, float] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param expects NAME=VALUE (got {item!r})")
        try:
            params[name.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--param {name}: {value!r} is not a number") from None
    return params


def seconds_limit(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """The callback of a ``--max-seconds`` option: a finite number of seconds above 0
    (``nan``, ``inf``, 0 and negative values would silently mean "no limit")."""
    if value is not None and (not math.isfinite(value) or value <= 0):
        raise click.BadParameter(f"{value!r}: a limit must be a finite number of seconds above 0")
    return value


def finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """The callback of a number option whose range click checks: also finite (click's
    ranges let ``nan`` through, every comparison with it being false)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value!r}: give a finite number")
    return value


#: ``--max-states`` and the like: a count of at least 1 (0 or below would mean no limit).
COUNT = click.IntRange(min=1)

#: The product options that are switches (``--config a_abort=true``).
_SWITCHES = ("a_abort", "b_abort", "simultaneous_open", "listen_send", "attack_exact")


def workers_options(default: str = "one per core") -> Callable[[F], F]:
    """``--workers N`` and ``--scheduler ADDRESS``: where independent jobs run
    (``default`` says how many local workers there are without ``--workers``)."""

    def decorate(f: F) -> F:
        f = click.option(
            "--scheduler",
            metavar="ADDRESS",
            help="Run the jobs on the workers of a running Dask scheduler (tcp://host:8786); "
            "they need tcpcheck installed.",
        )(f)
        return click.option(
            "--workers",
            "workers_n",
            type=COUNT,
            metavar="N",
            help=f"Local worker processes for the independent jobs (default: {default}; "
            "1 runs them here).  The results are the same bytes for any N.",
        )(f)

    return decorate


def workers(count: int | None, scheduler: str | None, default: int | None = None) -> Workers:
    """The :class:`~checker.jobs.Workers` that ``--workers``/``--scheduler`` ask for
    (``default``: the count without either; ``None``: one per core)."""
    if count is None and scheduler is None:
        count = default
    from ..jobs import Workers  # the pool's module: only for the commands that run jobs

    return Workers(count=count, scheduler=scheduler)


def parse_config(values: tuple[str, ...]) -> dict[str, Any]:
    """``--config KEY=VALUE`` values as a property's ``config`` table would give them
    (keys as :data:`~checker.product.config.OPTION_KEYS`), checked.

    >>> parse_config(("overflow=drop", "capacity=4", "b_abort=true"))
    {'overflow': 'drop', 'capacity': 4, 'b_abort': True}
    """
    config: dict[str, Any] = {}
    for item in values:
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not key:
            raise UsageError(f"--config expects KEY=VALUE (got {item!r})")
        if key not in OPTION_KEYS:
            raise unknown_name("config key", key, OPTION_KEYS)
        if key in _SWITCHES:
            if value not in ("true", "false"):
                raise UsageError(f"--config {key}: use true or false (got {value!r})")
            config[key] = value == "true"
        elif key in ("capacity", "attacker"):
            if not value.isdigit():
                raise UsageError(f"--config {key}: {value!r} is not a whole number")
            config[key] = int(value)
        elif key in ("attack_kinds", "attack_states"):
            config[key] = list(name_list(value))
        else:
            config[key] = value
    ProductConfig.from_options(config)  # a bad value is refused here, with its reason
    return config


def spec_file_option(
    help: str = "Load this spec (or overlay on the bundled spec) instead of the bundled TCP spec.",
) -> Callable[[F], F]:
    """``--spec FILE``: a spec or an overlay instead of the bundled one."""
    return click.option(
        "--spec",
        "spec_file",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help=help,
    )


def spec_options(func: F) -> F:
    """``--spec``, ``--variant`` and ``--param``, shared by every command."""
    func = click.option(
        "--param",
        "params",
        multiple=True,
        metavar="NAME=VALUE",
        help="Override a parameter, e.g. --param SYN_RETRIES=1.",
    )(func)
    func = click.option(
        "--variant", metavar="NAME", help="Apply a variant overlay (see `tcpcheck variants`)."
    )(func)
    return spec_file_option()(func)


def suite_options(verb: str) -> Callable[[F], F]:
    """``--spec`` and ``--properties``, for the commands that run a property suite."""

    def add(func: F) -> F:
        func = click.option(
            "--properties",
            "props_file",
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            help="A property suite instead of the bundled one.",
        )(func)
        return spec_file_option(f"{verb} this spec (or overlay) instead of the bundled one.")(func)

    return add


def load(spec_file: Path | None, variant: str | None, params: tuple[str, ...]) -> Spec:
    """The spec ``--spec``, ``--variant`` and ``--param`` name."""
    return load_spec(spec_file, variant=variant, params=parse_params(params))


def product_options(func: F) -> F:
    """Channel and application options of the product automaton."""
    options = [
        click.option(
            "--capacity",
            type=int,
            default=2,
            show_default=True,
            help="Segments each one-way channel can hold.",
        ),
        click.option(
            "--ordering",
            type=click.Choice(ORDERINGS),
            default="unordered",
            show_default=True,
            help="fifo keeps order; unordered lets segments overtake.",
        ),
        click.option(
            "--loss",
            default="any",
            show_default=True,
            metavar="none|any|K",
            help="Segments the network may lose: none, any number, or at most K per run.",
        ),
        click.option(
            "--overflow",
            type=click.Choice(OVERFLOWS),
            default="block",
            show_default=True,
            help="What a full channel does with a segment sent into it: the sender waits "
            "(block) or the segment is dropped (drop).",
        ),
        click.option(
            "--dup",
            "duplication",
            default="none",
            show_default=True,
            metavar="none|K",
            help="Segments the network may duplicate per run.",
        ),
        click.option(
            "--a-close",
            type=click.Choice(list(CLOSE_MODES)),
            default="first",
            show_default=True,
            help="When A's application closes.",
        ),
        click.option(
            "--b-close",
            type=click.Choice(list(CLOSE_MODES)),
            default="after-peer",
            show_default=True,
            help="When B's application closes.",
        ),
        click.option(
            "--a-abort", is_flag=True, help="A's application may ABORT instead of closing."
        ),
        click.option(
            "--b-abort", is_flag=True, help="B's application may ABORT instead of closing."
        ),
        click.option(
            "--simultaneous-open",
            is_flag=True,
            help="Both endpoints open actively (B does not listen).",
        ),
        click.option(
            "--listen-send",
            is_flag=True,
            help="B's application may SEND while listening (LISTEN -> SYN-SENT).",
        ),
        click.option(
            "--attacker",
            type=click.IntRange(0, 15),
            default=0,
            show_default=True,
            metavar="K",
            help="An off-path attacker injects at most K forged segments per run, into "
            "either endpoint, at any moment (0: none).",
        ),
        click.option(
            "--attack-kinds",
            default=",".join(ATTACK_KINDS),
            show_default=True,
            metavar="KINDS",
            help="The kinds of segment the attacker forges, comma-separated.",
        ),
        click.option(
            "--attack-states",
            default="",
            metavar="STATES",
            help="Strike only an endpoint in one of these states, comma-separated "
            "(default: any state).",
        ),
        click.option(
            "--attack-exact",
            is_flag=True,
            help="The attacker knows the connection's sequence numbers (otherwise it is "
            "blind: it never hits RCV.NXT or an acceptable ACK exactly).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def product_config(options: Mapping[str, Any]) -> ProductConfig:
    """The configuration the product options (:func:`product_options`) give."""
    # Said in the options' own words before ProductConfig would refuse it.
    if options["listen_send"] and options["simultaneous_open"]:
        raise UsageError("--listen-send needs B to listen: drop --simultaneous-open")
    return ProductConfig.from_options(options)


def load_suite(spec_file: Path | None, props_file: Path | None) -> list[Property]:
    """The suite ``--properties`` names (by default the bundled one), its formulas read
    against ``--spec`` and its variant names against those ``--variant`` takes there."""
    from ..check.properties import load_properties
    from ..model.layers import catalog
    from ..model.load import bundled_spec_path

    known = catalog(spec_file if spec_file is not None else bundled_spec_path())
    return load_properties(props_file, spec=load_spec(spec_file), variants=known)


def pick_properties(props: list[Property], names: Collection[str]) -> list[Property]:
    """The properties ``--property`` names (all of them when none is named); an unknown
    name is a usage error naming the known ones."""
    if not names:
        return props
    known = [p.name for p in props]
    for name in names:
        if name not in known:
            raise unknown_name("property", name, known, "properties")
    return [p for p in props if p.name in names]


def find_property(spec_file: Path | None, props_file: Path | None, name: str) -> Property:
    """The property ``name`` of the suite (bundled, or ``props_file``), or a usage error
    with a hint."""
    by_name = {p.name: p for p in load_suite(spec_file, props_file)}
    if name not in by_name:
        raise unknown_name("property", name, list(by_name), "properties")
    return by_name[name]


def pick_variants(spec_file: Path | None, names: tuple[str, ...]) -> list[str | None] | None:
    """``--variant`` values: ``base`` (the base spec, ``None`` unless ``--spec`` is an
    overlay of one's own), a name :func:`~checker.model.layers.catalog` lists, or the
    path of an overlay; ``None`` when none is given."""
    if not names:
        return None
    from ..model.layers import is_overlay, layers
    from ..model.load import bundled_spec_path

    given = spec_file if spec_file is not None else bundled_spec_path()
    under_overlay = is_overlay(given)
    chosen: list[str | None] = []
    for name in names:
        layers(given, name)  # an unknown name or a missing file is refused here
        if name == "base" and not under_overlay:
            chosen.append(None)
        else:
            chosen.append(name)
    return chosen


def refuse_free_and_fixed(free: Collection[str], fixed: Collection[str]) -> None:
    """A parameter left free (``--free``) cannot also have a value."""
    for name in free:
        if name in fixed:
            raise UsageError(f"{name} is both free and fixed (--param {name}=...); choose one")


def solver_limits() -> SolverLimits:
    """The Z3 limits of this command: the global --z3-timeout and --z3-rlimit."""
    from ..timed.solver import DEFAULT_LIMITS, SolverLimits

    got = click.get_current_context().find_object(SolverLimits)
    return got if got is not None else DEFAULT_LIMITS
