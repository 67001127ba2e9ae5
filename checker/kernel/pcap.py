"""TCP segments from a pcap file (dpkt reads the file; Ethernet or Linux cooked capture,
and -- :func:`read_tcp` -- the nflog captures the namespace lab records).

Sequence and acknowledgment numbers are made relative to each direction's initial
sequence number, as the model numbers them (SYN = 0, the first data byte or FIN = 1).

Examples
--------
>>> Wire(0.0, "10.77.0.1:40000", "10.77.0.2:80", "SYN", 0, 0, 0).flags
'SYN'
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import dpkt  # type: ignore[import-untyped]

from ..errors import SpecError

__all__ = ["Seg", "Wire", "flag_names", "read_segments", "read_tcp"]

# The model's order: SYN+ACK, FIN+ACK, RST+ACK.
_FLAGS = (
    (dpkt.tcp.TH_SYN, "SYN"),
    (dpkt.tcp.TH_FIN, "FIN"),
    (dpkt.tcp.TH_RST, "RST"),
    (dpkt.tcp.TH_ACK, "ACK"),
)


def flag_names(bits: int) -> str:
    """The name a capture gives a TCP flags byte, in the model's order (PSH, URG and
    the like left out; ``-`` for none).

    >>> flag_names(0x11), flag_names(0x18), flag_names(0)
    ('FIN+ACK', 'ACK', '-')
    """
    return "+".join(name for bit, name in _FLAGS if bits & bit) or "-"


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
    """Every TCP segment in the capture, in capture order, numbers relative.  A file that
    is not a whole pcap capture (empty, truncated, a record too short for its headers)
    is a :class:`~checker.errors.SpecError` naming the file, the record and its byte
    offset."""
    out: list[Wire] = []
    isn: dict[tuple[str, str], int] = {}
    shown = str(path)
    with path.open("rb") as f:
        try:
            reader = dpkt.pcap.Reader(f)
        except (ValueError, dpkt.dpkt.UnpackError) as exc:
            raise SpecError(
                shown,
                "file header",
                f"not a pcap capture ({exc or 'too short'})",
                "capture with tcpdump -w (classic pcap format)",
            ) from None
        cooked = reader.datalink() == dpkt.pcap.DLT_LINUX_SLL
        f.seek(0)
        # The byte order of the record headers, from the file's magic number.
        little = f.read(4) in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
        order: Literal["little", "big"] = "little" if little else "big"
        f.seek(24)
        records = iter(reader)
        number = 0
        while True:
            start = f.tell()
            try:
                ts, buf = next(records)
                end = f.tell()
                f.seek(start + 8)
                caplen = int.from_bytes(f.read(4), order)
                f.seek(end)
                if len(buf) < caplen:  # the last record was cut short
                    raise dpkt.dpkt.NeedData(f"got {len(buf)} of {caplen} captured bytes")
                frame = dpkt.sll.SLL(buf) if cooked else dpkt.ethernet.Ethernet(buf)
            except StopIteration:
                break
            except (ValueError, dpkt.dpkt.UnpackError) as exc:
                raise SpecError(
                    shown,
                    f"record {number} (byte {start})",
                    f"truncated or malformed ({type(exc).__name__}: {exc or 'too short'})",
                    "the capture was cut short: capture again, or cut the file at a record",
                ) from None
            number += 1
            ip = frame.data
            if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.tcp.TCP):
                continue
            tcp = ip.data
            src = f"{socket.inet_ntoa(ip.src)}:{tcp.sport}"
            dst = f"{socket.inet_ntoa(ip.dst)}:{tcp.dport}"
            flags = flag_names(tcp.flags)
            if tcp.flags & dpkt.tcp.TH_SYN and (src, dst) not in isn:
                isn[(src, dst)] = tcp.seq
            base = isn.get((src, dst), tcp.seq)
            peer = isn.get((dst, src))
            acks = peer is not None and tcp.flags & dpkt.tcp.TH_ACK
            ack = (tcp.ack - peer) % 2**32 if acks else 0
            seq = (tcp.seq - base) % 2**32
            out.append(Wire(float(ts), src, dst, flags, seq, ack, len(tcp.data), tcp.flags, ip.len))
    return out


_NFLOG_LINKTYPE = 239
_NFULA_PAYLOAD = 9


@dataclass(frozen=True)
class Seg:
    """One segment of a connection: which way (``from_a``: from the client, to the
    server's port), TCP flags, absolute numbers."""

    from_a: bool
    flags: int
    seq: int
    ack: int
    length: int = 0


def _payload(frame: bytes, linktype: int) -> bytes | None:
    """The IP datagram of a captured frame: Ethernet, or an nflog message (a 4-byte
    header, then type-length-value attributes in host byte order, the packet in
    ``NFULA_PAYLOAD``)."""
    if linktype != _NFLOG_LINKTYPE:
        eth = dpkt.ethernet.Ethernet(frame)
        return bytes(eth.data) if isinstance(eth.data, dpkt.ip.IP) else None
    at = 4
    while at + 4 <= len(frame):
        length, kind = struct.unpack_from("<HH", frame, at)
        if length < 4:
            return None
        if kind & 0x7FFF == _NFULA_PAYLOAD:
            return frame[at + 4 : at + length]
        at += (length + 3) & ~3
    return None


def read_tcp(path: Path, port: int) -> dict[int, list[Seg]]:
    """The segments to or from ``port`` in the capture ``path`` (Ethernet or nflog), by
    client port, in capture order.  A record cut short at the end (the capture was
    being written) ends the reading."""
    out: dict[int, list[Seg]] = {}
    with path.open("rb") as f:
        try:
            reader = dpkt.pcap.Reader(f)
        except (ValueError, dpkt.dpkt.UnpackError):
            return out  # empty: tcpdump had not written its header
        linktype = reader.datalink()
        try:
            for _ts, frame in reader:
                raw = _payload(frame, linktype)
                if raw is None:
                    continue
                ip = dpkt.ip.IP(raw)
                if not isinstance(ip.data, dpkt.tcp.TCP):
                    continue
                t = ip.data
                if t.dport == port:
                    client, from_a = t.sport, True
                elif t.sport == port:
                    client, from_a = t.dport, False
                else:
                    continue
                out.setdefault(client, []).append(Seg(from_a, t.flags, t.seq, t.ack, len(t.data)))
        except (ValueError, dpkt.dpkt.UnpackError):
            pass
    return out
