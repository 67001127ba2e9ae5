"""The command line: JSON contracts, help with examples, exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bundled import BUNDLED_VARIANTS
from click.testing import CliRunner

from checker.cli import cli

COMMANDS = ["spec", "explore", "variants"]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_spec_json_contract() -> None:
    code, out = run("spec", "--json")
    assert code == 0
    data = json.loads(out)
    assert [s["name"] for s in data["states"]] == [
        "CLOSED",
        "LISTEN",
        "SYN-SENT",
        "SYN-RECEIVED",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "CLOSE-WAIT",
        "CLOSING",
        "LAST-ACK",
        "TIME-WAIT",
    ]
    assert all(s["description"] for s in data["states"])
    for t in data["transitions"]:
        assert {"from", "to", "event", "kind", "send", "ref"} <= set(t)
        assert t["kind"] in ("user", "segment", "timeout")
        assert all(seg in ("SYN", "SYN+ACK", "ACK", "FIN+ACK", "RST", "DATA") for seg in t["send"])
    note2 = [
        t
        for t in data["transitions"]
        if t["from"] == "FIN-WAIT-1" and t["event"] == "rcv FIN+ACK of FIN"
    ]
    assert note2 == [
        {
            "id": note2[0]["id"],
            "from": "FIN-WAIT-1",
            "to": "TIME-WAIT",
            "event": "rcv FIN+ACK of FIN",
            "kind": "segment",
            "send": ["ACK"],
            "ref": note2[0]["ref"],
        }
    ]
    assert "Note 2" in note2[0]["ref"]


def test_spec_json_of_a_variant_shows_its_rules() -> None:
    code, out = run("spec", "--variant", "linux", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["variant"] == "linux"
    fin2 = [t for t in data["transitions"] if t["event"] == "timeout FIN-WAIT-2"]
    assert fin2[0]["from"] == "FIN-WAIT-2" and fin2[0]["to"] == "CLOSED"
    assert fin2[0]["guard"] == "orphaned" and fin2[0]["variant"] == "linux"


def test_explore_json_contract() -> None:
    code, out = run("explore", "--ordering", "fifo", "--loss", "none", "--json")
    assert code == 0
    data = json.loads(out)
    assert {"states", "transitions", "depth", "deadlocks", "complete", "seconds"} <= set(data)
    assert (
        data["states"],
        data["transitions"],
        data["depth"],
        data["deadlocks"],
        data["complete"],
    ) == (266, 475, 21, 14, True)


def test_explore_bounded_run_is_marked_incomplete() -> None:
    code, out = run("explore", "--max-states", "50", "--json")
    assert code == 3
    data = json.loads(out)
    assert data["complete"] is False and data["limit"] == "max-states" and data["states"] == 50
    code, out = run("explore", "--max-states", "50")
    assert code == 3 and "NO — stopped (max-states); counts are partial" in out


def test_explore_text_lists_deadlocks() -> None:
    code, out = run("explore", "--b-close", "never")
    assert code == 0
    assert "Deadlock states" in out and "A=FIN-WAIT-2 B=CLOSE-WAIT" in out


def test_variants_lists_the_bundled_overlays() -> None:
    code, out = run("variants", "--json")
    assert code == 0
    assert [v["name"] for v in json.loads(out)["variants"]] == BUNDLED_VARIANTS


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_an_example(command: str) -> None:
    code, out = run(command, "--help")
    assert code == 0
    assert "Example" in out and f"tcpcheck {command}" in out


@pytest.mark.parametrize(
    "args",
    [
        ["explore", "--capacity", "0"],
        ["explore", "--loss", "sometimes"],
        ["explore", "--dup", "any"],
        ["explore", "--ordering", "lifo"],
        ["explore", "--max-states", "0"],
        ["explore", "--simultaneous-open", "--listen-send"],
        ["explore", "--variant", "nope"],
    ],
)
def test_impossible_options_exit_2_with_one_message(args: list[str]) -> None:
    code, out = run(*args)
    assert code == 2
    assert "Traceback" not in out


def test_console_script_runs_without_a_terminal(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("tcpcheck")
    proc = subprocess.run(
        [str(exe), "explore", "--loss", "1", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress display when stderr is not a terminal
    assert json.loads(proc.stdout)["states"] == 2638


def _stderr_on_a_terminal(args: list[str]) -> str:
    import os
    import pty

    exe = Path(sys.executable).with_name("tcpcheck")
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [str(exe), *args],
            stdout=subprocess.PIPE,
            stderr=slave,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    finally:
        os.close(slave)
    assert proc.returncode == 0
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


def test_progress_is_shown_on_a_terminal_and_silenced_by_quiet() -> None:
    assert "exploring" in _stderr_on_a_terminal(["explore", "--capacity", "3"])
    assert "exploring" not in _stderr_on_a_terminal(["explore", "--capacity", "3", "--quiet"])
    check = ["check", "--property", "closing-reachable", "--variant", "base"]
    assert "checking" in _stderr_on_a_terminal(check)
    assert "checking" not in _stderr_on_a_terminal([*check, "-q"])
    assert "exploring" in _stderr_on_a_terminal(
        ["graph", "--capacity", "3", "--format", "dot", "--out", "/dev/null"]
    )


def test_explore_overflow_drop_has_no_capacity_deadlocks() -> None:
    code, out = run(
        "explore", "--ordering", "fifo", "--loss", "none", "--overflow", "drop", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert (data["states"], data["capacity_deadlocks"]) == (18203, 0)
    assert data["config"]["overflow"] == "drop"


def test_every_product_option_reaches_the_configuration() -> None:
    """The product options are read by the one translation a suite's ``config`` table
    also goes through (ProductConfig.from_options): each option changes the product."""
    import click

    from checker.cli.options import product_options
    from checker.product.config import ProductConfig

    @click.command()
    @product_options
    def probe(**kw: object) -> None:
        """Only its options are used."""

    defaults = probe.make_context("probe", []).params  # as a command without options gets them
    assert ProductConfig.from_options(defaults) == ProductConfig()
    changed: dict[str, object] = {
        "capacity": 3,
        "ordering": "fifo",
        "loss": "1",
        "overflow": "drop",
        "duplication": "1",
        "a_close": "any",
        "b_close": "never",
        "a_abort": True,
        "b_abort": True,
        "simultaneous_open": True,
        "listen_send": True,
        "attacker": 1,
        "attack_kinds": "RST",
        "attack_states": "ESTABLISHED",
        "attack_exact": True,
    }
    assert set(changed) == set(defaults)
    for key, value in changed.items():
        assert ProductConfig.from_options({**defaults, key: value}) != ProductConfig(), key


def test_progress_off_a_terminal_is_a_throttled_plain_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Standard error that is not a terminal (a CI log) still shows a long job's progress,
    as plain lines at most once per period, never on standard output."""
    from checker.cli.console import every

    say = every(0.0)
    say("covering the parameter space: 3 tiles (1 violating)")
    say("covering the parameter space: 4 tiles (1 violating)")
    quiet = every(3600.0)
    quiet("not yet")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "covering the parameter space: 3 tiles (1 violating)",
        "covering the parameter space: 4 tiles (1 violating)",
    ]


