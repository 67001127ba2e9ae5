"""TCP segments from a pcap file (dpkt reads the file; Ethernet or Linux cooked capture).

Sequence and acknowledgment numbers are made relative to each direction's initial
sequence number, as the model numbers them (SYN = 0, the first data byte or FIN = 1).

Examples
--------
>>> Wire(0.0, "10.77.0.1:40000", "10.77.0.2:80", "SYN", 0, 0, 0).flags
'SYN'
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import dpkt  # type: ignore[import-untyped]

__all__ = ["Wire", "read_segments"]

# The model's order: SYN+ACK, FIN+ACK, RST+ACK.
_FLAGS = (
    (dpkt.tcp.TH_SYN, "SYN"),
    (dpkt.tcp.TH_FIN, "FIN"),
    (dpkt.tcp.TH_RST, "RST"),
    (dpkt.tcp.TH_ACK, "ACK"),
)


@dataclass(frozen=True)
class Wire:
    """One captured segment: time (s), endpoints, flags (``SYN+ACK``...), relative
    sequence and acknowledgment numbers, payload length; the raw TCP flags byte (PSH,
    URG... included) and the IP datagram's length, which nftables rules match on."""

    t: float
    src: str
    dst: str
    flags: str
    seq: int
    ack: int
    length: int
    tcp_flags: int = 0
    ip_len: int = 0


def read_segments(path: Path) -> list[Wire]:
    """Every TCP segment in the capture, in capture order, numbers relative."""
    out: list[Wire] = []
    isn: dict[tuple[str, str], int] = {}
    with path.open("rb") as f:
        reader = dpkt.pcap.Reader(f)
        link = reader.datalink()
        for ts, buf in reader:
            cooked = link == dpkt.pcap.DLT_LINUX_SLL
            frame = dpkt.sll.SLL(buf) if cooked else dpkt.ethernet.Ethernet(buf)
            ip = frame.data
            if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.tcp.TCP):
                continue
            tcp = ip.data
            src = f"{socket.inet_ntoa(ip.src)}:{tcp.sport}"
            dst = f"{socket.inet_ntoa(ip.dst)}:{tcp.dport}"
            flags = "+".join(name for bit, name in _FLAGS if tcp.flags & bit) or "-"
            if tcp.flags & dpkt.tcp.TH_SYN and (src, dst) not in isn:
                isn[(src, dst)] = tcp.seq
            base = isn.get((src, dst), tcp.seq)
            peer = isn.get((dst, src))
            acks = peer is not None and tcp.flags & dpkt.tcp.TH_ACK
            ack = (tcp.ack - peer) % 2**32 if acks else 0
            seq = (tcp.seq - base) % 2**32
            out.append(Wire(float(ts), src, dst, flags, seq, ack, len(tcp.data), tcp.flags, ip.len))
    return out
