from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from checker.model.load import load_spec
from checker.model.spec import Spec

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
def root() -> Path:
    return ROOT
