"""UIDomain: which screen is showing, the navigation history, the offline banner, the search
overlay. Screens follow its :class:`ScreenChanged` events; they never switch themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ui.domains.core import CrossDomainEvent, Domain, DomainContext, DomainMessage, DomainName
from ui.domains.events import (
    BannerChanged,
    ConnectivityChanged,
    DetailLoaded,
    LibraryOpened,
    LoggedIn,
    LoggedOut,
    ScreenChanged,
    SearchOverlay,
    ServerChosen,
)

SCREENS = (
    "connect",
    "setup",
    "login",
    "home",
    "library",
    "detail",
    "settings",
    "downloads",
    "player",
)
ROOTS = frozenset({"connect", "setup", "login", "home"})


class UiMessage(DomainMessage):
    domain: ClassVar[DomainName] = DomainName.UI


@dataclass(frozen=True)
class Navigate(UiMessage):
    screen: str


@dataclass(frozen=True)
class Back(UiMessage):
    pass


@dataclass(frozen=True)
class ShowSearch(UiMessage):
    open: bool
    text: str = ""


class UiDomain(Domain):
    name = DomainName.UI

    def __init__(self, ctx: DomainContext) -> None:
        super().__init__(ctx)
        self.stack: list[str] = ["connect"]
        self.banner: str | None = None
        self.search_open = False

    @property
    def screen(self) -> str:
        return self.stack[-1]

    async def _go(self, screen: str) -> None:
        if screen not in SCREENS:
            raise ValueError(f"no screen {screen!r}")
        previous = self.screen
        if screen in ROOTS:
            self.stack = [screen]
        elif screen != previous:
            self.stack.append(screen)
        if self.search_open:
            await self._search(False)
        await self.ctx.emit(ScreenChanged(screen=screen, previous=previous))

    async def _search(self, open_: bool, text: str = "") -> None:
        self.search_open = open_
        await self.ctx.emit(SearchOverlay(open=open_, text=text))

    async def handle(self, message: DomainMessage) -> None:
        match message:
            case Navigate(screen=screen):
                await self._go(screen)
            case Back():
                if self.search_open:
                    await self._search(False)
                elif len(self.stack) > 1:
                    previous = self.stack.pop()
                    await self.ctx.emit(ScreenChanged(screen=self.screen, previous=previous))
            case ShowSearch(open=open_, text=text):
                if open_ and self.screen in ("connect", "setup", "login"):
                    return
                await self._search(open_, text)
            case _:
                raise TypeError(f"UiDomain cannot handle {type(message).__name__}")

    async def on_event(self, event: CrossDomainEvent) -> None:
        match event:
            case ServerChosen(reachable=reachable, claimed=claimed, url=url):
                if reachable and not claimed:
                    await self._go("setup")
                elif reachable or url:
                    await self._go("login" if url else "connect")
                else:
                    await self._go("connect")
            case LoggedIn():
                if self.screen in ("connect", "setup", "login"):
                    await self._go("home")
            case LoggedOut():
                await self._go("login")
            case LibraryOpened(refresh=False):
                if self.screen != "library":
                    await self._go("library")
            case DetailLoaded(refresh=False):
                if self.screen != "detail":
                    await self._go("detail")
            case ConnectivityChanged(online=online):
                self.banner = (
                    None
                    if online
                    else ("Offline — the server cannot be reached. Browsing your local copy.")
                )
                await self.ctx.emit(BannerChanged(text=self.banner))
