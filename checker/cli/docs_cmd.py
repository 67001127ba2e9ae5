"""``tcpcheck docs``: the Markdown specification, the property report and the diagrams."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
from pathlib import Path

import click

from .app import cli
from .console import conclude, every, live
from .options import (
    output_options,
    pick_variants,
    solver_limits,
    suite_options,
    workers,
    workers_options,
)

__all__ = ["docs_cmd"]


@cli.command("docs")
@suite_options("Document")
@click.option(
    "--out",
    "docs_dir",
    default="docs",
    show_default=True,
    metavar="DIR",
    help="Where the Markdown goes.",
)
@click.option(
    "--diagrams",
    "diagrams_dir",
    default="diagrams",
    show_default=True,
    metavar="DIR",
    help="Where the diagrams go.",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME",
    help="Document only this variant ('base' for the spec itself); repeatable.",
)
@click.option("--png", is_flag=True, help="Also write a PNG copy of every diagram and chart.")
@workers_options()
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 with a summary when the files on disk differ.",
)
@output_options("Print JSON: every file generated (path, SHA-256) and, with --check, what differs.")
def docs_cmd(
    spec_file: Path | None,
    props_file: Path | None,
    docs_dir: str,
    diagrams_dir: str,
    variants: tuple[str, ...],
    png: bool,
    check_only: bool,
    workers_n: int | None,
    scheduler: str | None,
    as_json: bool,
) -> None:
    """Write the Markdown specification, the property report and the diagrams.

    The same input gives the same bytes, so a CI job can run `tcpcheck docs --check`
    and fail when the committed copies are stale (exit 1, with what differs).

    The suite on each variant and each synthesized region are independent jobs, run
    on --workers N local processes (default: one per core) or the workers of a Dask
    --scheduler; the files are the same bytes wherever they ran.

    `tcpcheck docs` writes the whole tree (docs/ and diagrams/, about a minute: the
    syntheses are most of it); one variant takes seconds.

    \b
    Examples:
      tcpcheck docs --out site/spec --diagrams site/img --variant linux
      tcpcheck docs --out site/spec --diagrams site/img --variant linux --check
    """
    from ..docs import compare, generate, write
    from ..jobs import open_pool

    chosen = pick_variants(spec_file, variants)
    if not check_only:
        # Before the minutes of work, not after: an output folder that cannot be made.
        for folder in (docs_dir, diagrams_dir):
            _can_make(Path(folder))
    with live(not as_json) as say, open_pool(workers(workers_n, scheduler), warmup=0.0) as pool:
        show = say if say is not None else (lambda _t: None) if as_json else every(30.0)
        if say is not None:
            say("generating the specification, the report and the diagrams")
        files = generate(
            chosen,
            spec_file=spec_file,
            props_file=props_file,
            docs_dir=docs_dir,
            diagrams_dir=diagrams_dir,
            png=png,
            limits=solver_limits(),
            pool=pool,
            progress=show,
        )
    report = compare(files) if check_only else []
    if not check_only:
        write(files)
    if as_json:
        listing = [
            {"path": str(rel), "sha256": hashlib.sha256(data).hexdigest()}
            for rel, data in sorted(files.items())
        ]
        doc = {"check": check_only, "ok": not report, "files": listing, "differences": report}
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    elif report:
        conclude(f"{len(report)} line(s) of difference: run `tcpcheck docs`")
        for line in report:
            conclude(line)
    elif check_only:
        conclude(f"up to date: {len(files)} files")
    else:
        conclude(f"wrote {len(files)} files under {docs_dir}/ and {diagrams_dir}/")
    if report:
        sys.exit(1)


def _can_make(folder: Path) -> None:
    """Raise the OSError that writing under ``folder`` would meet: its nearest existing
    ancestor is a file, or not writable."""
    for there in (folder, *folder.parents):
        if there.exists():
            if not there.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(there))
            if not os.access(there, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(there))
            return
