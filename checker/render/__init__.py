"""Pictures and text: sequence charts (text, SVG, Mermaid), endpoint and product
diagrams, the JUnit report of a suite's verdicts.
"""
