"""SearchDomain: the search overlay's query and results, answered through the DecisionEngine.

A new keystroke cancels the search still running for the previous text (a trio cancel scope),
so results never arrive out of order and the server is not asked for every letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import trio

from sync.client_errors import ApiError, FerrexClientError
from sync.query import MIN_SEARCH_CHARS, MediaQuery
from ui.domains.catalog import replica_ready
from ui.domains.core import CrossDomainEvent, Domain, DomainContext, DomainMessage, DomainName
from ui.domains.decision import DecisionEngine, NoSource, Outcome, Strategy
from ui.domains.events import LoggedOut, SearchResults
from ui.domains.views import CardView, card_from_api, card_from_replica

DEBOUNCE_S = 0.12
SEARCH_LIMIT = 60


class SearchMessage(DomainMessage):
    domain: ClassVar[DomainName] = DomainName.SEARCH


@dataclass(frozen=True)
class Search(SearchMessage):
    text: str


def _local_filter(replica: Any, q: MediaQuery) -> tuple[list[CardView], int]:
    cards, total = replica.query(q)
    return [card_from_replica(c) for c in cards], int(total)


class SearchDomain(Domain):
    name = DomainName.SEARCH

    def __init__(self, ctx: DomainContext) -> None:
        super().__init__(ctx)
        self.engine = DecisionEngine()
        self.text = ""
        self.results: SearchResults | None = None
        self._scope: trio.CancelScope | None = None

    def query_for(self, text: str) -> MediaQuery:
        return MediaQuery(
            search=text.strip(), kinds=["movie", "series", "episode"], limit=SEARCH_LIMIT
        )

    async def _run(self, text: str) -> None:
        services = self.ctx.services
        q = self.query_for(text)
        replica = services.replica
        complete = replica_ready(services) and bool(replica.is_complete_for(q))
        items = int(replica.count()) if complete else 0
        try:
            decision = self.engine.decide(
                q,
                replica_complete=complete,
                replica_items=items,
                online=services.online and services.api is not None,
            )
        except NoSource:
            await self.ctx.notice(
                "Offline: search needs the server or a synced local copy.", "error", self.name
            )
            return

        async def client() -> tuple[list[CardView], int]:
            await trio.lowlevel.checkpoint()
            return _local_filter(replica, q)

        async def server() -> tuple[list[CardView], int]:
            assert services.api is not None
            result = await services.api.query(q)
            return [card_from_api(i) for i in result.items], result.total or len(result.items)

        try:
            outcome: Outcome[tuple[list[CardView], int]] = await self.engine.execute(
                q, decision, replica_items=items, client=client, server=server
            )
        except FerrexClientError as exc:
            if decision.strategy is Strategy.SERVER_ONLY and complete:
                outcome = Outcome(
                    result=_local_filter(replica, q),
                    winner="client",
                    decision=decision,
                    elapsed_ms=0.0,
                )
            else:
                text_ = exc.message if isinstance(exc, ApiError) else "server unreachable"
                await self.ctx.notice(f"Search failed: {text_}", "error", self.name)
                return
        cards, total = outcome.result
        self.results = SearchResults(
            text=text,
            cards=tuple(cards),
            total=total,
            strategy=decision.strategy.value,
            winner=outcome.winner,
            elapsed_ms=outcome.elapsed_ms,
        )
        await self.ctx.emit(self.results)

    async def handle(self, message: DomainMessage) -> None:
        match message:
            case Search(text=text):
                self.text = text
                if self._scope is not None:
                    self._scope.cancel()
                if len(text.strip()) < MIN_SEARCH_CHARS:
                    self.results = SearchResults(
                        text=text, cards=(), total=0, strategy="none", winner="none", elapsed_ms=0.0
                    )
                    await self.ctx.emit(self.results)
                    return
                with trio.CancelScope() as scope:
                    self._scope = scope
                    await trio.sleep(DEBOUNCE_S)
                    await self._run(text)
                if self._scope is scope:
                    self._scope = None
            case _:
                raise TypeError(f"SearchDomain cannot handle {type(message).__name__}")

    async def on_event(self, event: CrossDomainEvent) -> None:
        if isinstance(event, LoggedOut):
            self.text, self.results = "", None
