"""Pictures and text: sequence charts (text, SVG, Mermaid), endpoint and product
diagrams.
"""
