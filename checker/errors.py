"""One exception family for everything tcpcheck reports.

A :class:`TcpcheckError` is a user-facing problem: the CLI prints its message (one
paragraph naming the file, the entry and the fix) and exits with status 2, never with a
traceback.  Limits reached during a search are *not* errors: they give results marked
incomplete (see :mod:`checker.product.explore`).

Examples
--------
>>> err = SpecError("spec/tcp.toml", "transitions[3]", "unknown state 'ESTABLISH'",
...                 hint="did you mean 'ESTABLISHED'?")
>>> print(err)
spec/tcp.toml: transitions[3]: unknown state 'ESTABLISH' (did you mean 'ESTABLISHED'?)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "ModelError",
    "SpecError",
    "TcpcheckError",
    "UsageError",
    "did_you_mean",
    "read_text",
    "unknown_name",
]


class TcpcheckError(Exception):
    """Base class of every error tcpcheck reports to its user (exit status 2).

    Examples
    --------
    >>> [issubclass(c, TcpcheckError) for c in (SpecError, UsageError, ModelError)]
    [True, True, True]
    >>> UsageError("unknown variant 'linx'").exit_status
    2
    """

    exit_status = 2


class SpecError(TcpcheckError):
    """A spec file is malformed or inconsistent.

    The message names the file, the entry at fault (``transitions[12]``,
    ``states.LISTEN``...) and, where one helps, a hint.

    Examples
    --------
    >>> error = SpecError("tcp.toml", "states.LISTEN", "unknown key 'timeout'", "see 'timer'")
    >>> print(error)
    tcp.toml: states.LISTEN: unknown key 'timeout' (see 'timer')
    >>> error.entry
    'states.LISTEN'
    """

    def __init__(self, file: str, entry: str, problem: str, hint: str | None = None) -> None:
        self.file = file
        self.entry = entry
        self.problem = problem
        self.hint = hint
        where = f"{file}: {entry}: " if entry else f"{file}: "
        text = where + problem + (f" ({hint})" if hint else "")
        super().__init__(text)


class UsageError(TcpcheckError):
    """An impossible option or an unknown name on the command line or in the API.

    Examples
    --------
    >>> from checker import load_spec
    >>> load_spec(variant="linx")
    Traceback (most recent call last):
    ...
    checker.errors.UsageError: unknown variant 'linx' (did you mean 'linux'?); known variants: ...
    """


class ModelError(TcpcheckError):
    """The spec is well formed but the model it defines cannot be run as written.

    Raised, for example, when an endpoint reaches a state and receives a segment for which
    the spec has no transition: the message names the state, the event and the fix.

    Examples
    --------
    >>> issubclass(ModelError, TcpcheckError), ModelError.exit_status
    (True, 2)
    """


def unknown_name(what: str, name: str, choices: Iterable[str], listing: str = "") -> UsageError:
    """The error for an unknown name given by the user: a hint and the valid names.

    >>> print(unknown_name("variant", "linx", ["linux", "rfc1337"]))
    unknown variant 'linx' (did you mean 'linux'?); known: linux, rfc1337
    >>> print(unknown_name("variant", "linux", [], "variants of this spec"))
    unknown variant 'linux'; there are no variants of this spec
    """
    options = list(choices)
    hint = did_you_mean(name, options)
    text = f"unknown {what} '{name}'" + (f" ({hint})" if hint else "")
    if not options:
        return UsageError(f"{text}; there are no {listing or what + 's'}")
    return UsageError(text + f"; {listing or 'known'}: " + ", ".join(options))


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    """Return a "did you mean ..." hint for a misspelt ``name``, or ``None``.

    >>> did_you_mean("LISTN", ["LISTEN", "CLOSED"])
    "did you mean 'LISTEN'?"
    >>> did_you_mean("xyz", ["LISTEN"]) is None
    True
    """
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def read_text(path: Path, shown: str, option: str) -> str:
    """The UTF-8 text of an input file, or a :class:`SpecError` naming the file and what
    is wrong: missing (``option`` is the flag that named it), unreadable, or not UTF-8
    (with the byte offset of the first bad byte)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(shown, "", "no such file", f"check the path given to {option}") from None
    except OSError as exc:
        raise SpecError(shown, "", f"cannot read the file: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            shown,
            "",
            f"not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r})",
            "save the file as UTF-8",
        ) from None
