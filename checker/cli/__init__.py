"""The ``tcpcheck`` command line: a thin layer over the library's functions.

Every command takes ``--spec FILE`` (a spec of your own, or an overlay on the bundled
one), ``--variant NAME`` and ``--json``.  A mistake in the input -- a malformed spec, an
unknown name, an impossible option -- prints one message and exits with status 2.

A command reads its options (:mod:`~checker.cli.options`), calls the library and prints
(:mod:`~checker.cli.console`); what it computes lives below this package, callable from
Python.  The group and its error handling are in :mod:`~checker.cli.app`; the commands
are one module per family:

- ``spec``, ``variants``: :mod:`~checker.cli.spec_cmds`
- ``explore``, ``graph``: :mod:`~checker.cli.explore_cmds`
- ``check``: :mod:`~checker.cli.check_cmd`
- ``synth``, ``bound``: :mod:`~checker.cli.timed_cmds`
- ``export promela``, ``crosscheck spin``: :mod:`~checker.cli.export_cmds`
- ``docs``: :mod:`~checker.cli.docs_cmd`
- ``conform``: :mod:`~checker.cli.conform_cmd`
"""

from __future__ import annotations

# The commands' modules are imported when a command is looked up (app.COMMANDS).
from .app import COMMANDS, cli, main

__all__ = ["COMMANDS", "cli", "main"]
