"""Other checkers: the product as Promela, never claims, the SPIN runner and the
cross-check against it.
"""
