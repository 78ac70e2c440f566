"""The player's domain model: messages, events, domains and the registry that routes them.

Every user action becomes a :class:`DomainMessage`; its class says which domain owns it
(``domain``), and :class:`DomainRegistry` hands it to exactly that domain. A domain that changed
something others care about emits a :class:`CrossDomainEvent`, which the registry broadcasts to
every domain and to the registry's listeners (the screens). Domains never hold references to each
other; what they share is :class:`~ui.domains.services.Services` (API client, replica, settings),
which is how the registry stays the only path between them and how a handler can be tested with
no window and no other domain.

Handling runs on trio. The UI thread only ever calls :meth:`DomainRegistry.post`, which queues
the message; :meth:`DomainRegistry.run` takes messages off the queue and handles each in its own
task, so a slow request never holds up a key press.
"""

from __future__ import annotations

import enum
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import trio

from ui.domains.services import Services

log = logging.getLogger(__name__)
QUEUE_SIZE = 1024


class DomainName(enum.StrEnum):
    AUTH = "auth"
    LIBRARY = "library"
    MEDIA = "media"
    METADATA = "metadata"
    PLAYER = "player"
    STREAMING = "streaming"
    SETTINGS = "settings"
    UI = "ui"
    USER_MGMT = "user_mgmt"
    SEARCH = "search"


ALL_DOMAINS = tuple(DomainName)


class DomainMessage:
    """Base of every message. Each domain declares one subclass that sets ``domain`` (e.g.
    ``AuthMessage``) and its messages derive from that, so the owner is a property of the type."""

    domain: ClassVar[DomainName]


class CrossDomainEvent:
    """Base of every broadcast event (frozen dataclasses, one per kind of change)."""


@dataclass(frozen=True)
class Notice(CrossDomainEvent):
    """Something the user should read: a failed action, a lockout, the result of a save."""

    text: str
    level: str = "info"  # "info" | "error"
    source: DomainName | None = None


class UnroutableMessage(LookupError):
    """A message whose domain is not registered (a wiring mistake, found at once in tests)."""


class Domain(ABC):
    """One domain: owns its state, handles its messages, reacts to events."""

    name: ClassVar[DomainName]

    def __init__(self, ctx: DomainContext) -> None:
        self.ctx = ctx

    @abstractmethod
    async def handle(self, message: DomainMessage) -> None:
        """Handle one message of this domain."""

    async def on_event(self, event: CrossDomainEvent) -> None:  # noqa: B027 - optional hook
        """React to another domain's announcement (default: ignore)."""


class DomainContext:
    """A domain's handle on the world: post messages, emit events, start background tasks."""

    def __init__(self, registry: DomainRegistry, services: Services) -> None:
        self._registry = registry
        self.services = services

    def post(self, message: DomainMessage) -> None:
        self._registry.post(message)

    async def emit(self, event: CrossDomainEvent) -> None:
        await self._registry.broadcast(event)

    async def notice(
        self, text: str, level: str = "info", source: DomainName | None = None
    ) -> None:
        await self._registry.broadcast(Notice(text=text, level=level, source=source))

    def spawn(self, fn: Callable[[], Any], name: str) -> None:
        """A background task in the registry's nursery (ends with the app, cancelled on exit)."""
        self._registry.spawn(fn, name)


class DomainRegistry:
    """Routes each message to its one domain, broadcasts events to all."""

    def __init__(self, services: Services | None = None) -> None:
        self.services = services or Services()
        self.context = DomainContext(self, self.services)
        self._domains: dict[DomainName, Domain] = {}
        self._listeners: list[Callable[[CrossDomainEvent], None]] = []
        self._send, self._receive = trio.open_memory_channel[DomainMessage](QUEUE_SIZE)
        self._nursery: trio.Nursery | None = None
        self.handled: dict[DomainName, int] = {}

    # --- wiring ---------------------------------------------------------------------------

    def register(self, domain_type: Callable[[DomainContext], Domain]) -> Domain:
        domain = domain_type(self.context)
        if domain.name in self._domains:
            raise ValueError(f"domain {domain.name} registered twice")
        self._domains[domain.name] = domain
        return domain

    def domain(self, name: DomainName) -> Domain:
        try:
            return self._domains[name]
        except KeyError:
            raise UnroutableMessage(f"no {name} domain registered") from None

    @property
    def names(self) -> frozenset[DomainName]:
        return frozenset(self._domains)

    def listen(self, callback: Callable[[CrossDomainEvent], None]) -> Callable[[], None]:
        """Screens subscribe to events here; returns the unsubscribe function."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    # --- routing --------------------------------------------------------------------------

    async def dispatch(self, message: DomainMessage) -> None:
        """Handle one message now, in the caller's task (tests and the run loop use this)."""
        owner = getattr(type(message), "domain", None)
        if owner is None:
            raise UnroutableMessage(f"{type(message).__name__} names no domain")
        domain = self.domain(owner)
        self.handled[owner] = self.handled.get(owner, 0) + 1
        await domain.handle(message)

    async def broadcast(self, event: CrossDomainEvent) -> None:
        for domain in list(self._domains.values()):
            try:
                await domain.on_event(event)
            except Exception:
                log.exception("%s failed on %s", domain.name, type(event).__name__)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("listener failed on %s", type(event).__name__)

    def post(self, message: DomainMessage) -> None:
        """From anywhere (the UI thread included): queue for :meth:`run`. Never blocks."""
        if getattr(type(message), "domain", None) not in self._domains:
            raise UnroutableMessage(f"{type(message).__name__}: no domain for it")
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            log.error("message queue full; dropped %s", type(message).__name__)

    def spawn(self, fn: Callable[[], Any], name: str) -> None:
        if self._nursery is None:
            raise RuntimeError("registry is not running")
        self._nursery.start_soon(self._guarded, fn, name, name=name)

    async def _guarded(self, fn: Callable[[], Any], what: str) -> None:
        try:
            await fn()
        except trio.Cancelled:
            raise
        except Exception as exc:
            log.exception("%s failed", what)
            await self.broadcast(Notice(text=f"{what}: {exc}", level="error"))

    async def _handle(self, message: DomainMessage) -> None:
        await self._guarded(lambda: self.dispatch(message), type(message).__name__)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Handle posted messages until cancelled; each in its own task of this nursery."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            try:
                async for message in self._receive:
                    nursery.start_soon(self._handle, message)
            finally:
                self._nursery = None
