"""The API reference site (``mkdocs.yml``, sources in ``site-docs/``): it builds with
every warning an error, its reference pages cover the exported API, and the example
page's code runs as written and prints what the page shows."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

import checker

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "site-docs"
#: A fenced block: its language and its text.
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def page_blocks(text: str) -> list[tuple[str, str | None]]:
    """Each python block of a page, with the text block right after it (its printed
    output), if there is one (``None``: the block prints nothing).

    >>> page = "```python\\nprint(1)\\n```\\n\\n```text\\n1\\n```\\n"
    >>> page_blocks(page + "```python\\nx = 2\\n```\\n")
    [('print(1)\\n', '1\\n'), ('x = 2\\n', None)]
    """
    blocks: list[tuple[str, str | None]] = []
    for match in FENCE.finditer(text):
        language, body = match.groups()
        if language == "python":
            blocks.append((body, None))
        elif language == "text" and blocks and blocks[-1][1] is None:
            between = text[text.rfind("```", 0, match.start() - 1) + 3 : match.start()]
            if not between.strip():
                blocks[-1] = (blocks[-1][0], body)
    return blocks


def test_the_example_page_runs_and_prints_what_it_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocks run in order in one namespace, from the root of the clone (the page's
    capture path is relative to it); each one's output is the text block below it."""
    monkeypatch.chdir(ROOT)
    blocks = page_blocks((SOURCES / "example.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    namespace: dict[str, object] = {"__name__": "__example__"}
    for number, (code, shown) in enumerate(blocks, 1):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"example.md block {number}", "exec"), namespace)
        got = [line.rstrip() for line in out.getvalue().splitlines()]
        assert got == [line.rstrip() for line in (shown or "").splitlines()], (
            f"block {number}:\n{code}"
        )


def test_the_reference_pages_show_every_exported_name_once() -> None:
    shown = [
        name
        for page in sorted((SOURCES / "api").glob("*.md"))
        for name in re.findall(r"^::: checker\.(\w+)$", page.read_text(), re.MULTILINE)
    ]
    exported = [name for name in checker.__all__ if name != "__version__"]
    assert sorted(shown) == sorted(exported)


def test_the_site_builds_without_a_warning(tmp_path: Path) -> None:
    """``mkdocs build --strict``: a docstring griffe cannot parse, a broken link or
    anchor, a page left out of the navigation -- each is a warning, and fails it."""
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "WARNING" not in log, log
    for page in ("index.html", "example/index.html", "api/timed/index.html"):
        assert (tmp_path / page).is_file()
    assert 'id="checker.synthesize"' in (tmp_path / "api/timed/index.html").read_text()
    # The docstrings' roles (:func:`explore`) became references (site-docs/hooks).
    for built in (tmp_path / "api").glob("*/index.html"):
        html = built.read_text(encoding="utf-8")
        assert not re.search(r":(?:func|meth|class|mod|data|attr):<code>", html), built


def test_the_readme_python_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's "Using it from Python" example runs as written."""
    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Using it from Python\n") :]
    section = section[: section.index("\n## ", 1)]
    [(code, _)] = page_blocks(section)[:1]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    assert "TIME_WAIT >= 70 exact" in out.getvalue()
