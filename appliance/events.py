"""InProcEventBus: fan-out of appliance events (scan progress, library changes) to subscribers.

Publishing never blocks: each subscriber has a bounded buffer; when it is full the subscriber
misses events and, once it catches up, receives a ``gap`` event saying how many it missed (it can
then refetch state). A ring buffer of recent events serves SSE ``Last-Event-ID`` replay.
"""

from __future__ import annotations

import collections
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import trio


class Event(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    type: str
    data: dict[str, Any]
    ts: float


class Subscription:
    def __init__(self, size: int) -> None:
        self._send, self.receive = trio.open_memory_channel[Event](size)
        self.missed = 0
        self.first_missed_seq = 0

    def offer(self, event: Event) -> None:
        if self.missed:
            gap = Event(
                seq=event.seq,
                type="gap",
                ts=event.ts,
                data={"missed": self.missed, "from_seq": self.first_missed_seq},
            )
            try:
                self._send.send_nowait(gap)
            except trio.WouldBlock:
                self.missed += 1
                return
            self.missed = 0
        try:
            self._send.send_nowait(event)
        except trio.WouldBlock:
            if not self.missed:
                self.first_missed_seq = event.seq
            self.missed += 1

    def close(self) -> None:
        self._send.close()


class InProcEventBus:
    def __init__(self, history: int = 1024) -> None:
        self._seq = itertools.count(1)
        self._history: collections.deque[Event] = collections.deque(maxlen=history)
        self._subscribers: set[Subscription] = set()

    def publish(self, type_: str, **data: Any) -> Event:
        event = Event(seq=next(self._seq), type=type_, data=data, ts=time.time())
        self._history.append(event)
        for subscription in list(self._subscribers):
            subscription.offer(event)
        return event

    def since(self, seq: int) -> list[Event] | None:
        """Events after ``seq``; None if some of them already fell out of the history."""
        if self._history and seq + 1 < self._history[0].seq:
            return None
        return [e for e in self._history if e.seq > seq]

    @asynccontextmanager
    async def subscribe(self, size: int = 256) -> AsyncIterator[trio.MemoryReceiveChannel[Event]]:
        subscription = Subscription(size)
        self._subscribers.add(subscription)
        try:
            yield subscription.receive
        finally:
            self._subscribers.discard(subscription)
            subscription.close()
