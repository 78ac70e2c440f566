"""DecisionEngine: answer a media query from the replica, the server, or both at once.

* ``CLIENT_ONLY`` when the replica holds everything the query can match and it is clearly the
  cheaper one (or the server cannot be reached, or refuses the query as too complex);
* ``SERVER_ONLY`` when the replica is not complete for the query (no snapshot yet, or a filter
  the replica cannot evaluate), or the server is clearly cheaper;
* ``PARALLEL_RACE`` when both can answer and their estimated costs are within
  :data:`RACE_WINDOW_MS` of each other: both run, the first answer wins and the other is
  cancelled (a trio cancel scope), so a congested network or a busy replica never sets the pace.

Both estimates start from the shared cost function, :func:`sync.query.query_cost` (the points the
server's ComplexityGuard charges), and are corrected by what was measured: the engine keeps an
exponentially weighted average of observed server round trips and of the replica's time per item.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import trio

from sync.query import ComplexityGuard, MediaQuery, query_cost

R = TypeVar("R")
RACE_WINDOW_MS = 500.0
# Priors until something is measured: a LAN round trip plus a cheap indexed query on the server,
# and a filtered scan of decoded cards on the client.
SERVER_BASE_MS = 25.0
SERVER_MS_PER_POINT = 12.0
CLIENT_US_PER_ITEM = 2.0
CLIENT_US_PER_ITEM_PER_POINT = 0.6
EWMA = 0.3


class Strategy(enum.StrEnum):
    CLIENT_ONLY = "client_only"
    SERVER_ONLY = "server_only"
    PARALLEL_RACE = "parallel_race"


@dataclass(frozen=True)
class Decision:
    strategy: Strategy
    client_ms: float
    server_ms: float
    points: int
    reason: str


@dataclass(frozen=True)
class Outcome(Generic[R]):
    result: R
    winner: str  # "client" | "server"
    decision: Decision
    elapsed_ms: float


class NoSource(RuntimeError):
    """Neither side can answer (offline and no replica for the query)."""


class DecisionEngine:
    def __init__(self, guard: ComplexityGuard | None = None) -> None:
        self.guard = guard or ComplexityGuard()
        self.server_base_ms = SERVER_BASE_MS
        self.client_us_per_item = CLIENT_US_PER_ITEM

    # --- estimates ------------------------------------------------------------------------

    def estimate_client_ms(self, q: MediaQuery, items: int) -> float:
        points = sum(c.points for c in query_cost(q))
        return items * (self.client_us_per_item + points * CLIENT_US_PER_ITEM_PER_POINT) / 1000

    def estimate_server_ms(self, q: MediaQuery) -> float:
        points = sum(c.points for c in query_cost(q))
        return self.server_base_ms + points * SERVER_MS_PER_POINT

    def observe_server(self, q: MediaQuery, elapsed_ms: float) -> None:
        points = sum(c.points for c in query_cost(q))
        base = max(1.0, elapsed_ms - points * SERVER_MS_PER_POINT)
        self.server_base_ms = (1 - EWMA) * self.server_base_ms + EWMA * base

    def observe_client(self, q: MediaQuery, items: int, elapsed_ms: float) -> None:
        if items <= 0:
            return
        points = sum(c.points for c in query_cost(q))
        per_item = max(0.01, elapsed_ms * 1000 / items - points * CLIENT_US_PER_ITEM_PER_POINT)
        self.client_us_per_item = (1 - EWMA) * self.client_us_per_item + EWMA * per_item

    # --- choice ---------------------------------------------------------------------------

    def decide(
        self, q: MediaQuery, *, replica_complete: bool, replica_items: int, online: bool
    ) -> Decision:
        points = sum(c.points for c in query_cost(q))
        client = self.estimate_client_ms(q, replica_items) if replica_complete else float("inf")
        server = self.estimate_server_ms(q) if online else float("inf")

        def make(strategy: Strategy, reason: str) -> Decision:
            return Decision(
                strategy=strategy, client_ms=client, server_ms=server, points=points, reason=reason
            )

        if not online and not replica_complete:
            raise NoSource("offline, and the replica cannot answer this query")
        if not online:
            return make(Strategy.CLIENT_ONLY, "server unreachable")
        if not replica_complete:
            return make(Strategy.SERVER_ONLY, "replica not complete for this query")
        if not self.guard.evaluate(q).accepted:
            return make(Strategy.CLIENT_ONLY, "over the server's complexity budget")
        if abs(client - server) <= RACE_WINDOW_MS:
            return make(
                Strategy.PARALLEL_RACE,
                f"estimates within {RACE_WINDOW_MS:.0f} ms ({client:.1f} vs {server:.1f})",
            )
        if client < server:
            return make(Strategy.CLIENT_ONLY, f"replica cheaper ({client:.1f} vs {server:.1f} ms)")
        return make(Strategy.SERVER_ONLY, f"server cheaper ({server:.1f} vs {client:.1f} ms)")

    # --- execution ------------------------------------------------------------------------

    async def execute(
        self,
        q: MediaQuery,
        decision: Decision,
        *,
        replica_items: int,
        client: Callable[[], Awaitable[R]],
        server: Callable[[], Awaitable[R]],
    ) -> Outcome[R]:
        started = time.perf_counter()

        async def timed(side: str, fn: Callable[[], Awaitable[R]]) -> R:
            t0 = time.perf_counter()
            result = await fn()
            ms = (time.perf_counter() - t0) * 1000
            if side == "client":
                self.observe_client(q, replica_items, ms)
            else:
                self.observe_server(q, ms)
            return result

        def outcome(result: R, winner: str) -> Outcome[R]:
            return Outcome(
                result=result,
                winner=winner,
                decision=decision,
                elapsed_ms=(time.perf_counter() - started) * 1000,
            )

        if decision.strategy is Strategy.CLIENT_ONLY:
            return outcome(await timed("client", client), "client")
        if decision.strategy is Strategy.SERVER_ONLY:
            return outcome(await timed("server", server), "server")

        results: list[tuple[str, R]] = []
        failures: list[BaseException] = []

        async def run_side(
            side: str, fn: Callable[[], Awaitable[R]], cancel: trio.CancelScope
        ) -> None:
            try:
                results.append((side, await timed(side, fn)))
                cancel.cancel()  # first answer wins: the other side is cancelled
            except Exception as exc:  # one side failing leaves the race to the other
                failures.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_side, "client", client, nursery.cancel_scope)
            nursery.start_soon(run_side, "server", server, nursery.cancel_scope)
        if results:
            side, result = results[0]
            return outcome(result, side)
        raise failures[0]
