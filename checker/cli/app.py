"""The ``tcpcheck`` group: global options, the console-script entry point, and the one
place where an error becomes a message and an exit status."""

from __future__ import annotations

from typing import Any

import click

from .. import __version__
from ..errors import TcpcheckError
from .console import err_console

__all__ = ["cli", "main"]


class _Group(click.Group):
    """Turns tcpcheck errors into one line and exit status 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TcpcheckError as exc:
            err_console().print(f"tcpcheck: error: {exc}", markup=False)
            ctx.exit(exc.exit_status)
        except OSError as exc:
            # The file system refused a path the user gave (an output folder that does
            # not exist, no permission, a full disk): an input error, not a bug.
            where = exc.filename if exc.filename is not None else "a file"
            why = exc.strerror or str(exc)
            err_console().print(
                f"tcpcheck: error: {where}: {why} (check the path and its folder)", markup=False
            )
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tcpcheck")
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
def cli(ctx: click.Context, z3_timeout: int, z3_rlimit: int) -> None:
    """Model checker and specification generator for TCP connection management.

    \b
    Examples:
      tcpcheck spec                      the RFC 9293 endpoint: states and transitions
      tcpcheck explore                   explore two endpoints over lossy channels
      tcpcheck explore --variant linux --ordering fifo --loss 1
      tcpcheck variants                  the overlays shipped with the spec
    """
    from ..timed.solver import SolverLimits

    # The limits travel with the command (click's context), not as process state.
    ctx.obj = SolverLimits(timeout_ms=z3_timeout, rlimit=z3_rlimit)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="tcpcheck")
