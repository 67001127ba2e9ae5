"""Types of the compiled search loop (``_search.pyx``)."""

from typing import Any

def compiled_search(flat: Any, params: dict[str, Any]) -> dict[str, Any]: ...
