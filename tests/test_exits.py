"""Exit statuses, internal errors, memory and signals: every way a run can end says
which one it was (:mod:`checker.cli.exits`), and an ended run leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import click
import pytest
from click.testing import CliRunner

from checker.check.outcome import Outcome
from checker.check.properties import load_properties
from checker.check.verdicts import Verdict
from checker.cli import cli
from checker.cli.check_cmd import suite_status
from checker.cli.exits import EXIT_TABLE, Exit
from checker.model.load import load_spec
from checker.product.config import ProductConfig
from checker.product.explore import explore

EXE = Path(sys.executable).with_name("tcpcheck")


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


@pytest.mark.parametrize("path", list(_commands(cli)), ids=" ".join)
def test_every_help_ends_with_the_exit_table(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    for line in EXIT_TABLE.splitlines()[1:]:
        assert line.strip() in result.output


def test_the_group_help_and_the_readme_give_the_same_table() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for line in EXIT_TABLE.splitlines()[1:]:
        code, meaning = line.strip().split(None, 1)
        assert line.strip() in result.output
        assert f"| {code} | {meaning} |" in readme


def _boom(exc: BaseException) -> object:
    def raise_it(*args: object, **kwargs: object) -> object:
        raise exc

    return raise_it


def test_a_bug_is_exit_4_with_where_to_report_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("checker.cli.spec_cmds.load", _boom(ZeroDivisionError("oops")))
    result = CliRunner().invoke(cli, ["spec"])
    assert result.exit_code == Exit.INTERNAL
    assert "internal error: ZeroDivisionError: oops" in result.output
    assert "Reporting a bug" in result.output and "--debug" in result.output
    assert "Traceback" not in result.output
    # --debug lets it through, for the report.
    result = CliRunner().invoke(cli, ["--debug", "spec"])
    assert isinstance(result.exception, ZeroDivisionError)


def test_running_out_of_memory_is_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("checker.cli.spec_cmds.load", _boom(MemoryError()))
    result = CliRunner().invoke(cli, ["spec"])
    assert result.exit_code == Exit.INCOMPLETE
    assert "memory limit" in result.output and "Traceback" not in result.output


def test_ctrl_c_in_process_is_130(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("checker.cli.spec_cmds.load", _boom(KeyboardInterrupt()))
    result = CliRunner().invoke(cli, ["spec"])
    assert result.exit_code == Exit.INTERRUPTED
    assert "interrupted (SIGINT)" in result.output


@pytest.mark.parametrize("stop", [MemoryError, KeyboardInterrupt])
def test_a_stopped_exploration_is_a_truthful_partial_graph(
    stop: type[BaseException],
) -> None:
    calls = []

    def progress(states: int, transitions: int, depth: int) -> None:
        calls.append(states)
        if len(calls) == 2:
            raise stop

    spec = load_spec(variant="linux")
    got = explore(spec, ProductConfig(capacity=3), progress=progress, interruptible=True)
    assert not got.complete
    assert got.limit == ("memory" if stop is MemoryError else "interrupted")
    assert got.states >= calls[-1]
    # Every recorded edge has its label and leads to a known state.
    assert len(got.lbl) == len(got.dst) == got.offsets[-1]
    assert max(got.dst) < got.states
    assert f"{got.limit}, after {got.states:,} states" == got.stopped()


def test_an_uninterruptible_exploration_lets_ctrl_c_through() -> None:
    def progress(states: int, transitions: int, depth: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        explore(load_spec(variant="linux"), ProductConfig(capacity=3), progress=progress)


def test_a_check_stopped_by_a_limit_is_exit_3_not_1() -> None:
    args = ["check", "--property", "close-wait-leads-to-closed", "--variant", "base"]
    result = CliRunner().invoke(cli, [*args, "--max-states", "5000"])
    assert result.exit_code == Exit.INCOMPLETE, result.output
    assert "exploration incomplete (max-states, after 5,000 states)" in result.output


def test_a_difference_outranks_an_unknown() -> None:
    prop = load_properties()[0]

    def verdict(got: Outcome, expected: Outcome) -> Verdict:
        return Verdict(prop, None, got, expected, (), None, "")

    holds, unknown, violated = Outcome.HOLDS, Outcome.UNKNOWN, Outcome.VIOLATED
    assert suite_status([verdict(holds, holds)]) == Exit.OK
    assert suite_status([verdict(unknown, holds), verdict(holds, holds)]) == Exit.INCOMPLETE
    assert suite_status([verdict(unknown, holds), verdict(violated, holds)]) == Exit.DIFFERS


# ------------------------------------------------------------ signals, end to end ---


def _started(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``tcpcheck args`` once its signal handling is in place (its main() starts a
    second thread: the one that cancels a Z3 call on a signal)."""
    proc = subprocess.Popen(
        [str(EXE), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        if int(status.split("Threads:")[1].split()[0]) >= 2:
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("tcpcheck did not start")


def _stop(proc: subprocess.Popen[str], signum: int, after: float) -> tuple[int, str, str]:
    time.sleep(after)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_ctrl_c_stops_an_exploration_with_its_counts_so_far() -> None:
    proc = _started(["explore", "--variant", "linux", "--capacity", "5", "--quiet"])
    code, out, err = _stop(proc, signal.SIGINT, 1.5)
    assert code == 130, err
    assert "stopped (interrupted); counts are partial" in out
    assert "Traceback" not in out + err


def test_ctrl_c_stops_a_synthesis_with_its_tiles_so_far() -> None:
    args = ["synth", "last-ack-not-stuck", "--free", "TIME_WAIT", "--free", "MSL"]
    proc = _started([*args, "--free", "RTO"])
    code, out, err = _stop(proc, signal.SIGINT, 4)
    assert code == 130, err
    assert "unknown: interrupted;" in out and "tiles found" in out
    assert "Traceback" not in out + err


def test_sigterm_stops_a_synthesis_on_a_cluster_and_its_workers() -> None:
    """The local Dask cluster a synthesis starts (after a few seconds of jobs here) is
    torn down with the run: no worker, nanny or helper process outlives it."""
    args = ["synth", "last-ack-not-stuck", "--param", "FIN_RETRIES=4", "--workers", "2"]
    proc = _started(args)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_session(proc.pid)) < 3:
        time.sleep(0.2)  # the run, and the cluster's processes once it is up
    assert len(_session(proc.pid)) >= 3, "the cluster did not start"
    code, out, err = _stop(proc, signal.SIGTERM, 1)
    assert code == 143, err
    assert "Traceback" not in out + err
    time.sleep(0.5)
    assert _session(proc.pid) == []


def _session(sid: int) -> list[str]:
    """The processes still running in session ``sid`` (one that has ended and waits for
    init to reap it -- its parent was a killed worker -- is not running)."""
    got = subprocess.run(["ps", "-o", "pid=,cmd=", "-s", str(sid)], capture_output=True, text=True)
    return [line for line in got.stdout.splitlines() if line.strip() and "<defunct>" not in line]


def test_sigterm_stops_a_suite_with_the_verdicts_so_far() -> None:
    proc = _started(["check"])
    code, out, err = _stop(proc, signal.SIGTERM, 4)
    assert code == 143, err
    assert "interrupted (SIGTERM) after" in err and "checks, " in out
    assert "Traceback" not in out + err


def _leftovers(tmp: Path) -> list[str]:
    """What a run left: files in its temp folder, processes working inside it."""
    left = [str(p) for p in tmp.iterdir()]
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(tmp) in os.readlink(proc / "cwd"):
                left.append(f"process {proc.name}: {(proc / 'cmdline').read_bytes()!r}")
        except OSError:
            continue
    return left


@pytest.mark.spin
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_a_spin_crosscheck_leaving_nothing(tmp_path: Path, signum: int) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = _started(["crosscheck", "spin"], env)
    deadline = time.monotonic() + 60
    while not list(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)  # until SPIN runs in its scratch folder
    code, out, err = _stop(proc, signum, 0.5)
    assert code == 128 + signum, err
    assert "Traceback" not in out + err
    time.sleep(0.5)
    assert _leftovers(tmp_path) == []


@pytest.mark.spin
def test_sigterm_ends_a_spin_crosscheck_on_workers_leaving_nothing(tmp_path: Path) -> None:
    """SPIN's runs in the workers of a local cluster, their scratch folders and the
    workers' own are all gone with the run."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    args = ["crosscheck", "spin", "--workers", "2", "--capacity", "1", "--loss", "none"]
    proc = _started(args, env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not list(tmp_path.glob("*/tcpcheck-spin-*")):
        time.sleep(0.1)  # until a worker runs SPIN in the run's scratch folder
    assert list(tmp_path.glob("*/tcpcheck-spin-*")), "no SPIN run started on the workers"
    code, out, err = _stop(proc, signal.SIGTERM, 0.5)
    assert code == 143, err
    assert "Traceback" not in out + err
    time.sleep(0.5)
    assert _leftovers(tmp_path) == []
    assert _session(proc.pid) == []


@pytest.mark.kernel
def test_sigterm_ends_a_conformance_run_leaving_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = _started(["conform"], env)
    tag = f"tcpck-c-{proc.pid}-"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        if tag in names:
            break
        time.sleep(0.05)
    code, out, err = _stop(proc, signal.SIGTERM, 1.0)
    assert code == 143, err
    assert "Traceback" not in out + err
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"-{proc.pid}-" not in names
    tcpdumps = subprocess.run(["pgrep", "-a", "tcpdump"], capture_output=True, text=True).stdout
    assert str(tmp_path) not in tcpdumps
    assert _leftovers(tmp_path) == []


def _capped(megabytes: int) -> None:
    import resource

    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["explore", "--variant", "linux", "--capacity", "5", "--quiet"], "stopped (memory)"),
        (
            ["check", "--property", "both-eventually-closed", "--variant", "linux",
             "--config", "capacity=5"],
            "exploration incomplete (memory, after",
        ),
    ],
)  # fmt: skip
def test_a_search_under_a_memory_cap_reports_a_limit(args: list[str], says: str) -> None:
    """Under a 500 MB address-space cap a big search runs out of memory: a limit, with
    how far it got (it was a MemoryError traceback, or OpenBLAS aborting at import)."""
    proc = subprocess.run(
        [str(EXE), *args],
        capture_output=True,
        text=True,
        preexec_fn=lambda: _capped(500),
        timeout=300,
        check=False,
    )
    assert proc.returncode == Exit.INCOMPLETE, proc.stdout + proc.stderr
    assert says in " ".join(proc.stdout.split())
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_signal_landing_in_a_finalizer_is_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python prints and ignores an exception raised in ``__del__`` (Z3's objects have
    one): a Ctrl-C landing there once let a synthesis run on.  It is redelivered instead."""
    from checker.cli import app

    def __del__() -> object:  # a frame that looks like a finalizer's
        return sys._getframe()

    timers: list[tuple[object, ...]] = []

    class Timer:
        def __init__(self, delay: float, function: object, args: tuple[object, ...]) -> None:
            timers.append((delay, function, args))

        def start(self) -> None:
            pass

    monkeypatch.setattr("threading.Timer", Timer)
    frame = __del__()
    assert app._terminate(signal.SIGINT, frame) is None  # type: ignore[arg-type,func-returns-value]
    assert timers == [(0.05, os.kill, (os.getpid(), signal.SIGINT))]
    with pytest.raises(KeyboardInterrupt):
        app._terminate(signal.SIGINT, sys._getframe())
    with pytest.raises(app.Interrupted):
        app._terminate(signal.SIGTERM, None)


def test_a_signal_is_sent_again_where_its_exception_would_be_lost() -> None:
    """An exception raised in a finalizer is ignored, and one raised in an argument's
    conversion comes out as ``ctypes.ArgumentError``: the handler defers there."""
    from checker.cli.app import _lost_here

    def from_param() -> FrameType:
        return sys._getframe()

    def __del__() -> FrameType:
        return inner()

    def inner() -> FrameType:
        return sys._getframe()

    assert _lost_here(from_param())
    assert _lost_here(__del__())
    assert not _lost_here(inner())
    assert not _lost_here(None)
