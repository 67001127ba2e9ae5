"""Generated bad input for the command line, shared by the fuzz test
(``tests/test_fuzz.py``, bounded, in the suite) and the long fuzz run
(``benchmarks/fuzz.py``, 10,000 inputs and more).

Each family turns a :class:`random.Random` into a :class:`Case`: the files to write (a
spec overlay, a property suite, a capture, mutated from the bundled ones or made up) and
the command line to run on them.  :func:`run_case` runs it in-process, in a folder of its
own, under a time limit, and sorts what happened into an :class:`Outcome`:

- ``ok``, ``differs``, ``input-error``, ``incomplete`` -- an exit status in the table;
- ``traceback`` -- an exception escaped the command line (a bug);
- ``bad-exit`` -- an exit status outside the table;
- ``unnamed`` -- an input error whose message does not name the file at fault;
- ``hang`` -- the run went past its time limit;
- ``escaped`` -- a file written outside the case's folder, or left in the temp folder.
"""

from __future__ import annotations

import os
import random
import re
import signal
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import click
from click.testing import CliRunner

from checker.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec"
PCAPS = sorted((ROOT / "tests" / "data" / "pcap").glob("*.pcap"))

#: The exit statuses of the table (checker.cli.exits), by outcome name.
STATUSES = {0: "ok", 1: "differs", 2: "input-error", 3: "incomplete", 130: "interrupted"}
#: Limits every generated run carries, so that a valid input stays quick.
LIMITS = ["--max-states", "3000", "--max-seconds", "4"]


@dataclass
class Case:
    """One generated input: its family, files (name -> bytes) and command line; ``{dir}``
    in an argument stands for the case's folder."""

    family: str
    args: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    #: The file an input error must name (its name; the folder is the case's).
    blamed: str | None = None
    z3_timeout: int = 2000

    def argv(self, folder: Path) -> list[str]:
        return ["--z3-timeout", str(self.z3_timeout)] + [
            a.replace("{dir}", str(folder)) for a in self.args
        ]


@dataclass(frozen=True)
class Outcome:
    kind: str
    exit_code: int | None
    detail: str

    @property
    def bad(self) -> bool:
        return self.kind in ("traceback", "bad-exit", "unnamed", "hang", "escaped")


# ------------------------------------------------------------------ mutations ---

_VALUES: list[Callable[[random.Random], str]] = [
    lambda r: str(r.randint(-5, 300)),
    lambda r: r.choice(["1e9", "1.5", "-0.0", "nan", "inf", "-inf", "0"]),
    lambda r: "9" * r.choice([20, 401, 4000]),
    lambda r: r.choice(['"2"', '"no"', '""', '"../../../x"', '"/abs"', '"\\u0000"']),
    lambda r: r.choice(["true", "false"]),
    lambda r: r.choice(["[]", "{}", "[1, 2]", "{ a = 1 }", '["TIME-WAIT"]']),
    lambda r: "[" * r.choice([10, 300, 1200]) + "]" * r.choice([10, 300, 1200]),
    lambda r: '"' + "(" * r.choice([5, 100, 500]) + "MSL" + ")" * r.choice([5, 100, 500]) + '"',
    lambda r: '"' + r.choice(["not ", "-", "2^"]) * r.choice([10, 100, 1500]) + 'true"',
    lambda r: '"' + _soup(r, _FORMULA_WORDS, r.randint(1, 30)) + '"',
    lambda r: '"' + _soup(r, _EXPR_WORDS, r.randint(1, 30)) + '"',
    lambda r: '"' + r.choice(["CLOSE-WAITT", "FIN-WAIT-3", "LISTEN", "TIME-WAIT", "x"]) + '"',
]
_FORMULA_WORDS: tuple[str, ...] = (
    "A", "B", "=", "!=", "in", "CLOSED", "LISTEN", "ESTABLISHED", "TIME-WAIT", "FIN-WAIT-2",
    "and", "or", "not", "->", "~>", "(", ")", "{", "}", ",", "inflight", "empty", "true",
    "false", "SYN", "FIN+ACK", "RST", "leaves", "only", "by", "enters", "accepts", "@", "∞",
)  # fmt: skip
_EXPR_WORDS: tuple[str, ...] = (
    "MSL", "RTO", "TIME_WAIT", "2", "0.5", "+", "-", "*", "/", "^", "**", "(", ")", "1e308",
    "x", "0",
)  # fmt: skip


