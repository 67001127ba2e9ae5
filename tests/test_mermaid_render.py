"""The Mermaid charts render, every glyph in them included, in a real headless browser.

Mermaid text is drawn by whatever renders it (GitHub, GitLab, an editor) with the fonts
it has; a character no common font carries (``⏱`` without an emoji font) becomes an
empty box.  This test renders the charts tcpcheck writes with mermaid-cli in Debian's
chromium (``bash setup.sh test`` installs both: ``tools/mermaid``) and looks at the PNGs:
each chart must render, and each non-ASCII character the charts use must draw something
other than the box a character without a glyph draws.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MMDC = ROOT / "tools" / "mermaid" / "node_modules" / ".bin" / "mmdc"
# Characters of the planes' private use areas, which no font maps: the empty box.
NO_GLYPH = ["\U000f0000", "\U0010fffd"]
OPTS = ["-e", "png", "-b", "white", "-q"]


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


pytestmark = pytest.mark.skipif(
    not MMDC.exists() or _browser() is None,
    reason="mermaid-cli or chromium is missing (bash setup.sh test installs them as root)",
)


def _charts() -> list[str]:
    """The Mermaid charts tcpcheck has written: the generated docs' and the golden one."""
    blocks = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        blocks += re.findall(r"```mermaid\n(.*?)```", text, flags=re.S)
    for golden in sorted((ROOT / "tests" / "golden").rglob("*.mmd")):
        blocks.append(golden.read_text(encoding="utf-8"))
    return blocks


def _glyphs() -> list[str]:
    """Every non-ASCII character the charts hold or the Mermaid renderer can write."""
    source = (ROOT / "checker" / "render" / "mermaid_chart.py").read_text(encoding="utf-8")
    # The renderer's own strings, not its docstrings' mentions of what it avoids.
    code = re.sub(r'"""(.*?)"""', "", source, flags=re.S)
    code = "\n".join(line.split("#", 1)[0] for line in code.splitlines())
    found = {c for text in [*_charts(), code] for c in text if ord(c) > 127}
    return sorted(found)


def _render(blocks: list[str], scratch: Path) -> list[bytes]:
    """Each Mermaid chart rendered to PNG pixels, in one browser session."""
    from PIL import Image

    config = scratch / "puppeteer.json"
    # Root in a container: chromium's sandbox needs user namespaces it may not have.
    config.write_text(
        json.dumps({"executablePath": _browser(), "args": ["--no-sandbox"], "headless": "shell"}),
        encoding="utf-8",
    )
    page = scratch / "charts.md"
    page.write_text("".join(f"```mermaid\n{b}\n```\n\n" for b in blocks), encoding="utf-8")
    done = subprocess.run(
        [str(MMDC), "-p", str(config), "-i", str(page), "-o", str(scratch / "out.md"), *OPTS],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    pixels = []
    for i in range(1, len(blocks) + 1):
        with Image.open(scratch / f"out-{i}.png") as image:
            pixels.append(image.convert("RGB").tobytes())
    return pixels


def _note(char: str) -> str:
    return f"sequenceDiagram\n    participant A\n    Note over A: {char}"


def test_charts_render_and_every_glyph_is_drawn(tmp_path: Path) -> None:
    every = _charts()
    glyphs = _glyphs()
    assert every and "→" in glyphs
    # A browser takes a second or two a chart: the golden chart, the docs' first and
    # their longest stand for the rest (their characters are all probed below).
    charts = sorted({every[-1], every[0], max(every, key=len)})
    probes = ["A", *NO_GLYPH, *glyphs]
    images = _render([*charts, *(_note(c) for c in probes)], tmp_path)
    # A chart that renders is a picture with ink on it, taller for more messages.
    for chart, image in zip(charts, images[: len(charts)], strict=True):
        assert len({image[i : i + 3] for i in range(0, len(image), 3)}) > 2, chart
    probed = zip(probes, images[len(charts) :], strict=True)
    drawn = {c: hashlib.sha256(img).hexdigest() for c, img in probed}
    box = drawn[NO_GLYPH[0]]
    # The probe can tell: two unmapped characters draw the same box, a letter does not.
    assert drawn[NO_GLYPH[1]] == box
    assert drawn["A"] != box
    missing = [c for c in glyphs if drawn[c] == box]
    assert not missing, f"drawn as an empty box: {missing!r}"