@pytest.mark.parametrize(
    ("option", "name"), [("--properties", "props.toml"), ("--spec", "tcp.toml")]
)
def test_a_file_that_is_not_utf8_is_an_input_error(tmp_path: Path, option: str, name: str) -> None:
    """Invalid UTF-8 in a spec or a suite: one message naming the file and the byte."""
    bad = tmp_path / name
    bad.write_bytes(b'[[properties]]\nname = "caf\xe9"\n')
    got = CliRunner().invoke(cli, ["check", option, str(bad)])
    assert got.exit_code == 2 and "Traceback" not in got.output
    assert f"{name}: not UTF-8 text (byte 26: b'\\xe9')" in got.output


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--property", "closing-reachable", "--variant", "base", "--junit", "{x}/j.xml"],
        ["export", "promela", "-o", "{x}/m.pml"],
        ["graph", "--out", "{x}/g.dot"],
        ["docs", "--out", "{x}/docs", "--diagrams", "{x}/diagrams"],
    ],
)
def test_an_unwritable_output_path_is_an_input_error(tmp_path: Path, args: list[str]) -> None:
    """An output path under a missing folder (or a file where a folder should be): one
    message naming the path, exit 2."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    x = str(blocker / "sub")
    got = CliRunner().invoke(cli, [a.replace("{x}", x) for a in args])
    assert got.exit_code == 2, got.output
    assert "Traceback" not in got.output and str(blocker) in got.output


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--max-seconds", "nan"],
        ["check", "--max-states", "0"],
        ["check", "--max-states", "-3"],
        ["explore", "--max-seconds", "inf"],
        ["explore", "--max-states", "0"],
        ["synth", "last-ack-not-stuck", "--max-seconds", "0"],
        ["bound", "SYN-SENT", "--max-seconds", "-1"],
    ],
)
def test_a_limit_that_would_mean_no_limit_is_refused(args: list[str]) -> None:
    """nan, inf, 0 and negative limits are refused (they once meant "no limit" silently)."""
    got = CliRunner().invoke(cli, args)
    assert got.exit_code == 2 and "Traceback" not in got.output
    assert "--max-" in got.output


@pytest.mark.parametrize(
    ("param", "why"),
    [
        ("FIN_RETRIES=-1", "counts retransmissions"),
        ("SYN_RETRIES=0.5", "counts retransmissions"),
        ("RTO=0", "is a duration"),
        ("MSL=-2", "is a duration"),
        ("RTO=nan", "nan is not a value"),
    ],
)
def test_a_parameter_value_the_model_cannot_mean_is_refused(param: str, why: str) -> None:
    """Counts are whole numbers of at least 0 (or inf), durations above 0: RTO = 0 was
    accepted while MSL = 0 was refused, FIN_RETRIES = -1 or 0.5 accepted."""
    got = CliRunner().invoke(cli, ["explore", "--param", param])
    assert got.exit_code == 2 and why in got.output and "Traceback" not in got.output


@pytest.mark.parametrize(
    ("param", "why"),
    [
        ("BOGUS=1", "unknown parameter 'BOGUS'"),
        ("FIN_RETRIES=x", "'x' is not a number"),
        ("FIN_RETRIES=-1", "counts retransmissions"),
    ],
)
def test_export_with_a_property_checks_its_parameter_overrides(param: str, why: str) -> None:
    """--param on top of a property's own parameters is held to the spec as everywhere
    else (the property's own parameters are filtered to the variant's, these are not)."""
    args = ["export", "promela", "--property", "close-wait-leads-to-closed", "--param", param]
    got = CliRunner().invoke(cli, args)
    assert got.exit_code == 2 and why in got.output and "Traceback" not in got.output


def test_explore_loads_nothing_heavy_before_its_search() -> None:
    """Start-up stays small: up to the search, ``tcpcheck explore`` pulls in neither its
    output's nor the other commands' libraries (rich, Dask, networkx, Z3, scipy)."""
    script = (
        "import sys\n"
        "import checker.product.explore as e\n"
        "def spy(*args, **kwargs):\n"
        "    heavy = ['rich', 'distributed', 'dask', 'networkx', 'z3', 'scipy', 'numpy',\n"
        "             'matplotlib']\n"
        "    print(' '.join(m for m in heavy if m in sys.modules))\n"
        "    sys.exit(0)\n"
        "e.explore = spy\n"
        "from checker.cli import main\n"
        "sys.argv = ['tcpcheck', 'explore']\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert proc.stdout.strip() == ""


def test_spec_text_shows_the_guards_that_tell_rules_apart() -> None:
    """Two rules of one state and event differ by their guard: the text table shows it
    in a column of its own (a guard in brackets was once swallowed as rich markup)."""
    code, out = run("spec")
    assert code == 0
    header = next(line for line in out.splitlines() if "from" in line and "event" in line)
    assert [c.strip() for c in header.strip("┃│ ").split("┃")][:4] == [
        "from",
        "event",
        "guard",
        "to",
    ]
    rows = [
        [c.strip() for c in line.strip("│ ").split("│")]
        for line in out.splitlines()
        if line.startswith("│ SYN-RECEIVED │ rcv RST ")
    ]
    plain = [(r[2], r[3]) for r in rows if r[1] == "rcv RST"]
    assert plain == [("passive", "LISTEN"), ("active", "CLOSED")]