def _soup(r: random.Random, words: tuple[str, ...], n: int) -> str:
    return " ".join(r.choice(words) for _ in range(n))


def _mutate_toml(r: random.Random, text: str) -> bytes:
    """One to three edits of a TOML text: a value replaced (any type, deep, huge), a line
    deleted, duplicated or cut, a key renamed, bytes that are not UTF-8 inserted."""
    lines = text.splitlines()
    for _ in range(r.randint(1, 3)):
        if not lines:
            lines = [""]
        i = r.randrange(len(lines))
        what = r.randrange(7)
        if what <= 2 and "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {r.choice(_VALUES)(r)}"
        elif what == 3:
            del lines[i]
        elif what == 4:
            lines.insert(i, lines[i])
        elif what == 5 and "=" in lines[i]:
            key, rest = lines[i].split("=", 1)
            lines[i] = key.strip()[:-1] + r.choice(["x", "_", "", "é"]) + " =" + rest
        else:
            cut = r.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:cut]
    data = ("\n".join(lines) + "\n").encode()
    if r.random() < 0.05:
        at = r.randrange(len(data) + 1)
        data = data[:at] + bytes([r.choice([0xFF, 0xC3, 0x80, 0x00])]) + data[at:]
    return data


def _blocks(text: str) -> list[str]:
    """The ``[[properties]]`` tables of a suite, each as text."""
    parts = re.split(r"(?m)^\[\[properties\]\]\s*$", text)
    return ["[[properties]]" + p for p in parts[1:]]


_SUITE_BLOCKS = _blocks((SPEC / "properties.toml").read_text(encoding="utf-8"))
_OVERLAYS = sorted((SPEC / "variants").glob("*.toml"))


# ------------------------------------------------------------------- families ---


def overlay_case(r: random.Random) -> Case:
    text = r.choice(_OVERLAYS).read_text(encoding="utf-8")
    command = r.choice([["spec"], ["explore", *LIMITS], ["graph", "--view", "states", *LIMITS]])
    args = [*command, "--spec", "{dir}/overlay.toml"]
    return Case("overlay", args, {"overlay.toml": _mutate_toml(r, text)}, "overlay.toml")


def suite_case(r: random.Random) -> Case:
    chosen = r.sample(_SUITE_BLOCKS, r.randint(1, 2))
    text = "\n".join(chosen)
    args = ["check", "--properties", "{dir}/suite.toml", "--variant", "base", *LIMITS]
    return Case("suite", args, {"suite.toml": _mutate_toml(r, text)}, "suite.toml")


def formula_case(r: random.Random) -> Case:
    kind = r.choice(["invariant", "reachable", "eventually", "leads-to", "path", "timed-never"])
    words = _FORMULA_WORDS
    formula = _soup(r, words, r.randint(1, 25)).replace('"', "")
    if r.random() < 0.1:
        formula = r.choice(["(", "not ", "- "]) * r.choice([70, 400, 1100]) + "true"
    body = (
        f'[[properties]]\nname = "fz"\nkind = "{kind}"\nformula = "{formula}"\n'
        'description = "d"\nref = "r"\nexpected = { base = "holds" }\n'
    )
    args = ["check", "--properties", "{dir}/suite.toml", "--variant", "base", *LIMITS]
    return Case("formula", args, {"suite.toml": body.encode()}, "suite.toml")


def expression_case(r: random.Random) -> Case:
    name = r.choice(["TIME_WAIT", "MSL", "RTO", "FIN_RETRIES"])
    value = _soup(r, _EXPR_WORDS, r.randint(1, 25))
    if r.random() < 0.1:
        value = r.choice(["(", "-", "2^"]) * r.choice([70, 300, 1100]) + "MSL"
    unit = "count" if name == "FIN_RETRIES" else "s"
    body = (
        '[variant]\nname = "fz"\ndescription = "d"\nref = "r"\n\n'
        f'[parameters.{name}]\nvalue = "{value}"\nunit = "{unit}"\ndescription = "d"\n'
        'ref = "r"\n'
    )
    args = [r.choice(["spec", "explore"]), "--spec", "{dir}/overlay.toml", *LIMITS[:2]]
    if args[0] == "spec":
        args = args[:3]
    return Case("expression", args, {"overlay.toml": body.encode()}, "overlay.toml")


