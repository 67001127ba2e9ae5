"""The channel between two endpoints as a chosen semantics.

A one-way channel is a sequence of items in flight -- segments in the reference product,
segment codes in the packed explorer, timed copies in the zone graph -- and a
:class:`Network` says what may happen to it: which items may be delivered next (the head
of a FIFO channel; any item of an unordered one), what sending a burst into it does when
it is full (the sender waits, or what does not fit is dropped), which items the network
may lose or duplicate, and how many losses and duplications a run may use.

Each search engine keeps its own representation of a channel; this module is the one
place that says what the channel does with it.  An unordered channel whose engine keeps
it *canonical* (sorted, a multiset: the reference product and the packed explorer) gets
its contents sorted by ``push``; one whose positions carry information of their own (a
copy's clock in the zone graph) keeps the order things were sent in.

Examples
--------
>>> net = Network(ordering="fifo", capacity=2)
>>> net.deliverable(("SYN", "ACK"))
[0]
>>> net.push(("SYN",), ("ACK", "FIN")) is None   # blocks: only one slot left
True
>>> Network(capacity=2, overflow="drop").push(("SYN",), ("ACK", "FIN"))
(('ACK', 'SYN'), ('FIN',))
>>> Network().deliverable(("ACK", "ACK", "FIN"))   # identical items: one choice
[0, 2]
>>> Network(ordering="fifo").losses(("ACK", "ACK", "FIN"))
[(0, 'ACK', ('ACK', 'FIN')), (2, 'FIN', ('ACK', 'ACK'))]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .config import ProductConfig

__all__ = ["Network"]

T = TypeVar("T")


@dataclass(frozen=True)
class Network:
    """Ordering x capacity x overflow x loss x duplication (see the module docstring).

    ``loss``: losses allowed per run, ``None`` for any number; ``duplication``: at most
    that many duplications per run.
    """

    ordering: str = "unordered"
    capacity: int = 2
    overflow: str = "block"
    loss: int | None = None
    duplication: int = 0

    @classmethod
    def of(cls, config: ProductConfig) -> Network:
        """The network a product configuration chooses."""
        return cls(
            config.ordering, config.capacity, config.overflow, config.loss_budget, config.dup_budget
        )

    @property
    def fifo(self) -> bool:
        return self.ordering == "fifo"

    @property
    def drops_overflow(self) -> bool:
        """A burst that does not fit is cut (the rest dropped) rather than waiting."""
        return self.overflow == "drop"

    # ---------------------------------------------------------------- delivery ---
    def deliverable(self, chan: Sequence[Any]) -> list[int]:
        """Positions of the items that may be delivered next: the head of a FIFO channel;
        in an unordered one the first of each distinct item (delivering one of two
        identical items or the other leads to the same channel)."""
        if not chan:
            return []
        if self.fifo:
            return [0]
        return [i for i, item in enumerate(chan) if item not in chan[:i]]

    # ------------------------------------------------------------------ sending ---
    def fits(self, chan: Sequence[Any], burst: Sequence[Any]) -> bool:
        return len(chan) + len(burst) <= self.capacity

    def push(
        self,
        chan: tuple[T, ...],
        burst: tuple[T, ...],
        *,
        canonical: bool = True,
        key: Callable[[T], Any] | None = None,
    ) -> tuple[tuple[T, ...], tuple[T, ...]] | None:
        """The channel after sending ``burst`` into it and what a full channel dropped;
        ``None`` when it has no room and the sender must wait (overflow ``block``).

        An unordered channel kept ``canonical`` is sorted (by ``key``, if given)."""
        room = self.capacity - len(chan)
        dropped: tuple[T, ...] = ()
        if len(burst) > room:
            if not self.drops_overflow:
                return None
            cut = max(room, 0)
            burst, dropped = burst[:cut], burst[cut:]
        out = chan + burst
        if canonical and not self.fifo:
            out = tuple(sorted(out, key=key))  # type: ignore[type-var, arg-type]
        return out, dropped

    # ------------------------------------------------------------- the network ---
    def may_lose(self, lost: int) -> bool:
        """May a run that has lost ``lost`` segments lose another?"""
        return self.loss is None or lost < self.loss

    @property
    def counts_losses(self) -> bool:
        """Losses are counted in the state only under a finite budget."""
        return self.loss is not None

    def may_duplicate(self, dups: int) -> bool:
        return dups < self.duplication

    def losses(
        self, chan: tuple[T, ...], *, distinct: bool = True
    ) -> list[tuple[int, T, tuple[T, ...]]]:
        """``(position, item, channel after)`` for each loss the network may make: any
        item in flight may be lost, whatever the ordering.  ``distinct`` keeps one loss
        per resulting channel (engines whose positions carry no information of their
        own); otherwise every position."""
        out: list[tuple[int, T, tuple[T, ...]]] = []
        seen: set[tuple[T, ...]] = set()
        for i, item in enumerate(chan):
            rest = chan[:i] + chan[i + 1 :]
            if distinct:
                if rest in seen:
                    continue
                seen.add(rest)
            out.append((i, item, rest))
        return out

    def duplicates(
        self, chan: tuple[T, ...], *, key: Callable[[T], Any] | None = None
    ) -> list[tuple[T, tuple[T, ...]]]:
        """``(item, channel after)`` for each duplication: one more copy of an item in
        flight, if it fits (a duplicate is never what a full channel drops); in the
        items' natural order.  ``key`` sorts a canonical channel (see :meth:`push`)."""
        out: list[tuple[T, tuple[T, ...]]] = []
        for item in sorted(set(chan)):  # type: ignore[type-var]
            put = self.push(chan, (item,), key=key)
            if put is None or put[1]:
                continue
            out.append((item, put[0]))
        return out
