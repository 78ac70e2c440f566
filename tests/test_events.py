"""The event bus never blocks publishers; slow subscribers get a gap marker."""

from __future__ import annotations

from appliance.events import InProcEventBus


async def test_subscribers_receive_in_order() -> None:
    bus = InProcEventBus()
    async with bus.subscribe() as events:
        bus.publish("scan.progress", files=1)
        bus.publish("scan.progress", files=2)
        assert [(await events.receive()).data["files"] for _ in range(2)] == [1, 2]


async def test_slow_subscriber_gets_a_gap_and_never_blocks_publishing() -> None:
    bus = InProcEventBus()
    async with bus.subscribe(size=2) as slow:
        for n in range(10):
            bus.publish("tick", n=n)  # publish is synchronous: it cannot wait for a reader
        assert [(await slow.receive()).data["n"] for _ in range(2)] == [0, 1]
        bus.publish("tick", n=10)
        gap = await slow.receive()
        assert gap.type == "gap" and gap.data == {"missed": 8, "from_seq": 3}
        assert (await slow.receive()).data["n"] == 10


def test_history_replays_after_a_sequence_or_says_it_cannot() -> None:
    bus = InProcEventBus(history=3)
    for n in range(5):
        bus.publish("tick", n=n)
    replay = bus.since(3)
    assert replay is not None and [e.seq for e in replay] == [4, 5]
    assert bus.since(0) is None, "events 1-2 are gone: the client must refetch"
