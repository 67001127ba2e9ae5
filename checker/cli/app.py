"""The ``tcpcheck`` group: global options, the console-script entry point, and the one
place where an error, a limit or a signal becomes a message and an exit status
(:mod:`~checker.cli.exits`)."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import traceback
from types import FrameType
from typing import Any

import click

from .. import __version__
from ..errors import TcpcheckError
from .console import err_console
from .exits import EXIT_TABLE, Exit

__all__ = ["COMMANDS", "Interrupted", "cli", "main"]

#: Each command by the module that defines it, imported only when the command runs (or
#: its help is shown): ``tcpcheck explore`` never loads the solver, the property schema
#: or the kernel lab.
COMMANDS: dict[str, str] = {
    "bound": "timed_cmds",
    "check": "check_cmd",
    "conform": "conform_cmd",
    "crosscheck": "export_cmds",
    "docs": "docs_cmd",
    "explore": "explore_cmds",
    "export": "export_cmds",
    "graph": "explore_cmds",
    "prob": "prob_cmd",
    "simulate": "simulate_cmd",
    "spec": "spec_cmds",
    "synth": "timed_cmds",
    "variants": "spec_cmds",
}


class Interrupted(KeyboardInterrupt):
    """A terminating signal (SIGTERM, SIGHUP) raised in the main thread as Ctrl-C is, so
    that the same ``finally`` blocks and context managers tear the run down."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _Command(click.Command):
    """A command whose ``--help`` ends with the exit-status table."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("epilog", "\b\n" + EXIT_TABLE)
        super().__init__(*args, **kwargs)


class _Group(click.Group):
    """Turns what ends a command into one message and its exit status, never a raw
    traceback (unless ``--debug``)."""

    command_class = _Command
    group_class = type  # subgroups are of this class too

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Commands not imported yet: name -> module of this package (:data:`COMMANDS`).
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = self.lazy.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            # Importing the module adds its commands to this group.
            importlib.import_module(f"{__package__}.{module}")
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TcpcheckError as exc:
            say = err_console()  # rich loads when there is something to say, not at start-up
            say.print(f"tcpcheck: error: {exc}", markup=False)
            ctx.exit(exc.exit_status)
        except OSError as exc:
            # The file system refused a path the user gave (an output folder that does
            # not exist, no permission, a full disk): an input error, not a bug.
            where = exc.filename if exc.filename is not None else "a file"
            why = exc.strerror or str(exc)
            say = err_console()
            say.print(
                f"tcpcheck: error: {where}: {why} (check the path and its folder)", markup=False
            )
            ctx.exit(Exit.INPUT)
        except KeyboardInterrupt as exc:
            # Every context manager on the way up has already removed what it made.
            signum = getattr(exc, "signum", signal.SIGINT)
            say = err_console()
            say.print(f"tcpcheck: interrupted ({signal.Signals(signum).name})", markup=False)
            ctx.exit(Exit.for_signal(signum))
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise  # click's own: --help, a usage error (exit 2)
        except Exception as exc:
            say = err_console()
            if isinstance(exc, MemoryError | ImportError) and _out_of_memory(exc):
                # A search that outgrew the memory it may use: a limit, not a bug.  The
                # searches catch it themselves and report how far they got; this is the
                # rest (and a library that could not be mapped into memory as it loaded).
                say.print(
                    "tcpcheck: memory limit: the run needed more memory than it may use "
                    "(lower --max-states, or allow more memory)",
                    markup=False,
                )
                ctx.exit(Exit.INCOMPLETE)
            if ctx.find_root().params.get("debug"):
                raise
            say.print(_internal(exc), markup=False)
            ctx.exit(Exit.INTERNAL)


def _out_of_memory(exc: MemoryError | ImportError) -> bool:
    """Is this the want of memory (a process under a memory cap) -- a ``MemoryError``, or a
    library that could not be mapped as it loaded?"""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return "failed to map segment" in text or "cannot allocate memory" in text


def _internal(exc: BaseException) -> str:
    """The message of a bug: what broke and where, and where to report it."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = next(
        (f"{f.filename.rsplit('/checker/', 1)[-1]}:{f.lineno}" for f in reversed(frames)
         if "/checker/" in f.filename),
        "?",
    )  # fmt: skip
    return (
        f"tcpcheck: internal error: {type(exc).__name__}: {exc} (at checker/{where})\n"
        "This is a bug in tcpcheck, not in your input. Please report it (README, "
        "'Reporting a bug') with the command line and the traceback that "
        "`tcpcheck --debug ...` prints."
    )


