"""Every example in every ``--help`` runs as written: each command's examples, in order,
in a fresh folder (the files an example reads are what an earlier example wrote, or a
capture put there as ``capture.pcap``), with the exit status pinned."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from checker.cli import cli
from checker.export.storm import storm_missing

HERE = Path(__file__).resolve().parent
TCPCHECK = Path(sys.executable).with_name("tcpcheck")

#: Examples whose point is a status other than 0 (a difference to look at).
STATUS = {
    # The lasso of endless losses: the verdict differs from the expected one (exit 1).
    "tcpcheck check --property both-eventually-closed --no-fair-lossy": 1,
}

#: Commands whose examples need more than Python (conftest skips them without it).
MARKS = {
    "conform": pytest.mark.kernel,
    "crosscheck spin": pytest.mark.spin,
    "crosscheck storm": pytest.mark.skipif(
        storm_missing() is not None, reason=f"Storm is missing: {storm_missing()}"
    ),
}


def _commands() -> dict[str, click.Command]:
    ctx = click.Context(cli)
    found: dict[str, click.Command] = {}

    def walk(group: click.Group, prefix: str) -> None:
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            assert cmd is not None
            path = f"{prefix} {name}".strip()
            if isinstance(cmd, click.Group):
                walk(cmd, path)
            else:
                found[path] = cmd

    walk(cli, "")
    return found


def examples(cmd: click.Command) -> list[str]:
    """The example command lines of a command's help (continuation lines joined)."""
    text = cmd.help or ""
    _, _, tail = text.partition("Example")
    lines: list[str] = []
    for raw in tail.splitlines()[1:]:
        line = raw.strip()
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1].rstrip() + " " + line
        elif line.startswith("tcpcheck"):
            lines.append(line)
        elif line and not line.startswith("tcpcheck"):
            break
    return lines


COMMANDS = _commands()


def test_every_command_shows_examples() -> None:
    bare = [name for name, cmd in COMMANDS.items() if not examples(cmd)]
    assert not bare, f"commands without an example in --help: {bare}"
    assert "tcpcheck synth last-ack-not-stuck --param MSL=2 --param RTO=1 --param " in " ".join(
        examples(COMMANDS["synth"])
    )


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=MARKS.get(n, ())) for n in sorted(COMMANDS)]
)
def test_every_example_runs_as_written(name: str, tmp_path: Path) -> None:
    shutil.copy(HERE / "data" / "pcap" / "last-ack-gives-up-client.pcap", tmp_path / "capture.pcap")
    for line in examples(COMMANDS[name]):
        argv = shlex.split(line)
        assert argv[0] == "tcpcheck"
        run = subprocess.run(
            [str(TCPCHECK), *argv[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == STATUS.get(line, 0), f"{line}\n{run.stdout[-2000:]}\n{run.stderr}"
        assert "Traceback" not in run.stderr and "internal error" not in run.stderr, line
