"""Where the command line writes: standard output, standard error, a live status line.

Tables go to standard output through rich; what is not a terminal (a CI log, a pipe)
gets wide lines rather than tables squeezed into 80 columns.  Progress is shown on
standard error: a live line on a terminal; for the long jobs (a synthesis) a plain line
at most every few seconds otherwise (:func:`every`), so a CI log shows the job is alive.
``--json`` output on standard output stays clean either way.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["err_console", "every", "exploring", "live", "out_console"]


def out_console() -> Console:
    """Standard output."""
    from rich.console import Console  # when there is something to print: not at start-up

    # Not a terminal (a CI log, a pipe): do not squeeze tables into 80 columns.
    width = None if sys.stdout.isatty() else 160
    return Console(highlight=False, soft_wrap=True, width=width)


def err_console() -> Console:
    """Standard error: error messages and the live status line."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def live(enabled: bool) -> Iterator[Callable[[str], None] | None]:
    """A live status line on stderr; nothing when stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty():
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
    ``seconds``): for standard error that is not a terminal."""
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