@click.group(
    cls=_Group,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="\b\n" + EXIT_TABLE,
)
@click.version_option(__version__, prog_name="tcpcheck")
@click.option(
    "--debug", is_flag=True, help="On an internal error, show the traceback (for a bug report)."
)
@click.option(
    "--z3-timeout",
    type=int,
    default=60_000,
    show_default=True,
    metavar="MS",
    help="Time limit of each Z3 call (0: none); running out gives unknown, never holds.",
)
@click.option(
    "--z3-rlimit",
    type=int,
    default=0,
    show_default=True,
    metavar="N",
    help="Resource limit of each Z3 call (0: none; reproducible across machines).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, z3_timeout: int, z3_rlimit: int) -> None:
    """Model checker and specification generator for TCP connection management.

    \b
    Examples:
      tcpcheck spec                      the RFC 9293 endpoint: states and transitions
      tcpcheck explore                   explore two endpoints over lossy channels
      tcpcheck explore --variant linux --ordering fifo --loss 1
      tcpcheck variants                  the overlays shipped with the spec

    Every command's exit status is in the table below.
    """
    from ..timed.solver import SolverLimits

    # The limits travel with the command (click's context), not as process state.  Z3
    # takes SIGINT itself during a call and cancels it; a Ctrl-C that lands as the call
    # is ending is then spent on nothing, and the run goes on.  With Z3's own handler
    # off (own_signals), every signal reaches _terminate, and _wake_z3 cancels the call.
    ctx.obj = SolverLimits(timeout_ms=z3_timeout, rlimit=z3_rlimit, own_signals=False)


#: Python code whose exceptions never reach the run: a finalizer's (``__del__``, as Z3's
#: objects have) is printed and ignored, and one raised while ctypes converts an
#: argument (Z3's ``from_param``) comes out as a ``ctypes.ArgumentError``.
_NOT_PROPAGATED = frozenset({"__del__", "from_param"})


def _lost_here(frame: FrameType | None) -> bool:
    """Would an exception raised in ``frame`` (the code a signal interrupted) fail to
    end the run as itself?"""
    while frame is not None:
        if frame.f_code.co_name in _NOT_PROPAGATED:
            return True
        frame = frame.f_back
    return False


def _terminate(signum: int, frame: FrameType | None) -> None:
    """End the run: raise Ctrl-C's KeyboardInterrupt, or :class:`Interrupted` for the
    other signals -- unless the signal landed where the exception would be lost or
    changed (:data:`_NOT_PROPAGATED`); then the signal is sent again a moment later."""
    if _lost_here(frame):
        threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
        return
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Interrupted(signum)


def _wake_z3(read_end: int) -> None:
    """Cancel the Z3 call under way when a signal arrives: without it, the signal would
    wait for the call to end (up to --z3-timeout) before Python could act on it.  The
    byte the signal writes to ``read_end`` arrives here at once, in this thread, while
    the main thread is still inside Z3."""
    while True:
        try:
            if not os.read(read_end, 1):
                return
        except OSError:
            return
        z3 = sys.modules.get("z3")  # loaded only by the commands that solve
        if z3 is not None:
            z3.main_ctx().interrupt()


def main() -> None:
    """Console-script entry point: Ctrl-C, SIGTERM and SIGHUP end a run (exit 128 + the
    signal, everything the run created removed)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    threading.Thread(target=_wake_z3, args=(read_end,), daemon=True).start()
    cli(prog_name="tcpcheck")