_PARAMS = ["FIN_RETRIES", "SYN_RETRIES", "MSL", "RTO", "TIME_WAIT", "NOPE", "msl", ""]
_NUMBERS = ["0", "-1", "0.5", "1", "2", "3", "1e9", "100000", "nan", "inf", "-inf", "x", "",
            "1e400", "300"]  # fmt: skip
#: Values to try per option, the valid ones first; an option not named here gets
#: :data:`_ANY`.  Each value is valid about half the time.
_VALUES_OF: dict[str, list[str]] = {
    "--variant": ["linux", "base", "rfc1337", "no-time-wait", "lnux", "", "../x"],
    "--capacity": ["1", "2", "3", "0", "-1", "x", "99"],
    "--loss": ["none", "any", "0", "1", "2", "16", "-1", "many"],
    "--dup": ["none", "1", "2", "any", "x"],
    "--ordering": ["fifo", "unordered", "lifo"],
    "--overflow": ["block", "drop", "x"],
    "--a-close": ["first", "after-peer", "any", "never", "later"],
    "--b-close": ["first", "after-peer", "any", "never", "later"],
    "--max-states": ["50", "2000", "1", "0", "-3", "x", "1e3"],
    "--max-seconds": ["0.5", "2", "0", "-1", "nan", "inf", "x"],
    "--max-nodes": ["10", "500", "0", "-1", "x"],
    "--property": ["both-eventually-closed", "last-ack-not-stuck", "no-such", "", "../x"],
    "--free": ["TIME_WAIT", "MSL", "RTO", "FIN_RETRIES", "NOPE", ""],
    "--losses": ["0,1", "0", "x", "-1", "1,,2", "99"],
    "--config": ["capacity=3", "a_abort=true", "overflow=drop", "capacity=x", "x=1", "loss"],
    "--view": ["auto", "whole", "states", "around", "x"],
    "--start": ["B = LAST-ACK", "A = TIME-WAIT and B = LAST-ACK", "B = NOPE", "((", ""],
    "--endpoint": ["A", "B", "C"],
    "--peer": ["A", "B", "C"],
    "--deadlocks": ["0", "3", "-1", "x"],
    "--spec": ["{dir}/missing.toml", "/proc/self/status", "{dir}", "/dev/null"],
    "--properties": ["{dir}/missing.toml", "/dev/null", "/proc/self/status"],
    "--junit": ["{dir}/r.xml", "{dir}/no/r.xml", "/proc/r.xml"],
    "--out": ["{dir}/g.dot", "{dir}/none/g.dot", "/proc/nope/g.dot"],
    "-o": ["{dir}/m.pml", "{dir}/no/m.pml", "/proc/m"],
}
_ANY = ["1", "0", "x", "", "-1", "nan", "{dir}/f"]
#: The commands to fuzz, with their positional arguments' choices.  Not ``docs`` (it
#: checks the whole suite and synthesizes: minutes), nor ``conform`` without a capture
#: or ``crosscheck spin`` (the kernel lab, SPIN): the other families and the signal
#: tests cover those.
_COMMANDS: dict[tuple[str, ...], list[list[str]]] = {
    ("spec",): [],
    ("variants",): [],
    ("explore",): [],
    ("graph",): [],
    ("check",): [],
    ("simulate",): [],
    ("export", "promela"): [],
    ("synth",): [["last-ack-not-stuck", "no-such", "both-eventually-closed", ""]],
    ("bound",): [["LAST-ACK", "TIME-WAIT", "FIN-WAIT-2", "NOPE", ""]],
}
#: Limits put last (the last value of an option wins) so that a valid run stays short.
_BOUNDS = {
    "explore": LIMITS,
    "check": LIMITS,
    "synth": ["--max-seconds", "3"],
    "bound": ["--max-seconds", "3"],
    "graph": LIMITS,
    "simulate": ["--max-steps", "30"],
}


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None, name
        command = found
    return command


