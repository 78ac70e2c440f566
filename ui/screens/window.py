"""The main window: top bar, offline banner, the screen stack, the search overlay, notices.

Global keys: any letter (or ``/``) on a browsing screen opens search; Esc or Backspace goes back
(closing the overlay first); Tab moves focus as usual. The window follows the UI domain's
ScreenChanged events and never switches screens on its own.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QCloseEvent, QKeyEvent
from PyQt6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ui.domains.auth import Logout
from ui.domains.core import CrossDomainEvent, DomainRegistry, Notice
from ui.domains.events import (
    BannerChanged,
    ImageReady,
    LibraryOpened,
    LoggedIn,
    LoggedOut,
    PosterResolved,
    ScreenChanged,
    SearchOverlay,
    SettingsChanged,
)
from ui.domains.library import OpenLibrary
from ui.domains.metadata import FetchImage, ResolvePoster
from ui.domains.ui import Back, Navigate, ShowSearch
from ui.domains.views import LibraryView
from ui.playback.screen import PlayerHost
from ui.screens.auth import ConnectScreen, LoginScreen, SetupScreen
from ui.screens.base import Screen
from ui.screens.browse import HomeScreen, LibraryScreen, SearchOverlayWidget
from ui.screens.detail import DetailScreen
from ui.screens.downloads import DownloadsScreen
from ui.screens.grid_images import GridImages
from ui.screens.settings import SettingsScreen
from ui.screens.theme import stylesheet
from ui.screens.transition import Kind, ScreenTransition
from ui.screens.widgets import PosterCache, button

BROWSING = frozenset({"home", "library", "detail"})


class MainWindow(QMainWindow):
    def __init__(self, registry: DomainRegistry) -> None:
        super().__init__()
        self.registry = registry
        self.closed = False
        self.on_close: list[object] = []
        self.setWindowTitle("Ferrex")
        self.resize(1440, 900)
        self.posters = PosterCache(
            lambda image_id, width: registry.post(FetchImage(image_id, width)),
            lambda item_id: registry.post(ResolvePoster(item_id)),
        )
        self.grid_images = GridImages(registry)
        root = QWidget()
        outer = QVBoxLayout(root)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.topbar = QFrame()
        self.topbar.setObjectName("topbar")
        bar = QHBoxLayout(self.topbar)
        bar.setContentsMargins(24, 6, 24, 6)
        brand = QLabel("FERREX")
        brand.setObjectName("brand")
        bar.addWidget(brand)
        bar.addSpacing(24)
        self.nav_home = button("Home", "nav", lambda: registry.post(Navigate("home")))
        # the library last opened: highlighted on its grid and on the details opened from it
        self.nav_library = button("", "nav", self._open_library)
        self.nav_library.hide()
        self._library: LibraryView | None = None
        self._browsing_from = "home"
        self.nav_search = button("Search", "nav", lambda: registry.post(ShowSearch(True)))
        self.nav_downloads = button(
            "Downloads", "nav", lambda: registry.post(Navigate("downloads"))
        )
        self.nav_settings = button("Settings", "nav", lambda: registry.post(Navigate("settings")))
        for b in (
            self.nav_home,
            self.nav_library,
            self.nav_search,
            self.nav_downloads,
            self.nav_settings,
        ):
            b.setCheckable(True)
            bar.addWidget(b)
        bar.addStretch(1)
        self.user_label = QLabel("")
        self.user_label.setObjectName("muted")
        bar.addWidget(self.user_label)
        self.logout = button("Log out", "", lambda: registry.post(Logout()))
        bar.addWidget(self.logout)
        outer.addWidget(self.topbar)
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.setContentsMargins(24, 8, 24, 8)
        self.banner_text = QLabel("")
        banner_layout.addWidget(self.banner_text)
        self.banner.hide()
        outer.addWidget(self.banner)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)
        self.notice = QLabel("")
        self.notice.setObjectName("muted")
        self.notice.setContentsMargins(24, 6, 24, 8)
        self.notice.hide()
        outer.addWidget(self.notice)
        self.setCentralWidget(root)
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self.notice.hide)

        self.screens: dict[str, Screen] = {}
        for screen in (
            ConnectScreen(registry),
            SetupScreen(registry),
            LoginScreen(registry),
            HomeScreen(registry, self.grid_images),
            LibraryScreen(registry, self.posters, self.grid_images),
            DetailScreen(registry, self.posters),
            SettingsScreen(registry),
            DownloadsScreen(registry),
        ):
            if not screen.name or screen.name in self.screens:
                raise ValueError(
                    f"{type(screen).__name__}: screen name {screen.name!r} is missing or taken"
                )
            self.screens[screen.name] = screen
            self.stack.addWidget(screen)
        # detail slides in/out, other view changes crossfade (instant with animations off)
        self.transition = ScreenTransition(self.stack)
        self.transition.animations = registry.services.settings.display.animations
        self.search = SearchOverlayWidget(registry, self.posters, self.stack)
        # the video screen joins the stack when a playback starts (ui/playback/screen.py)
        self.player_host = PlayerHost(registry, self.stack)
        self.current = "connect"
        self._set_chrome("connect")
        self.apply_theme(registry.services.settings.display.theme)
        registry.listen(self.on_event)

    def apply_theme(self, theme: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setStyleSheet(stylesheet(theme))

    def _set_chrome(self, screen: str) -> None:
        logged_in = screen not in ("connect", "setup", "login")
        for w in (
            self.nav_home,
            self.nav_search,
            self.nav_downloads,
            self.nav_settings,
            self.logout,
            self.user_label,
        ):
            w.setVisible(logged_in)
        self.nav_library.setVisible(logged_in and self._library is not None)
        self._highlight(screen)

    def _highlight(self, screen: str) -> None:
        """Exactly one entry of the top bar is checked: the view on screen. Details belong to
        the view they were opened from (Home or the library); the open search overlay to
        Search; screens without an entry (sign-in) to none."""
        if screen in ("home", "library"):
            self._browsing_from = screen
        place = self._browsing_from if screen == "detail" else screen
        if self.search.isVisible() and screen in BROWSING:
            place = "search"
        for name, b in (
            ("home", self.nav_home),
            ("library", self.nav_library),
            ("search", self.nav_search),
            ("downloads", self.nav_downloads),
            ("settings", self.nav_settings),
        ):
            b.setChecked(place == name)

    def _open_library(self) -> None:
        if self._library is not None:
            self.registry.post(OpenLibrary(self._library.id))
        self._highlight(self.current)

    def show_screen(self, name: str) -> None:
        screen = self.screens.get(name)
        if screen is None:
            return
        previous, self.current = self.current, name
        if name == "detail" and previous in BROWSING - {"detail"}:
            kind = Kind.SLIDE_IN
        elif previous == "detail" and name in BROWSING:
            kind = Kind.SLIDE_OUT
        else:
            kind = Kind.CROSSFADE
        self.transition.change(screen, kind)
        self._set_chrome(name)
        screen.shown()

    def on_event(self, event: CrossDomainEvent) -> None:
        if isinstance(event, ImageReady):
            self.posters.put(event.image_id, event.data)
        elif isinstance(event, PosterResolved):
            self.posters.resolved(event.item_id, event.image_id)
        for screen in self.screens.values():
            screen.on_event(event)
        self.search.on_event(event)
        match event:
            case ScreenChanged(screen=name):
                self.show_screen(name)
            case LibraryOpened(library=library):
                self._library = library
                self.nav_library.setText(library.name)
                self.nav_library.setVisible(self.current not in ("connect", "setup", "login"))
            case SearchOverlay():
                self._highlight(self.current)
            case BannerChanged(text=text):
                self.banner_text.setText(text or "")
                self.banner.setVisible(bool(text))
            case LoggedIn(username=username, me=me):
                shown = (
                    me.user.display_name if me is not None and me.user.display_name else username
                )
                profile = self.registry.services.settings.profile.display_name
                self.user_label.setText(profile or shown)
            case LoggedOut():
                self.user_label.setText("")
            case SettingsChanged(settings=settings, section="display"):
                self.apply_theme(settings.display.theme)
                self.transition.animations = settings.display.animations
            case SettingsChanged(settings=settings, section="profile"):
                me = self.registry.services.me
                self.user_label.setText(
                    settings.profile.display_name
                    or (me.user.display_name or me.user.username if me is not None else "")
                )
            case Notice(text=text, level=level):
                self.notice.setObjectName("error" if level == "error" else "ok")
                self.notice.setStyleSheet("")
                self.notice.setText(text)
                self.notice.show()
                self._notice_timer.start(6000)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if self.search.isVisible():
            self.search.setGeometry(self.stack.rect())

    def keyPressEvent(self, event: QKeyEvent | None) -> None:
        if event is None:
            return
        key = event.key()
        typing_in = isinstance(QApplication.focusWidget(), QLineEdit)
        if key == Qt.Key.Key_Escape or (key == Qt.Key.Key_Backspace and not typing_in):
            self.registry.post(Back())
            return
        text = event.text()
        if (
            self.current in BROWSING
            and not self.search.isVisible()
            and text
            and (text == "/" or text.isalnum())
            and not typing_in
        ):
            self.search.open_with("" if text == "/" else text)
            self.registry.post(ShowSearch(True, "" if text == "/" else text))
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent | None) -> None:
        self.closed = True
        for callback in self.on_close:
            if callable(callback):
                callback()
        super().closeEvent(event)
