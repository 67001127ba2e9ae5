"""The segment abstraction: what a segment carries, and what it means to its receiver.

Theory of operation
-------------------
tcpcheck models connection management, not data transfer.  With no data, each side's
sequence space has exactly three points: its ISS (where the SYN sits), ISS+1 (where the
FIN sits) and ISS+2 (after the FIN).  Sequence and acknowledgment numbers are therefore
kept *relative to the ISS of the side they count*, as small integers:

* ``seq``  -- 0 for a SYN, 1 for a FIN or for a bare ACK sent before our FIN, 2 after it;
* ``ack``  -- 1 acknowledges the peer's SYN, 2 acknowledges its SYN and its FIN.

Within one connection incarnation this abstraction is exact: every comparison RFC 9293
§3.10.7 makes between SEG.SEQ, SEG.ACK, RCV.NXT, SND.UNA and SND.NXT has the same
outcome on the relative numbers as on the real 32-bit ones, because no data moves and the
windows are larger than the two octets of control.  A segment of another incarnation (a
new ISS) has numbers that may fall anywhere: it is placed at each of the three points, or
:data:`AHEAD` of them, and each placement is classified by the same rules.  What the
abstraction cannot express: data and window edges, sequence wrap-around, and segments
from a retried passive open (the RFC's new ISS is not modelled: a retried handshake
reuses the same relative numbers).

The receiver classifies an arriving segment into one *segment event* -- the vocabulary the
spec's transitions use -- from the segment and three facts about itself: how far it has
sent (``sent``: SND.NXT), how far it has received (``received``: RCV.NXT; 0 before the
peer's SYN) and how far it has been acknowledged (``una``: SND.UNA).

Examples
--------
>>> fin = Segment(FIN | ACK, seq=1, ack=2)
>>> fin.name
'FIN+ACK'
>>> classify(fin, sent=2, received=1, una=1)     # FIN-WAIT-1, our FIN unacknowledged
'rcv FIN+ACK of FIN'
>>> classify(fin, sent=2, received=2, una=2)     # TIME-WAIT: a retransmitted FIN
'rcv old FIN'
>>> reply_rst(Segment(ACK, seq=2, ack=2)).describe()
'RST seq=2'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ACCEPTANCE_CHOICES",
    "ACK",
    "AHEAD",
    "BELOW",
    "FIN",
    "LEVELS",
    "OLD_EVENTS",
    "RST",
    "SEGMENT_EVENTS",
    "SEND_TOKENS",
    "SYN",
    "Acceptance",
    "Segment",
    "build",
    "classify",
    "placements",
    "reply_rst",
    "template",
]

SYN, ACK, FIN, RST = 1, 2, 4, 8

#: How far a sequence space has advanced, by name (the ``sent`` / ``received`` of states).
LEVELS = {"none": 0, "SYN": 1, "FIN": 2}

#: Every event :func:`classify` can return, with the meaning the docs print.
SEGMENT_EVENTS: dict[str, str] = {
    "rcv SYN": "a SYN without ACK (a connection request, or an old duplicate of one)",
    "rcv SYN+ACK": "a SYN with an ACK (a connection reply, or an old duplicate of one)",
    "rcv ACK": "a bare ACK that acknowledges nothing new",
    "rcv ACK of SYN": "a bare ACK that newly acknowledges our SYN",
    "rcv ACK of FIN": "a bare ACK that newly acknowledges our FIN",
    "rcv old ACK": (
        "a bare ACK sent before the peer's FIN, arriving after it (sequence number below RCV.NXT)"
    ),
    "rcv FIN": "the peer's FIN, new, whose ACK does not acknowledge our FIN",
    "rcv FIN+ACK of FIN": "the peer's FIN, new, whose ACK acknowledges our FIN",
    "rcv old FIN": "a FIN below RCV.NXT, or any FIN once the peer's FIN is received",
    "rcv DATA": "a segment carrying new data, whose ACK acknowledges nothing new",
    "rcv DATA+ACK of SYN": "a segment carrying new data whose ACK newly acknowledges our SYN",
    "rcv DATA+ACK of FIN": "a segment carrying new data whose ACK newly acknowledges our FIN",
    "rcv SYN in window": (
        "a SYN at or beyond RCV.NXT where a SYN was received (only another incarnation's)"
    ),
    "rcv bad ACK": (
        "an unacceptable ACK: in SYN-SENT and SYN-RECEIVED one not acknowledging our SYN "
        "exactly, elsewhere one acknowledging something not yet sent"
    ),
    "rcv RST": "an acceptable RST (exactly at RCV.NXT; in SYN-SENT, acknowledging our SYN)",
    "rcv RST in window": (
        "a RST in the window but not at RCV.NXT (only another incarnation's, or a blind attacker's)"
    ),
    "rcv bad RST": (
        "an unacceptable RST (outside the window; in SYN-SENT, not acknowledging our SYN)"
    ),
    "rcv RST at FIN": (
        "a RST at RCV.NXT - 1 once the peer's FIN is in (the FIN's own number): outside "
        "the window, which Linux accepts in CLOSE-WAIT, CLOSING and LAST-ACK"
    ),
}

#: Events whose segment fails a check before its ACK field: the field is not processed.
OLD_EVENTS = frozenset(
    {"rcv old ACK", "rcv old FIN", "rcv bad RST", "rcv RST at FIN", "rcv bad ACK"}
)

#: A number of another incarnation beyond the three points: a sequence number inside the
#: receive window past ISS+2, or an acknowledgment past anything its receiver has sent.
AHEAD = 3
#: A number below the three points, at none of them: a blind attacker's sequence number
#: outside the window, or its acknowledgment of something long acknowledged.  The
#: attacker aims at no exact point of either sequence space (:func:`placements`).
BELOW = -1

#: What a transition may send.  A RST's numbers depend on why it is sent (see :func:`build`).
SEND_TOKENS = ("SYN", "SYN+ACK", "ACK", "FIN+ACK", "RST", "RST+ACK", "DATA")

_FLAG_ORDER = ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (ACK, "ACK"))


#: The values each key of :class:`Acceptance` may take, the default first.
ACCEPTANCE_CHOICES = {
    "syn_received_ack": ("exclusive", "inclusive"),
    "too_old_ack": ("ignore", "challenge"),
}


@dataclass(frozen=True)
class Acceptance:
    """Where RFC generations differ on which acknowledgment is acceptable (a spec's
    ``[acceptance]`` table).

    ``syn_received_ack``: ``"exclusive"`` (RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED:
    SND.UNA < SEG.ACK =< SND.NXT) or ``"inclusive"`` (RFC 793 §3.9: SND.UNA =< SEG.ACK,
    so an ACK of our ISS completes the handshake without acknowledging our SYN).
    ``too_old_ack``: ``"ignore"`` (a duplicate, however old, is ignored) or
    ``"challenge"`` (RFC 5961 §5, MAY-12: an ACK below SND.UNA - MAX.SND.WND is
    unacceptable, answered by an ACK and dropped; only :data:`BELOW` is that old).
    """

    syn_received_ack: str = "exclusive"
    too_old_ack: str = "ignore"

    def describe(self) -> str:
        """One line for the docs.

        >>> print(Acceptance("inclusive", "challenge").describe().replace("; ", "\\n"))
        ACK in SYN-RECEIVED: SND.UNA =< SEG.ACK =< SND.NXT
        an ACK below SND.UNA - MAX.SND.WND: answered by an ACK and dropped
        """
        low = "SND.UNA =< SEG.ACK" if self.syn_received_ack == "inclusive" else "SND.UNA < SEG.ACK"
        old = "ignored" if self.too_old_ack == "ignore" else "answered by an ACK and dropped"
        return f"ACK in SYN-RECEIVED: {low} =< SND.NXT; an ACK below SND.UNA - MAX.SND.WND: {old}"


@dataclass(frozen=True, order=True)
class Segment:
    """A segment: flags, relative sequence number, relative acknowledgment (0 if no ACK),
    and whether it carries data (``+DATA``: some octets between the SYN and the FIN; the
    model keeps no count of them, only that the segment has text)."""

    flags: int
    seq: int
    ack: int = 0
    data: bool = False

    @property
    def code(self) -> int:
        """A small integer identifying the segment (the explorer's compact form): flags,
        two bits per number, the data bit, then a bit per number that is :data:`BELOW`."""
        return (
            self.flags
            | ((self.seq & 3) << 4)
            | ((self.ack & 3) << 6)
            | (int(self.data) << 8)
            | (int(self.seq == BELOW) << 9)
            | (int(self.ack == BELOW) << 10)
        )

    @staticmethod
    def from_code(code: int) -> Segment:
        """Inverse of :attr:`code`.

        >>> Segment.from_code(Segment(SYN | ACK, 0, 1).code)
        Segment(flags=3, seq=0, ack=1, data=False)
        >>> Segment.from_code(Segment(RST | ACK, BELOW, AHEAD).code)
        Segment(flags=10, seq=-1, ack=3, data=False)
        """
        seq = BELOW if code >> 9 & 1 else (code >> 4) & 3
        ack = BELOW if code >> 10 & 1 else (code >> 6) & 3
        return Segment(code & 0xF, seq, ack, bool(code >> 8 & 1))

    @property
    def length(self) -> int:
        """SEG.LEN of the control: SYN and FIN occupy one sequence number each (data
        moves the real numbers only inside the span the model keeps as one point)."""
        return (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)

    @property
    def name(self) -> str:
        """Flags in the usual order: ``SYN+ACK``, ``FIN+ACK``, ``RST+ACK``, ``ACK+DATA``..."""
        name = "+".join(label for bit, label in _FLAG_ORDER if self.flags & bit)
        return name + "+DATA" if self.data else name

    def describe(self) -> str:
        """Name with the relative numbers, e.g. ``FIN+ACK seq=1 ack=2``."""
        text = f"{self.name} seq={self.seq}"
        if self.flags & ACK:
            text += f" ack={self.ack}"
        return text


def classify(
    seg: Segment, sent: int, received: int, una: int, acceptance: Acceptance | None = None
) -> str:
    """The event ``seg`` is to a receiver that has sent/received/been acknowledged so far.

    Total: every segment, whatever its numbers, is one event -- a segment of another
    incarnation may carry any of them (:data:`AHEAD` places a number beyond the three
    points).  The checks are RFC 9293 §3.10.7's, in its order:

    * CLOSED and LISTEN (``sent == 0``, §3.10.7.1-2): no numbers are checked.
    * SYN-SENT (``received == 0``, §3.10.7.3): first the ACK field -- acceptable iff
      SND.UNA < SEG.ACK =< SND.NXT (it acknowledges our SYN); a RST is valid only with an
      acceptable ACK, any other segment with an unacceptable one is ``rcv bad ACK`` (the
      RFC answers ``<SEQ=SEG.ACK><CTL=RST>``); then the SYN bit.
    * Otherwise (§3.10.7.4): first the sequence number -- a segment below RCV.NXT is not
      acceptable (an old SYN, FIN or ACK, or a RST outside the window); second the RST
      bit; fourth the SYN bit (an acceptable SYN is ``rcv SYN in window``); fifth the ACK
      field -- in SYN-RECEIVED (SND.UNA = ISS, ``una == 0``, nothing but the SYN sent) it
      must acknowledge our SYN (or, ``inclusive``, at least not less than SND.UNA),
      elsewhere it must not acknowledge more than SND.NXT (nor, with RFC 5961 §5, be
      :data:`BELOW`), or it is ``rcv bad ACK``; then what it newly acknowledges.  A FIN or
      text beyond RCV.NXT is held for later, in-order processing (the idealized segment
      of the first check begins at RCV.NXT) and nothing fills the gap: only its ACK
      field counts.  Once the peer's FIN is in, every FIN whose ACK field passes is a
      retransmission of it (``rcv old FIN``: the eighth step of CLOSE-WAIT .. TIME-WAIT
      keeps the state).

    >>> classify(Segment(SYN | ACK, 0, 0), sent=1, received=0, una=0)  # SEG.ACK =< ISS
    'rcv bad ACK'
    >>> classify(Segment(ACK, 2, AHEAD), sent=2, received=2, una=2)    # beyond SND.NXT
    'rcv bad ACK'
    >>> classify(Segment(SYN, 1), sent=1, received=1, una=0)           # in the window
    'rcv SYN in window'
    >>> classify(Segment(FIN | ACK, 0, 1), sent=1, received=1, una=1)  # below RCV.NXT
    'rcv old FIN'
    """
    has_ack = bool(seg.flags & ACK)
    if sent == 0:  # CLOSED, LISTEN: a RST is ignored, anything else answered by the rules
        if seg.flags & RST:
            return "rcv RST"
        if seg.flags & SYN:
            return "rcv SYN+ACK" if has_ack else "rcv SYN"
        return "rcv FIN" if seg.flags & FIN else "rcv ACK"
    if received == 0:  # SYN-SENT
        acceptable = has_ack and una < seg.ack <= sent
        if seg.flags & RST:
            return "rcv RST" if acceptable else "rcv bad RST"
        if has_ack and not acceptable:
            return "rcv bad ACK"
        if seg.flags & SYN:
            return "rcv SYN+ACK" if has_ack else "rcv SYN"
        if seg.flags & FIN:
            return "rcv FIN"  # fifth: neither SYN nor RST, dropped
        return "rcv ACK of SYN"
    if seg.seq < received:  # first: not acceptable (SEG.LEN of the control counted)
        if seg.flags & RST:
            # The peer's FIN took the number before RCV.NXT: a RST there is told apart
            # (Linux's tcp_reset_check accepts it).
            return "rcv RST at FIN" if received == 2 and seg.seq == 1 else "rcv bad RST"
        if seg.flags & SYN:
            return "rcv SYN+ACK" if has_ack else "rcv SYN"
        return "rcv old FIN" if seg.flags & FIN else "rcv old ACK"
    if seg.flags & RST:  # exactly RCV.NXT, or elsewhere in the window (RFC 5961 §3.2)
        return "rcv RST" if seg.seq == received else "rcv RST in window"
    if seg.flags & SYN:
        return "rcv SYN in window"
    rules = acceptance or _RFC9293
    synchronizing = sent == 1 and una == 0  # SYN-RECEIVED: only our SYN is outstanding
    if has_ack:  # fifth, check the ACK field
        if synchronizing:
            low = una if rules.syn_received_ack == "inclusive" else una + 1
            acceptable = low <= seg.ack <= sent
        else:
            too_old = seg.ack == BELOW and rules.too_old_ack == "challenge"
            acceptable = seg.ack <= sent and not too_old
        if not acceptable:
            return "rcv bad ACK"
    if seg.flags & FIN and received == 2:  # eighth: the peer's FIN is in already
        return "rcv old FIN"
    new = has_ack and seg.ack > una
    in_order = seg.seq == received
    if seg.flags & FIN and in_order:
        return "rcv FIN+ACK of FIN" if new and seg.ack == 2 else "rcv FIN"
    if seg.data and in_order:
        if new:
            return "rcv DATA+ACK of FIN" if seg.ack == 2 else "rcv DATA+ACK of SYN"
        return "rcv DATA"
    if new:
        return "rcv ACK of FIN" if seg.ack == 2 else "rcv ACK of SYN"
    return "rcv ACK"


def placements(
    seg: Segment, sent: int, received: int, una: int, *, blind: bool = False
) -> list[Segment]:
    """Every placement of the numbers of ``seg`` -- a segment not of this connection --
    against a receiver that has sent/received/been acknowledged so far, sequence number
    first.

    A segment of another incarnation may carry any numbers: each of the three points and
    :data:`AHEAD` is tried for each (its acknowledgment too, if it has one).  A ``blind``
    sender (RFC 5961 §1.1's off-path attacker) knows the connection's addresses and ports
    but not its numbers: it hits no exact point of either sequence space -- not RCV.NXT,
    not an acceptable acknowledgment, not an ISS whose reflection (a RST answering it)
    would be exact for the peer.  Its numbers are :data:`BELOW` (outside the window;
    an acknowledgment of something long acknowledged) or :data:`AHEAD` (inside the
    window past RCV.NXT; an acknowledgment of more than was sent).

    >>> rst = Segment(RST, 0)
    >>> [s.seq for s in placements(rst, sent=1, received=1, una=1)]
    [0, 1, 2, 3]
    >>> [s.seq for s in placements(rst, sent=1, received=1, una=1, blind=True)]
    [-1, 3]
    >>> [s.ack for s in placements(Segment(SYN | ACK, 0, 1), 1, 0, 0, blind=True)]
    [-1, 3, -1, 3]
    """
    points = (BELOW, AHEAD) if blind else tuple(range(AHEAD + 1))
    acks = points if seg.flags & ACK else (0,)
    return [Segment(seg.flags, seq, ack, seg.data) for seq in points for ack in acks]


def template(token: str) -> Segment:
    """A segment of kind ``token`` (one of :data:`SEND_TOKENS`) whose numbers are to be
    placed (:func:`placements`): the kinds a segment of others may have.

    >>> template("DATA").name, template("RST+ACK").name
    ('ACK+DATA', 'RST+ACK')
    """
    flags = {
        "SYN": SYN,
        "SYN+ACK": SYN | ACK,
        "ACK": ACK,
        "FIN+ACK": FIN | ACK,
        "RST": RST,
        "RST+ACK": RST | ACK,
        "DATA": ACK,
    }
    if token not in flags:
        raise ValueError(f"unknown segment kind {token!r}")
    return Segment(flags[token], 0, 0, data=token == "DATA")


_RFC9293 = Acceptance()


def reply_rst(trigger: Segment) -> Segment:
    """The RST answering ``trigger`` (RFC 9293 §3.5.2, §3.10.7.1).

    If the offending segment has an ACK field the reset takes its sequence number from
    it: ``<SEQ=SEG.ACK><CTL=RST>``; otherwise ``<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>``.
    """
    if trigger.flags & ACK:
        return Segment(RST, trigger.ack, 0)
    if trigger.seq in (BELOW, AHEAD):  # off the points, and so is anything past it
        return Segment(RST | ACK, 0, trigger.seq)
    return Segment(RST | ACK, 0, min(trigger.seq + trigger.length, AHEAD))


def build(token: str, *, snd_nxt: int, rcv_nxt: int, trigger: Segment | None) -> Segment:
    """The segment a transition sends for ``token`` (one of :data:`SEND_TOKENS`).

    ``snd_nxt`` / ``rcv_nxt`` are the sender's relative SND.NXT and RCV.NXT once the
    transition's own input is processed.  A RST sent in reply to a segment follows
    :func:`reply_rst`; a RST sent by ABORT is ``<SEQ=SND.NXT><CTL=RST>`` (§3.10.5), and
    ``RST+ACK`` is the same reset with ``<ACK=RCV.NXT>``.

    >>> build("FIN+ACK", snd_nxt=1, rcv_nxt=1, trigger=None).describe()
    'FIN+ACK seq=1 ack=1'
    """
    if token == "SYN":
        return Segment(SYN, 0, 0)
    if token == "SYN+ACK":
        return Segment(SYN | ACK, 0, rcv_nxt)
    if token == "ACK":
        return Segment(ACK, snd_nxt, rcv_nxt)
    if token == "FIN+ACK":
        return Segment(FIN | ACK, 1, rcv_nxt)
    if token == "RST":
        if trigger is not None:
            return reply_rst(trigger)
        return Segment(RST, snd_nxt, 0)
    if token == "DATA":
        return Segment(ACK, snd_nxt, rcv_nxt, data=True)
    if token == "RST+ACK":
        # A reset that also acknowledges what has been received (Linux's active reset,
        # tcp_send_active_reset); the receiver checks only its sequence number (§3.10.7).
        if trigger is not None:
            return reply_rst(trigger)
        return Segment(RST | ACK, snd_nxt, rcv_nxt)
    raise ValueError(f"unknown send token {token!r}")