def cli_case(r: random.Random) -> Case:
    path = r.choice(sorted(_COMMANDS))
    args = list(path) + [r.choice(choices) for choices in _COMMANDS[path]]
    options = [p for p in _command(path).params if isinstance(p, click.Option)]
    for _ in range(r.randint(0, 5)):
        option = r.choice(options)
        name = option.opts[0]
        if option.is_flag:
            args.append(name)
        elif name == "--param":
            args += [name, f"{r.choice(_PARAMS)}={r.choice(_NUMBERS)}"]
        else:
            args += [name, r.choice(_VALUES_OF.get(name, _ANY))]
    args += _BOUNDS.get(path[0], [])
    return Case("cli", args)


def pcap_case(r: random.Random) -> Case:
    data = bytearray(r.choice(PCAPS).read_bytes())
    what = r.randrange(6)
    if what == 0:
        data = data[: r.randrange(len(data))]
    elif what == 1:
        for _ in range(r.randint(1, 20)):
            data[r.randrange(len(data))] = r.randrange(256)
    elif what == 2:  # a record's caplen
        at = 24 + 8
        data[at : at + 4] = r.choice([0, 1, 65535, 2**31, 2**32 - 1]).to_bytes(4, "little")
    elif what == 3:  # the link type
        data[20:24] = r.choice([0, 1, 101, 113, 276, 9999]).to_bytes(4, "little")
    elif what == 4:
        data = bytearray(r.randbytes(r.randrange(200)))
    else:
        data[:4] = r.randbytes(4)
    args = ["conform", "--pcap", "{dir}/cap.pcap", "--variant", r.choice(["linux", "base"])]
    if r.random() < 0.2:
        args += ["--client", r.choice(["10.77.0.1:1", "x", "1.2.3.4:99999"])]
    return Case("pcap", args, {"cap.pcap": bytes(data)}, "cap.pcap")


FAMILIES: dict[str, Callable[[random.Random], Case]] = {
    "overlay": overlay_case,
    "suite": suite_case,
    "formula": formula_case,
    "expression": expression_case,
    "cli": cli_case,
    "pcap": pcap_case,
}


# ---------------------------------------------------------------------- runs ---


class _Hang(BaseException):
    """Raised by the alarm: a run past its time limit."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Hang


def _listing(folder: Path) -> set[str]:
    return {str(p) for p in folder.rglob("*")}


def run_case(case: Case, folder: Path, seconds: int = 60) -> Outcome:
    """Run ``case`` in ``folder`` (created empty; the working folder meanwhile), with
    the temp folder pointed inside it, under an alarm of ``seconds``."""
    folder.mkdir(parents=True, exist_ok=True)
    work = folder / "work"
    work.mkdir()
    scratch = folder / "tmp"
    scratch.mkdir()
    for name, data in case.files.items():
        (work / name).write_bytes(data)
    outside = folder.parent
    before = {p.name for p in outside.iterdir()}
    old_cwd, old_tmp = os.getcwd(), tempfile.tempdir
    old_handler = signal.signal(signal.SIGALRM, _alarm)
    os.chdir(work)
    tempfile.tempdir = str(scratch)
    try:
        signal.alarm(seconds)
        try:
            result = CliRunner().invoke(cli, case.argv(work))
        finally:
            signal.alarm(0)
    except _Hang:
        return Outcome("hang", None, f"over {seconds} s")
    finally:
        os.chdir(old_cwd)
        tempfile.tempdir = old_tmp
        signal.signal(signal.SIGALRM, old_handler)
    out = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exc = result.exception
        return Outcome("traceback", result.exit_code, f"{type(exc).__name__}: {exc}"[:300])
    if "Traceback" in out:
        return Outcome("traceback", result.exit_code, out[-300:])
    left = _listing(scratch)
    grown = {p.name for p in outside.iterdir()} - before
    if left or grown:
        return Outcome("escaped", result.exit_code, f"{sorted(left | grown)[:3]}")
    if result.exit_code not in STATUSES:
        return Outcome("bad-exit", result.exit_code, out[-300:])
    # An input error must name the file; a bad command-line option names itself.
    named = case.blamed is None or case.blamed in out or "--" in out or "Usage:" in out
    if result.exit_code == 2 and not named:
        return Outcome("unnamed", 2, out[-300:])
    return Outcome(STATUSES[result.exit_code], result.exit_code, out[-200:])
