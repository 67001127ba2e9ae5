"""``--json`` and ``-q/--quiet`` on every command, and what each gives."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from checker.cli import cli

SMALL = ["--loss", "none", "--ordering", "fifo", "--capacity", "1"]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    ctx = click.Context(group)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


COMMANDS = _commands(cli)


def test_every_command_is_listed() -> None:
    assert {"check", "docs", "graph", "spec", "variants", "conform"} <= {c[0] for c in COMMANDS}
    assert ("export", "promela") in COMMANDS and ("crosscheck", "spin") in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_takes_json_and_quiet(command: tuple[str, ...]) -> None:
    code, out = run(*command, "--help")
    assert code == 0
    assert "--json" in out
    assert "-q, --quiet" in out


def test_quiet_leaves_the_conclusion() -> None:
    code, out = run("spec", "-q")
    assert (code, out.count("\n")) == (0, 1)
    assert "11 states" in out
    code, out = run("variants", "--quiet")
    assert (code, out.count("\n")) == (0, 1)
    assert out.startswith("7 variants: linux,")
    code, out = run("explore", *SMALL, "-q")
    assert (code, out.count("\n")) == (0, 1)
    assert out.endswith("complete\n")
    code, out = run("explore", *SMALL, "-q", "--max-states", "10")
    assert code == 3
    assert "stopped (max-states)" in out
    code, out = run("check", "--property", "closing-reachable", "--variant", "base", "-q")
    assert (code, out) == (0, "1 checks, 0 unexpected\n")


def test_quiet_check_names_what_differs(tmp_path: Path) -> None:
    suite = tmp_path / "wrong.toml"
    suite.write_text(
        '[[properties]]\nname = "wrong"\nkind = "reachable"\nexists = true\n'
        'formula = "A = CLOSING"\nconfig = { b_close = "first" }\n'
        'description = "Wrong on purpose."\nref = "RFC 9293 §3.6"\n'
        'expected = { default = "violated" }\n',
        encoding="utf-8",
    )
    code, out = run("check", "--properties", str(suite), "--variant", "base", "-q")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("wrong on base: holds, expected violated — ")
    assert lines[1:] == ["1 checks, 1 unexpected"]


def test_graph_json_summarises_what_out_got(tmp_path: Path) -> None:
    out_file = tmp_path / "g.graphml"
    code, out = run("graph", *SMALL, "--out", str(out_file), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["out"] == str(out_file) and data["format"] == "graphml"
    assert data["complete"] is True and data["states"] > 0
    assert out_file.read_text(encoding="utf-8").count("<node ") == data["states"]
    code, out = run("graph", *SMALL, "--json")
    assert code == 2
    assert "--out FILE" in out
    code, out = run("graph", *SMALL, "--out", str(tmp_path / "g.dot"), "-q")
    assert code == 0
    assert out == f"wrote {tmp_path / 'g.dot'} (whole view, {data['states']} states explored)\n"


def test_export_json_summarises_the_model(tmp_path: Path) -> None:
    out_file = tmp_path / "m.pml"
    code, out = run("export", "promela", *SMALL, "-o", str(out_file), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["moves"] == out_file.read_text(encoding="utf-8").count("d_step") > 0
    code, out = run("export", "promela", *SMALL, "--json")
    assert code == 2


def test_docs_json_lists_what_it_wrote(tmp_path: Path) -> None:
    docs, diagrams = tmp_path / "d", tmp_path / "i"
    small = Path(__file__).resolve().parent / "data" / "junit_suite.toml"
    args = ["docs", "--variant", "base", "--properties", str(small)]
    args += ["--out", str(docs), "--diagrams", str(diagrams)]
    code, out = run(*args, "--json", "--workers", "1")
    assert code == 0
    data = json.loads(out)
    assert data["ok"] is True and data["check"] is False and data["differences"] == []
    for entry in data["files"]:
        written = Path(entry["path"])
        assert hashlib.sha256(written.read_bytes()).hexdigest() == entry["sha256"]
    (docs / "specification.md").write_text("stale\n", encoding="utf-8")
    code, out = run(*args, "--json", "--workers", "1", "--check")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and any("specification.md" in d for d in data["differences"])


def test_the_readme_table_has_every_command() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("| command | `--json` prints | `-q` leaves | progress |\n", 1)[1]
    rows = table.split("\n\n", 1)[0].splitlines()[1:]
    listed = {row.split("`")[1] for row in rows}
    assert listed == {" ".join(c) for c in COMMANDS}
