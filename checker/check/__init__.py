"""Untimed verdicts: state formulas, move patterns, property suites, traces, verdicts,
and liveness under fairness.
"""
