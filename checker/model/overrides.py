"""The parameter values a check runs with: the spec's, a property's own, the user's.

A property of a suite may fix parameters (``params = { FIN_RETRIES = 6 }``) and the
user may override any with ``--param NAME=VALUE``; the user's value wins.  One suite
serves every variant, so a property's parameter that a variant does not have (Linux's
``ORPHAN_RETRIES`` on the base spec) is left out there rather than refused -- but a
user's ``--param`` is taken as given: an unknown name is an error when the spec is
loaded (:func:`checker.model.load.load_spec`).

Examples
--------
>>> merge_params({"FIN_RETRIES": 6.0, "KEEPALIVE": 1.0}, {"MSL": 2.0},
...              known={"FIN_RETRIES", "MSL"})
{'FIN_RETRIES': 6.0, 'MSL': 2.0}
>>> merge_params({"MSL": 30.0}, {"MSL": 2.0})
{'MSL': 2.0}
>>> sorted(parameter_names(variant="linux") - parameter_names())
['CONN_RTO', 'FIN_TIMEOUT', 'ORPHAN_BUDGET', 'ORPHAN_CAPPED_FROM', 'ORPHAN_RETRIES',
 'ORPHAN_RETRIES_BY_TIME', 'RTO_MAX', 'RTO_MIN', 'RTT', 'SYN_BUDGET', 'SYN_CAPPED_FROM',
 'SYN_LINEAR_TIMEOUTS', 'SYN_RETRIES_BY_TIME', 'TCP_ORPHAN_RETRIES', 'TCP_RFC1337',
 'TCP_RTO_MIN', 'TCP_SYN_RETRIES', 'TCP_TW_REUSE', 'TICK']
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from .load import load_spec

__all__ = ["merge_params", "parameter_names"]


def parameter_names(
    spec_path: str | Path | None = None,
    variant: str | None = None,
    *,
    check_behaviour: bool = False,
) -> frozenset[str]:
    """The names of the parameters ``variant`` of the spec at ``spec_path`` has: what a
    property's own parameters are filtered by (see :func:`merge_params`).

    ``check_behaviour`` also proves the spec's endpoint behaviour at its own values, as
    :func:`~checker.model.load.load_spec` does (a spec error then shows here first).
    """
    spec = load_spec(spec_path, variant=variant, check_behaviour=check_behaviour)
    return frozenset(p.name for p in spec.parameters)


def merge_params(
    own: Mapping[str, float],
    overrides: Mapping[str, float] | None = None,
    *,
    known: Collection[str] | None = None,
) -> dict[str, float]:
    """A property's ``own`` parameters (only those in ``known``, when given: the
    variant's, from :func:`parameter_names`) overridden by ``overrides``, in that order."""
    merged = {k: v for k, v in own.items() if known is None or k in known}
    merged.update(overrides or {})
    return merged
