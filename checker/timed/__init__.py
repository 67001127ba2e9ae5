"""Zones and Z3: linear terms, solver limits, DBMs, parametric zones, tiles, the zone
graph, timed checks, synthesis and duration bounds.
"""
