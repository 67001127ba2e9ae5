"""A mkdocs hook: the docstrings' reStructuredText roles as cross-references.

The docstrings name other objects the Sphinx way (``:func:`checker.explore```, with
``~`` to show the last part only); Markdown renders that as the role's name followed by
the code.  Each becomes an optional mkdocs-autorefs reference: a link where the object
is on the site (by its own path or as ``checker`` exports it), the code alone where
it is not.
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:func|meth|class|mod|data|attr|exc|obj):<code>(~?)([\w.]+)(\(\))?</code>")


def _reference(match: re.Match[str]) -> str:
    short, target, call = match.groups()
    name = target.rsplit(".", 1)[-1]
    shown = name if short else target
    # Failing the name as written (a module's own, or its defining module's path), the
    # name as the package exports it.
    fallback = f"checker.{name}"
    return (
        f'<autoref identifier="{target}" slug="{fallback}" optional>'
        f"<code>{shown}{call or ''}</code></autoref>"
    )


def on_page_content(html: str, **kwargs: Any) -> str:
    return ROLE.sub(_reference, html)
