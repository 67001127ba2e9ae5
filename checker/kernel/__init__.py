"""Linux conformance: the namespace lab, its socket agent, scenarios, pcap reading,
runs, the conformance search and the timing check.
"""
