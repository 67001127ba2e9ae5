"""Where the command line writes: standard output, standard error, a live status line.

Tables go to standard output through rich; what is not a terminal (a CI log, a pipe)
gets wide lines rather than tables squeezed into 80 columns.  Progress is shown on
standard error: a live line on a terminal; for the long jobs (a synthesis) a plain line
at most every few seconds otherwise (:func:`every`), so a CI log shows the job is alive.
``--json`` output on standard output stays clean either way.

``-q/--quiet`` (every command) turns the progress off and the report down to its
conclusion: what a command prints with :func:`conclude` (the summary line, what differs,
where files went) and nothing it prints on :func:`out_console`.  It is read from the
running command's context, so one process may run many commands (tests do).
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "QUIET",
    "conclude",
    "err_console",
    "every",
    "exploring",
    "live",
    "out_console",
    "quiet",
]

#: Where ``--quiet`` is kept: the root context's ``meta`` of the running command.
QUIET = "tcpcheck.quiet"


def quiet() -> bool:
    """Whether the running command was given ``-q/--quiet``."""
    import click

    ctx = click.get_current_context(silent=True)
    return ctx is not None and bool(ctx.find_root().meta.get(QUIET))


def out_console() -> Console:
    """Standard output for the report (silenced by ``--quiet``)."""
    from rich.console import Console  # when there is something to print: not at start-up

    if quiet():
        return Console(file=io.StringIO(), highlight=False, soft_wrap=True, emoji=False)
    # Not a terminal (a CI log, a pipe): do not squeeze tables into 80 columns.
    width = None if sys.stdout.isatty() else 160
    return Console(highlight=False, soft_wrap=True, width=width, emoji=False)


def conclude(text: str) -> None:
    """A line of the report's conclusion on standard output: printed even with
    ``--quiet`` (the summary, what differs, where files went)."""
    import click

    click.echo(text)


def err_console() -> Console:
    """Standard error: error messages and the live status line."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


@contextmanager
def live(enabled: bool) -> Iterator[Callable[[str], None] | None]:
    """A live status line on stderr; nothing when stderr is not a terminal or with
    ``--quiet``."""
    if not enabled or quiet() or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console(),
        transient=True,
    ) as bar:
        task = bar.add_task("working", total=None)
        yield lambda text: bar.update(task, description=text)


def every(seconds: float) -> Callable[[str], None]:
    """A progress line on standard error at most once per ``seconds`` (the first after
    ``seconds``): for standard error that is not a terminal.  Silent with ``--quiet``."""
    if quiet():
        return lambda text: None
    console = err_console()
    last = time.monotonic()

    def say(text: str) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= seconds:
            last = now
            console.print(text, markup=False)

    return say


@contextmanager
def exploring(enabled: bool) -> Iterator[Callable[[int, int, int], None] | None]:
    """A live line on stderr while exploring; nothing when stderr is not a terminal."""
    with live(enabled) as say:
        if say is None:
            yield None
            return
        show = say

        def update(states: int, transitions: int, depth: int) -> None:
            show(f"exploring: {states:,} states, {transitions:,} transitions, depth {depth}")

        yield update
