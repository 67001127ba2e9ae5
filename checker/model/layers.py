"""Which files make a variant: a base spec and the overlays stacked on it, by name.

An overlay's ``[variant]`` table may give its ``name`` (by default the file's stem) and
``base``, what it is laid on:

- ``"base"`` (the default): the base spec -- the bundled ``tcp.toml`` for an overlay of
  one's own, the spec a ``variants/`` folder sits beside for a shipped one;
- a variant's name: an overlay ``NAME.toml`` beside this file, else a variant shipped
  beside the base spec (``base = "linux"``);
- a path ending in ``.toml``, relative to this file: an overlay, or a base spec of one's
  own (a ``[protocol]`` table).

Overlays stack: ``mine.toml`` with ``base = "linux"`` is Linux with ``mine``'s changes on
top, and every output names it ``mine``.  The name ``base`` is the base spec itself;
neither ``base`` nor ``default`` (a suite's expectation for every variant) can name an
overlay.

Examples
--------
>>> chain = layers(bundled_spec_path(), "linux")
>>> chain.root.name, [o.name for o in chain.overlays]
('tcp.toml', ['linux.toml'])
>>> catalog(bundled_spec_path())[:3]
['base', 'linux', 'no-time-wait']
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SpecError, UsageError, unknown_name
from .raw import display, read_toml

__all__ = [
    "Layers",
    "bundled_spec_dir",
    "bundled_spec_path",
    "catalog",
    "is_overlay",
    "layers",
    "overlay_meta",
    "overlay_name",
    "root_variants",
]

#: Names no overlay may take: the base spec itself, and a suite's "every variant".
RESERVED = ("base", "default")


@dataclass(frozen=True)
class Layers:
    """A variant's files: the base spec, then the overlays laid on it in order (the
    variant's own last); no overlays for the base spec itself."""

    root: Path
    overlays: tuple[Path, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The overlays' names, the variant's own first (what it builds on after)."""
        return tuple(overlay_name(p) for p in reversed(self.overlays))


def _head(path: Path) -> dict[str, Any]:
    """The parsed file, read once per version of it: a variant's name and base are looked
    up many times while a chain is resolved and the catalog listed."""
    try:
        stat = path.stat()
    except OSError:
        return read_toml(path)  # which says what is wrong with the path, naming it
    return _parsed(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _parsed(path: str, _mtime: int, _size: int) -> dict[str, Any]:
    return read_toml(Path(path))


def is_overlay(path: Path) -> bool:
    """Is the file at ``path`` an overlay (a ``[variant]`` table, no ``[protocol]``)?"""
    doc = _head(path)
    return "variant" in doc and "protocol" not in doc


def overlay_meta(path: Path) -> dict[str, Any]:
    """An overlay's ``[variant]`` table, as read (parsed once per version of the file)."""
    meta = _head(path).get("variant")
    if not isinstance(meta, dict):
        raise SpecError(display(path), "variant", "missing [variant] table (description, ref)")
    return meta


def overlay_name(path: Path) -> str:
    """An overlay's name: its ``[variant]`` ``name``, else its file's stem."""
    name = overlay_meta(path).get("name", path.stem)
    return name if isinstance(name, str) else path.stem


def bundled_spec_dir() -> Path:
    """The directory holding the bundled ``tcp.toml`` and ``variants/``.

    In a built wheel the spec files are shipped inside the package (``checker/spec``);
    in a source checkout they live in the repository's top-level ``spec/``.
    """
    here = Path(__file__).resolve().parent.parent  # the package's directory
    for candidate in (here / "spec", here.parent / "spec"):
        if (candidate / "tcp.toml").is_file():
            return candidate
    raise SpecError(
        str(here / "spec"), "", "the bundled spec files are missing", hint="reinstall tcpcheck"
    )


def bundled_spec_path() -> Path:
    """The bundled base spec, ``tcp.toml``."""
    return bundled_spec_dir() / "tcp.toml"


def root_variants(root: Path) -> dict[str, Path]:
    """The overlays shipped beside a base spec (its ``variants/`` folder), by name."""
    folder = root.parent / "variants"
    if not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    for file in sorted(folder.glob("*.toml")):
        if is_overlay(file):
            found.setdefault(overlay_name(file), file)
    return found


def _declared_base(path: Path, home: Path | None) -> tuple[str, Path | None]:
    """What the overlay at ``path`` is laid on: ``(as written, its file)``, the file
    ``None`` for the base spec (``home``, by default the bundled one)."""
    meta = overlay_meta(path)
    value = meta.get("base", "base")
    file = display(path)
    if not isinstance(value, str) or not value.strip():
        raise SpecError(file, "variant", "'base' must be a non-empty string", 'e.g. base = "linux"')
    if value == "base":
        return value, None
    if value.endswith(".toml"):
        target = (path.parent / value).resolve()
        if not target.is_file():
            raise SpecError(
                file,
                "variant",
                f"base = {value!r}: no such file ({display(target)})",
                "give a path relative to this file, or a variant's name",
            )
        return value, target
    beside = path.parent / f"{value}.toml"
    if beside.is_file() and beside.resolve() != path.resolve() and is_overlay(beside):
        return value, beside.resolve()
    shipped = root_variants(home or bundled_spec_path())
    if value in shipped:
        return value, shipped[value].resolve()
    raise SpecError(
        file,
        "variant",
        f"base = {value!r}: no overlay {value}.toml beside this file and no shipped variant "
        "of that name",
        "known: " + ", ".join(["base", *shipped]),
    )


def _stack(path: Path, home: Path | None = None) -> Layers:
    """The layers of the file at ``path``: a base spec alone, or an overlay and what it
    builds on, down to a base spec: ``home`` (the spec a shipped overlay sits beside; by
    default the bundled one) unless a ``base`` path names another."""
    path = path.resolve()
    if not is_overlay(path):
        return Layers(path, ())
    chain = [path]
    seen = {path}
    while True:
        written, below = _declared_base(chain[-1], home)
        if below is None:
            return Layers((home or bundled_spec_path()).resolve(), tuple(reversed(chain)))
        if below in seen:
            loop = " -> ".join(display(p) for p in [*chain, below])
            raise SpecError(
                display(chain[-1]),
                "variant",
                f"base = {written!r} closes a loop: {loop}",
                "an overlay cannot build on itself",
            )
        if not is_overlay(below):
            return Layers(below, tuple(reversed(chain)))
        chain.append(below)
        seen.add(below)


def _wants_file(name: str) -> bool:
    return name.endswith(".toml") or "/" in name


def layers(given: Path, variant: str | None = None) -> Layers:
    """The layers of ``variant`` as ``--spec given --variant variant`` names them.

    ``variant`` is ``None`` (the file ``given`` itself), ``base`` (the base spec under
    ``given``), a path to an overlay, or a name: ``given``'s own or one it builds on, an
    overlay ``NAME.toml`` beside ``given`` when that is an overlay, or a variant shipped
    beside the base spec."""
    own = _stack(given)
    if variant is None:
        return own
    if variant == "base":
        return Layers(own.root, ())
    if _wants_file(variant):
        file = Path(variant)
        if not file.is_file():
            raise UsageError(f"--variant {variant}: no such file (give an overlay's path or name)")
        return _stack(file)
    if own.overlays:
        for i, name in enumerate(own.names):
            if name == variant:
                return Layers(own.root, own.overlays[: len(own.overlays) - i])
        beside = given.parent / f"{variant}.toml"
        if beside.is_file() and is_overlay(beside):
            return _stack(beside)
    shipped = root_variants(own.root)
    if variant in shipped:
        return _stack(shipped[variant], own.root)
    if not shipped and not own.overlays:
        raise UsageError(
            f"--variant {variant}: {display(own.root)} has no variants (they are the overlays "
            f"in {display(own.root.parent / 'variants')}/); give an overlay with --spec or "
            "--variant PATH.toml instead"
        )
    raise unknown_name("variant", variant, catalog(given), "known variants")


def catalog(given: Path) -> list[str]:
    """Every name ``--variant`` takes with ``--spec given``: ``base``, the variants shipped
    beside the base spec, and ``given``'s own overlays (itself and what it builds on)."""
    own = _stack(given)
    names = ["base", *root_variants(own.root)]
    for name in reversed(own.names):
        if name not in names:
            names.append(name)
    return names
