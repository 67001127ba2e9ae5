"""The spec as data: tokens, expressions, guards, segments, the spec's types and its
loader, and one endpoint's semantics (its local states, steps and closure).
"""
