"""Composition and exploration: the configuration, the channels, the product's rules,
the readable reference product and the compiled explorer.
"""
