"""Untimed verdicts: state formulas (``formula``), path and move patterns (``paths``,
``patterns``), property suites (``properties``), the verdict vocabulary (``outcome``),
traces and verdicts (``traces``, ``verdicts``), the untimed checks (``untimed``) and
liveness under fairness (``liveness``).
"""
