"""What the model predicts of a lossy run (:mod:`checker.kernel.lossy`): each outcome's
least and most probability, from the clocked reading of the product
(:mod:`checker.prob.clocks`) of the variant at the lab's settings.

The product is the lab's workload: A opens actively and closes the moment it is
established, B listens and closes once it has read A's FIN; applications act at once;
channels are FIFO (a veth pair keeps order) and every segment takes :data:`LAB_DELAY` to
cross; each segment is lost with the run's loss rate for its direction, as the lab's
nftables rules drop it.  The parameters that are sysctls take the run's values
(:meth:`~checker.model.spec.Spec.from_sysctls`).

One parameter the lab cannot pin: the connection's retransmission timeout
(``CONN_RTO``).  Linux computes it from its round-trip estimator (RFC 6298: SRTT plus
four times RTTVAR, RTTVAR floored at tcp_rto_min), which moves during a run's
connections: the captures show a LAST-ACK's retransmissions 0.2 to 0.63 s apart where the
round trip is tens of microseconds, and a connection whose handshake needed a
retransmission samples its RTT across it (the SYN+ACK echoes the first SYN's
timestamp), so its RTO is 1 to 3 s -- A's FIN then outlives B's abandoned request and
draws a RST from the listener.  How many retransmissions the orphan budget
(tcp_orphan_retries) allows depends on it too (three at 0.2 s, two from 0.3 s), so the
prediction is the hull over ``CONN_RTO`` at :data:`RTO_SPREAD` times its value at the
lab's round trip (0.2 to 3 s): for each outcome the least of the minima and the most of
the maxima.  The model has one CONN_RTO for both ends, so the hull is wider than the
kernel's mix of a slow end and a fast one.

The lab's names map to the model's outcomes (:func:`model_outcomes`): ``by EVENT`` to
``by EVENT``, ``never entered`` to ``never enters``, ``still there at the end`` to
``stays`` -- and for TIME-WAIT, whose 60 s outlast a run, also to ``by timeout 2MSL``.
A TIME-WAIT the lab saw end by its timer (no RST reached it, yet ``ss`` no longer shows
it) has no prediction: the model's TIME-WAIT lasts its 60 s.

Examples
--------
>>> from checker.kernel.lossy import SYSCTLS
>>> predict = lossy_predictor(SYSCTLS)
>>> low, high = predict("B leaves LAST-ACK by timeout RETX", 0.2, 0.2)
>>> round(low, 4), round(high, 4)
(0.0168, 0.0463)
>>> model_outcomes("A leaves TIME-WAIT: still there at the end")
('A', 'TIME-WAIT', ('stays', 'by timeout 2MSL'))
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ..model.load import load_spec
from ..model.spec import Spec
from ..prob.clocks import Delays, Timing, build_clocked
from ..prob.mdp import MDP
from ..prob.questions import ask, parse_question
from ..prob.rates import LossRates
from ..product.config import AppConfig, ProductConfig
from .lossy import EXITS, NEVER, STILL, Predict

__all__ = ["LAB_DELAY", "RTO_SPREAD", "lab_config", "lossy_predictor", "model_outcomes"]

#: The time a segment takes across the lab's veth pair (tens of microseconds), seconds.
LAB_DELAY = "0.0001"
#: The multiples of the variant's CONN_RTO the prediction ranges over.
RTO_SPREAD = (1, 2, 3, 15)
#: Room in each channel: more than the workload ever has in flight.
CAPACITY = 4

_NAME = re.compile(
    r"^(?P<side>[AB]) leaves (?P<state>[A-Z0-9-]+)(?:(?: by (?P<event>.+))|: (?P<how>.+))$"
)


def lab_config() -> ProductConfig:
    """The lossy run's workload as a product configuration."""
    return ProductConfig(
        a=AppConfig("active", "first"),
        b=AppConfig("passive", "after-peer"),
        ordering="fifo",
        capacity=CAPACITY,
    )


def model_outcomes(name: str) -> tuple[str, str, tuple[str, ...]] | None:
    """The side, state and model outcomes a lab outcome name stands for (None: none)."""
    m = _NAME.match(name)
    if m is None:
        return None
    side, state = m["side"], m["state"]
    if m["event"] is not None:
        if state == "TIME-WAIT" and m["event"] == "timeout 2MSL":
            return None
        return side, state, (f"by {m['event']}",)
    if m["how"] == NEVER:
        return side, state, ("never enters",)
    if m["how"] == STILL:
        return side, state, ("stays", "by timeout 2MSL") if state == "TIME-WAIT" else ("stays",)
    return None


def _specs(sysctls: Mapping[str, str], variant: str | None, spec_file: Path | None) -> list[Spec]:
    base = load_spec(spec_file, variant)
    settings = base.from_sysctls(sysctls)
    at_lab = load_spec(spec_file, variant, settings)
    rto = at_lab.values.get("CONN_RTO")
    if rto is None:
        return [at_lab]
    return [
        load_spec(spec_file, variant, {**settings, "CONN_RTO": round(rto * k, 9)})
        for k in RTO_SPREAD
    ]


def lossy_predictor(
    sysctls: Mapping[str, str], variant: str | None = "linux", spec_file: Path | None = None
) -> Predict:
    """A :data:`~checker.kernel.lossy.Predict` for runs made with ``sysctls``: the hull,
    over :data:`RTO_SPREAD`, of each outcome's least and most probability."""
    mdps: list[tuple[Spec, MDP]] = []
    for spec in _specs(sysctls, variant, spec_file):
        mdp = build_clocked(spec, lab_config(), Timing(Delays.parse(LAB_DELAY, spec)))
        if not mdp.complete:
            raise RuntimeError(f"the lab's product is incomplete: {mdp.exploration.stopped()}")
        mdps.append((spec, mdp))
    answers: dict[tuple[float, float], dict[str, tuple[float, float]]] = {}

    def solve(p_ab: float, p_ba: float) -> dict[str, tuple[float, float]]:
        rates = LossRates.parse(f"A->B={p_ab!r},B->A={p_ba!r}")
        out: dict[str, tuple[float, float]] = {}
        for spec, mdp in mdps:
            for side, state in EXITS:
                answer = ask(mdp, parse_question(f"{side} leaves {state}", spec), [rates])
                for row in answer.rows:
                    key = f"{side} {state} {row.outcome}"
                    low, high = float(row.low.low), float(row.high.high)
                    if key in out:
                        low, high = min(out[key][0], low), max(out[key][1], high)
                    out[key] = (low, high)
        return out

    def predict(name: str, p_ab: float, p_ba: float) -> tuple[float, float] | None:
        mapped = model_outcomes(name)
        if mapped is None:
            return None
        side, state, outcomes = mapped
        if (p_ab, p_ba) not in answers:
            answers[p_ab, p_ba] = solve(p_ab, p_ba)
        got = answers[p_ab, p_ba]
        ranges = [got.get(f"{side} {state} {o}", (0.0, 0.0)) for o in outcomes]
        return min(sum(r[0] for r in ranges), 1.0), min(sum(r[1] for r in ranges), 1.0)

    return predict
