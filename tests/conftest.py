from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from checker.check.properties import load_properties
from checker.check.verdicts import Verdict
from checker.docs import synthesis_for
from checker.model.load import load_spec
from checker.model.spec import Spec
from checker.suite import run_suite, suite_variants
from checker.timed.synth import Synthesis

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"


#: Markers of the tests that need more than Python, and what each needs.
NEEDS = {
    "kernel": "root and the namespace tools (ip, ss, nft, tcpdump): drives this machine's TCP",
    "spin": "SPIN and a C compiler (spin, cc, tcc)",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, needs in NEEDS.items():
        config.addinivalue_line("markers", f"{name}: needs {needs}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with the reason, the marked tests whose tools this machine lacks; deselect
    them all at once with ``-m "not kernel and not spin"``."""
    from checker.export.spin import missing_tools
    from checker.kernel.lab import missing

    lacking = {"kernel": missing(), "spin": missing_tools()}
    for item in items:
        for name, tools in lacking.items():
            if tools and item.get_closest_marker(name) is not None:
                reason = f"needs {', '.join(tools)} ({NEEDS[name]})"
                item.add_marker(pytest.mark.skip(reason=reason))


#: Tests that run one after another on one pytest-xdist worker, by node id prefix: the
#: kernel scenarios share the lab's namespace names and addresses; the tests reading
#: the bundled suite's verdicts and regions (session fixtures below) share one
#: computation of them.  Every other test goes to whichever worker is free.
SHARED_WORKER = {
    "kernel": (
        "tests/test_kernel_scenarios.py",
        "tests/test_netlab.py",
        "tests/test_exits.py::test_sigterm_ends_a_conformance",
        "tests/test_lossy.py::test_kernel_",
        "tests/test_help_examples.py::test_every_example_runs_as_written[conform]",
    ),
    "bundled": (
        "tests/test_docs.py",
        "tests/test_properties.py",
        "tests/test_synth.py::test_old_duplicates_region",
    ),
}


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Load scheduling, with the :data:`SHARED_WORKER` groups kept together."""
    from xdist.scheduler import LoadScopeScheduling

    class Shared(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
        def _split_scope(self, nodeid: str) -> str:
            for group, prefixes in SHARED_WORKER.items():
                if nodeid.startswith(prefixes):
                    return group
            return nodeid

    return Shared(config, log)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the golden files in tests/golden from the current output",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> object:
    """``golden(name, text)``: compare ``text`` with tests/golden/NAME (or rewrite it)."""
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {path}: run pytest --update-golden"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"{name} differs from its golden file (pytest --update-golden)"

    return check


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec()


@pytest.fixture(scope="session")
def bundled_verdicts() -> list[Verdict]:
    """The bundled suite on every variant, as ``tcpcheck check`` and ``tcpcheck docs``
    decide it (computed once for the tests that read it)."""
    return run_suite(load_properties(spec=load_spec()), variants=suite_variants())


@pytest.fixture(scope="session")
def bundled_syntheses() -> dict[str, Synthesis]:
    """The synthesized region of every bundled property that names one, as the docs
    print it."""
    return {p.name: synthesis_for(p) for p in load_properties(spec=load_spec()) if p.synth}


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
