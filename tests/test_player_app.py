"""The player app end to end: real Qt (under pytest-xvfb), trio as Qt's guest, a real appliance.

One appliance per module. The first test walks a new user's path (connect, claim, password
login, PIN, logout, PIN login, add a library, scan progress, home rows, detail view with the HDR
badge, search overlay, a live setting); the last one stops the appliance and starts the player
offline. Screenshots of each main screen go to a temporary folder (``ferrex-screenshots`` in the
system's temp dir), or, with ``FERREX_UPDATE_SCREENSHOTS=1``, over the tracked pictures in
docs/screenshots/ that docs/player.md shows: a plain test run leaves the working tree clean.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio
from PIL import Image, ImageDraw
from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication, QWidget

from tests.helpers import (
    REPO,
    RunningAppliance,
    http_json,
    live_processes_mentioning,
    short_tempdir,
)
from tests.media_fixtures import MediaFiles
from ui.app import close_services, make_services
from ui.domains.core import DomainName, DomainRegistry
from ui.domains.events import ScanProgress
from ui.domains.registry import build_registry
from ui.domains.settings import SettingsDomain
from ui.qt_trio import run as run_guest
from ui.screens.auth import ConnectScreen, LoginScreen, SetupScreen
from ui.screens.browse import HomeScreen, LibraryScreen
from ui.screens.detail import DetailScreen
from ui.screens.settings import SettingsScreen
from ui.screens.window import MainWindow
from ui.settings.store import SettingsStore

pytest_plugins = ["tests.media_fixtures"]
pytestmark = pytest.mark.slow
UPDATE_SCREENSHOTS = os.environ.get("FERREX_UPDATE_SCREENSHOTS") == "1"
SHOTS = (
    REPO / "docs" / "screenshots"
    if UPDATE_SCREENSHOTS
    else Path(tempfile.gettempdir()) / "ferrex-screenshots"
)
PASSWORD = "correct horse battery"
MOVIES = [
    (
        "Starfall Horizon",
        2021,
        "#1d3557",
        "#e63946",
        "hdr10_mkv",
        "A salvage pilot finds a derelict ship broadcasting her own voice.",
    ),
    (
        "The Quiet Orchard",
        2019,
        "#2a9d8f",
        "#e9c46a",
        "sdr_mp4",
        "Three sisters return to the family farm for one last harvest.",
    ),
    (
        "Midnight Circuit",
        2023,
        "#3c096c",
        "#ff9e00",
        "sdr_mp4",
        "An underground racer takes one job too many across a neon city.",
    ),
    (
        "Paper Lanterns",
        2017,
        "#9d0208",
        "#ffba08",
        "sdr_mp4",
        "A festival, a lost letter and a night that changes a small town.",
    ),
]
# a film without any art (and no frames to grab): the placeholder card, the same in every view
NO_ART = [("Perfect Child", 2007, "A girl who never makes a mistake, until the day she does.")]


def _art(path: Path, size: tuple[int, int], top: str, bottom: str, title: str) -> None:
    image = Image.new("RGB", size, top)
    draw = ImageDraw.Draw(image)
    w, h = size
    for y in range(h):  # vertical gradient between the two colours
        t = y / h
        a = tuple(int(top[i : i + 2], 16) for i in (1, 3, 5))
        b = tuple(int(bottom[i : i + 2], 16) for i in (1, 3, 5))
        draw.line([(0, y), (w, y)], fill=tuple(int(a[k] + (b[k] - a[k]) * t) for k in range(3)))
    for i in range(6):
        r = w // (3 + i)
        draw.ellipse(
            [w // 2 - r, h // 3 - r, w // 2 + r, h // 3 + r], outline=(255, 255, 255), width=2
        )
    draw.text((w // 12, int(h * 0.8)), title.upper(), fill=(255, 255, 255))
    image.save(path, quality=90)


def make_movies(root: Path, media: MediaFiles) -> Path:
    films = root / "films"
    for title, year, top, bottom, source, plot in MOVIES:
        folder = films / f"{title} ({year})"
        folder.mkdir(parents=True)
        src: Path = getattr(media, source)
        shutil.copy(src, folder / f"{title} ({year}){src.suffix}")
        _art(folder / "poster.jpg", (400, 600), top, bottom, title)
        _art(folder / "fanart.jpg", (1280, 720), bottom, top, "")
        (folder / "movie.nfo").write_text(
            f"<movie><title>{title}</title><year>{year}</year><plot>{plot}</plot>"
            f"<genre>Drama</genre><genre>Adventure</genre><rating>7.{year % 10}</rating>"
            "<actor><name>Ada Brightwell</name><role>Captain Mara Voss</role></actor>"
            "<actor><name>Jonah Reyes</name><role>Eli</role></actor></movie>"
        )
    for title, year, plot in NO_ART:
        folder = films / f"{title} ({year})"
        folder.mkdir(parents=True)
        (folder / f"{title} ({year}).mkv").touch()
        (folder / "movie.nfo").write_text(
            f"<movie><title>{title}</title><year>{year}</year><plot>{plot}</plot>"
            "<genre>Drama</genre></movie>"
        )
    for p in [root, *root.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    return films


@dataclass
class Env:
    app: RunningAppliance
    base: str
    films: Path
    player_dir: Path


@pytest.fixture(scope="module")
def env(media_files: MediaFiles) -> Iterator[Env]:
    root = short_tempdir("fxpl")
    try:
        films = make_movies(root / "media", media_files)
        app = RunningAppliance(root / "var", env={"FERREX_MEDIA_PEAK_HOURS": ""})
        base = app.wait_ready()
        player_dir = root / "player"
        yield Env(app, base, films, player_dir)
        app.stop()
    finally:
        for pid in live_processes_mentioning(str(root)):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


# --- driving the app ------------------------------------------------------------------------

Scenario = Callable[[MainWindow, DomainRegistry], Awaitable[None]]


def drive(qapp: QApplication, player_dir: Path, scenario: Scenario) -> None:
    """The app as ``ferrex-player`` runs it (trio guest on Qt's loop), driven by ``scenario``."""
    saved = {k: os.environ.get(k) for k in ("FERREX_PLAYER_KEYRING", "XDG_CONFIG_HOME")}
    os.environ["FERREX_PLAYER_KEYRING"] = "0"  # the encrypted-file store, on any machine
    os.environ["XDG_CONFIG_HOME"] = str(player_dir / "config")
    services = make_services(player_dir)
    registry = build_registry(services)
    window = MainWindow(registry)
    window.resize(1440, 900)
    window.show()
    window.activateWindow()  # no window manager under Xvfb: focus needs an active window

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(registry.run)
            with trio.fail_after(150):
                await scenario(window, registry)
            nursery.cancel_scope.cancel()
        await close_services(services)

    try:
        run_guest(qapp, main)
    finally:
        window.close()
        for key, value in saved.items():  # other tests of the session see the usual env
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def until(
    predicate: Callable[[], object], what: str | Callable[[], str], timeout: float = 30
) -> None:
    with trio.move_on_after(timeout):
        while not predicate():
            await trio.sleep(0.05)
        return
    raise AssertionError(f"timed out waiting for: {what() if callable(what) else what}")


def screen(window: MainWindow) -> str:
    return window.current


async def type_into(widget: QWidget, text: str, enter: bool = True) -> None:
    widget.setFocus()
    QTest.keyClicks(widget, text)
    if enter:
        QTest.keyClick(widget, Qt.Key.Key_Return)
    await trio.lowlevel.checkpoint()


async def shot(window: MainWindow, name: str) -> None:
    window.notice.hide()  # a notice from an earlier step would only confuse the picture
    await trio.sleep(0.4)  # let images arrive and repaint
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(SHOTS / f"{name}.png"))


# --- tests ----------------------------------------------------------------------------------


def test_first_run_to_pin_login_library_detail_search_settings(
    qapp: QApplication, env: Env
) -> None:
    scans: list[ScanProgress] = []

    async def scenario(window: MainWindow, registry: DomainRegistry) -> None:
        registry.listen(lambda e: scans.append(e) if isinstance(e, ScanProgress) else None)
        connect = window.screens["connect"]
        assert isinstance(connect, ConnectScreen)
        window.show_screen("connect")
        line = connect.url.lineEdit()
        assert line is not None
        await shot(window, "connect")
        # a bad address is refused with a message, not a crash
        await type_into(line, "http://")
        await until(
            lambda: "not an http" in connect.status.text() or "address" in connect.status.text(),
            "bad URL message",
        )
        line.clear()
        await type_into(line, env.base)
        await until(lambda: screen(window) == "setup", "setup screen (unclaimed server)")
        setup = window.screens["setup"]
        assert isinstance(setup, SetupScreen)
        setup.display_name.setText("Ada")
        await type_into(setup.password, PASSWORD, enter=False)
        await type_into(setup.confirm, PASSWORD)
        await until(lambda: screen(window) == "home", "home after claiming")
        assert registry.services.me is not None and registry.services.me.scope == "full"

        # add a library from Settings -> Libraries and watch its scan
        registry.post(__import__("ui.domains.ui", fromlist=["Navigate"]).Navigate("settings"))
        await until(lambda: screen(window) == "settings", "settings")
        settings = window.screens["settings"]
        assert isinstance(settings, SettingsScreen)
        assert "Libraries" in [
            settings.menu.item(i).text()  # type: ignore[union-attr]
            for i in range(settings.menu.count())
        ]
        settings.select("libraries")
        settings.lib_name.setText("Films")
        settings.lib_folder.setText(str(env.films))
        QTest.mouseClick(settings.add_library_button, Qt.MouseButton.LeftButton)
        await until(lambda: settings.libraries.rowCount() == 1, "library in the table")
        await until(lambda: any(s.state == "completed" for s in scans), "scan completed", 90)
        assert any(s.files_found >= len(MOVIES) for s in scans)
        await until(lambda: "completed" in settings.scan_label.text(), "progress label")
        settings.libraries.selectRow(0)
        settings.lib_name.setText("Film Club")
        QTest.mouseClick(settings.rename_button, Qt.MouseButton.LeftButton)
        await until(lambda: settings.libraries.item(0, 0).text() == "Film Club", "renamed")
        await shot(window, "settings-libraries")

        # Server policy (admin): a longer minimum password, applied at once by the server
        settings.select("server")
        await until(lambda: "password_min_length" in settings.server_fields, "server policy")
        field = settings.server_fields["password_min_length"]
        field.setValue(12)
        field.editingFinished.emit()
        settings_domain = registry.domain(DomainName.SETTINGS)
        assert isinstance(settings_domain, SettingsDomain)
        await until(
            lambda: settings_domain.server_values.get("password_min_length") == 12, "policy saved"
        )
        await shot(window, "settings-server")
        settings.select("users")
        await until(lambda: settings.users.rowCount() == 1, "users table")
        settings.new_username.setText("guest1")
        settings.new_user_password.setText("short-pass1")  # 11 characters
        QTest.mouseClick(settings.create_user_button, Qt.MouseButton.LeftButton)
        await until(lambda: "at least 12" in window.notice.text(), "password rule message")
        settings.new_user_password.setText("a much longer pass")
        settings.new_role.setCurrentText("guest")
        QTest.mouseClick(settings.create_user_button, Qt.MouseButton.LeftButton)
        await until(lambda: settings.users.rowCount() == 2, "user created")
        settings.users.selectRow(
            next(r for r in range(2) if settings.users.item(r, 0).text() == "guest1")
        )
        settings.edit_role.setCurrentText("user")
        QTest.mouseClick(settings.change_role_button, Qt.MouseButton.LeftButton)
        await until(
            lambda: any(
                settings.users.item(r, 0).text() == "guest1"
                and settings.users.item(r, 2).text() == "user"
                for r in range(settings.users.rowCount())
            ),
            "role changed",
        )

        # set a PIN in Settings -> Security
        settings.select("security")
        await type_into(settings.pin, "2580", enter=False)
        await type_into(settings.pin_confirm, "2580", enter=False)
        QTest.mouseClick(settings.pin_button, Qt.MouseButton.LeftButton)
        await until(lambda: "trusted" in settings.security_status.text(), "PIN saved")

        # the profile's display name shows in the top bar at once
        settings.select("profile")
        name_field = settings.forms["profile"].widgets["display_name"]
        name_field.setText("Ada L.")  # type: ignore[union-attr]
        name_field.editingFinished.emit()  # type: ignore[union-attr]
        await until(lambda: window.user_label.text() == "Ada L.", "profile name applied")

        # change a setting: applied live and persisted
        settings.select("display")
        form = settings.forms["display"]
        form.widgets["poster_width"].setValue(150)  # type: ignore[union-attr]
        await until(
            lambda: registry.services.settings.display.poster_width == 150, "setting applied"
        )
        assert SettingsStore(env.player_dir).load_settings().display.poster_width == 150
        await shot(window, "settings-display")

        # home: rows with the scanned movies, then a detail view with the HDR badge
        window.nav_home.click()
        home = window.screens["home"]
        assert isinstance(home, HomeScreen)
        await until(
            lambda: (
                any("Recently Added" in t for t in home.row_titles)
                and sum(len(c) for c in home.row_cards) >= len(MOVIES)
            ),
            "home rows",
            60,
        )
        recent = home.row_titles.index(next(t for t in home.row_titles if "Recently Added" in t))
        row, cards = home.rows[recent], home.row_cards[recent]
        # the GL carousel asked the shared image service for its posters and uploaded them
        await until(lambda: row.view.stats.uploads >= len(MOVIES), "posters on the GPU", 30)
        # progress recorded elsewhere (another device) reaches this one: Continue Watching
        orchard = next(c for c in cards if c.title == "The Quiet Orchard")
        api = registry.services.api
        assert api is not None
        status, body = http_json(
            "PUT",
            f"{env.base}/api/v1/media/items/{orchard.id}/progress",
            {
                "position_s": 0.4,
                "duration_s": 1.0,
                "client_ts": "2026-01-01T10:00:00Z",
                "device_id": "tv",
            },
            token=api.access_token,
        )
        assert status == 200, body
        await until(lambda: "Continue Watching" in home.row_titles, "Continue Watching row", 30)
        continuing = home.row_cards[home.row_titles.index("Continue Watching")]
        assert [c.title for c in continuing] == ["The Quiet Orchard"]
        assert continuing[0].progress is not None and 0.3 < continuing[0].progress < 0.5
        recent = home.row_titles.index(next(t for t in home.row_titles if "Recently Added" in t))
        row, cards = home.rows[recent], home.row_cards[recent]
        await shot(window, "home")
        # keyboard: Up from the first row reaches the library buttons, Down comes back
        first = home.rows[0]
        window.activateWindow()  # the GL rows' native windows took activation (no WM here)
        await until(window.isActiveWindow, "window active")
        first.widget.setFocus()
        QTest.keyClick(first.widget, Qt.Key.Key_Up)
        assert home.library_buttons[0].hasFocus()
        QTest.keyClick(home.library_buttons[0], Qt.Key.Key_Down)
        row.widget.setFocus()
        target = next(i for i, c in enumerate(cards) if c.title == "Starfall Horizon")
        for _ in range(target - row.view.selected):  # ←/→ move the focus along the carousel
            QTest.keyClick(row.widget, Qt.Key.Key_Right)
        assert row.view.selected == target
        QTest.keyClick(row.widget, Qt.Key.Key_Return)
        await until(lambda: screen(window) == "detail", "detail view")
        detail = window.screens["detail"]
        assert isinstance(detail, DetailScreen)
        # the detail panel slid in on the window's frame clock and came to rest in place
        await until(lambda: not window.transition.active, "detail panel in")
        assert window.transition.frames > 0 and detail.x() == 0
        await until(lambda: detail.detail is not None and detail.detail.files, "detail data")
        assert detail.title.text() == "Starfall Horizon"
        assert "derelict ship" in detail.overview.text()
        assert "Ada Brightwell" in detail.cast.text()
        badges = [
            w.text() for w in detail.findChildren(type(detail.title)) if w.objectName() == "hdr"
        ]
        assert badges == ["HDR10"]
        await shot(window, "detail")
        detail.mark.click()  # Mark watched: local first, then synced
        await until(lambda: detail.detail is not None and detail.detail.watched, "watched")
        assert detail.mark.text() == "Mark unwatched"
        QTest.keyClick(window, Qt.Key.Key_Escape)
        await until(lambda: screen(window) == "home", "Esc goes back")

        # a library from the replica is the GPU poster grid; Enter on a poster opens it
        home.library_buttons[0].click()
        await until(lambda: screen(window) == "library", "library screen")
        library = window.screens["library"]
        assert isinstance(library, LibraryScreen)
        await until(lambda: library.poster_grid is not None, "poster grid")
        grid = library.poster_grid
        assert grid is not None and grid.view.window.count == len(MOVIES) + len(NO_ART)
        await until(
            lambda: library.images is not None and library.images.stats.decoded >= len(MOVIES),
            "grid posters decoded",
            30,
        )
        await until(lambda: grid.view.stats.uploads >= len(MOVIES), "posters on the GPU")
        await shot(window, "library")
        QTest.keyClick(grid.widget, Qt.Key.Key_Right)
        QTest.keyClick(grid.widget, Qt.Key.Key_Return)
        await until(lambda: screen(window) == "detail", "detail from the grid")
        QTest.keyClick(window, Qt.Key.Key_Escape)
        await until(lambda: screen(window) == "library", "Esc back to the grid")
        QTest.keyClick(window, Qt.Key.Key_Escape)
        await until(lambda: screen(window) == "home", "Esc back home")

        # search overlay opens on typing a letter
        home.rows[0].widget.setFocus()
        QTest.keyClick(home.rows[0].widget, Qt.Key.Key_M)
        await until(lambda: window.search.isVisible(), "search overlay")
        QTest.keyClicks(window.search.field, "idnight")
        await until(
            lambda: [c.title for c in window.search.results.cards()] == ["Midnight Circuit"],
            "search result",
        )
        assert "found" in window.search.info.text()
        found = window.search.results.cards()[0]
        await until(lambda: window.posters.for_card(found) is not None, "poster in search", 30)
        await shot(window, "search")
        QTest.keyClick(window.search.field, Qt.Key.Key_Escape)
        await until(lambda: not window.search.isVisible(), "Esc closes search")

        # the replica followed the server: the four movies are on this device now
        replica = registry.services.replica
        await until(lambda: replica.count() >= len(MOVIES), "replica synced")

        # log out, then log in with the PIN (this device is trusted now)
        window.logout.click()
        await until(lambda: screen(window) == "login", "login screen")
        login = window.screens["login"]
        assert isinstance(login, LoginScreen)
        await until(lambda: login.pin_mode, "PIN field for the trusted user")
        await type_into(login.pin, "1111")
        await until(lambda: login.status.text() == "Wrong PIN.", "wrong PIN message")
        await shot(window, "login")
        await type_into(login.pin, "2580")
        await until(lambda: screen(window) == "home", "home after PIN login")
        me = registry.services.me
        assert me is not None and me.scope == "playback"
        # a PIN session gets no admin sections, whatever the role
        window.nav_settings.click()
        await until(lambda: screen(window) == "settings", "settings")
        titles = [
            settings.menu.item(i).text()  # type: ignore[union-attr]
            for i in range(settings.menu.count())
        ]
        assert "Libraries" not in titles and "Users" not in titles and "Display" in titles

        # wrong PINs lock PIN login on this device; the message says so, a password unlocks it
        window.logout.click()
        await until(lambda: screen(window) == "login" and login.pin_mode, "PIN login again")
        for _attempt in range(4):
            await type_into(login.pin, "0000")
            await until(lambda: login.status.text() != "", "a PIN answer")
            if "locked" in login.status.text():
                break
            login.status.setText("")
        assert "Log in with your password" in login.status.text()
        await shot(window, "login-locked")
        window.activateWindow()  # the GL grid's native window took activation (no WM here)
        login.use_password.setFocus()
        QTest.keyClick(login.use_password, Qt.Key.Key_Space)  # keyboard only
        assert not login.pin_mode
        await until(lambda: login.password.hasFocus(), "password field focused")
        await type_into(login.password, PASSWORD)
        await until(lambda: screen(window) == "home", "home after password login")
        me = registry.services.me
        assert me is not None and me.scope == "full"

        # Devices lists this one; Security changes the password (the new one works next time)
        window.nav_settings.click()
        await until(lambda: screen(window) == "settings", "settings")
        settings.select("devices")
        await until(lambda: settings.devices.rowCount() >= 1, "devices listed")
        states = [settings.devices.item(r, 2).text() for r in range(settings.devices.rowCount())]
        assert any(s.startswith("trusted") for s in states), states
        settings.select("security")
        settings.current_password.setText(PASSWORD)
        settings.new_password.setText(PASSWORD + " two")
        settings.confirm_password.setText(PASSWORD + " two")
        QTest.mouseClick(settings.password_button, Qt.MouseButton.LeftButton)
        await until(
            lambda: "Password changed" in settings.security_status.text(), "password changed"
        )
        window.logout.click()
        await until(lambda: screen(window) == "login", "login")
        window.activateWindow()
        login.use_password.setFocus()
        QTest.keyClick(login.use_password, Qt.Key.Key_Space)
        await type_into(login.password, PASSWORD)
        await until(lambda: login.status.text() == "Wrong username or password.", "old refused")
        await type_into(login.password, PASSWORD + " two")
        await until(lambda: screen(window) == "home", "new password works")

    drive(qapp, env.player_dir, scenario)


def test_offline_start_with_the_server_stopped(qapp: QApplication, env: Env) -> None:
    """Last server and user come back from disk; the banner says offline; nothing crashes."""
    env.app.stop()

    async def scenario(window: MainWindow, registry: DomainRegistry) -> None:
        from ui.domains.auth import RestoreSession

        registry.post(RestoreSession())
        await until(lambda: screen(window) == "home", "home from the local state")
        await until(lambda: window.banner.isVisible(), "offline banner")
        assert "Offline" in window.banner_text.text()
        assert not registry.services.online
        # everything browseable offline: rows, posters (disk cache), details, search
        home = window.screens["home"]
        assert isinstance(home, HomeScreen)
        await until(lambda: sum(len(c) for c in home.row_cards) >= len(MOVIES), "offline rows")
        row = home.rows[-1]
        await until(lambda: row.view.stats.uploads >= len(MOVIES), "posters from the disk cache")
        await shot(window, "offline")
        row.widget.setFocus()
        QTest.keyClick(row.widget, Qt.Key.Key_Return)
        await until(lambda: screen(window) == "detail", "detail offline")
        detail = window.screens["detail"]
        assert isinstance(detail, DetailScreen)
        await until(lambda: detail.detail is not None and detail.detail.overview, "offline data")
        QTest.keyClick(window, Qt.Key.Key_Escape)
        await until(lambda: screen(window) == "home", "back home")
        home.rows[0].widget.setFocus()
        QTest.keyClick(home.rows[0].widget, Qt.Key.Key_P)
        QTest.keyClicks(window.search.field, "aper")
        await until(
            lambda: [c.title for c in window.search.results.cards()] == ["Paper Lanterns"],
            lambda: (
                "offline search: "
                + window.search.info.text()
                + " | "
                + window.notice.text()
                + " | "
                + str([c.title for c in window.search.results.cards()])
            ),
        )
        assert "this device" in window.search.info.text()

    drive(qapp, env.player_dir, scenario)


def test_server_policy_survives_a_restart(env: Env) -> None:
    """What the admin set in the Server section is kept in the data dir, not lost on restart."""
    env.app.stop()
    app = RunningAppliance(env.app.data_dir, env={"FERREX_MEDIA_PEAK_HOURS": ""})
    try:
        base = app.wait_ready()
        status, body = http_json(
            "POST",
            base + "/api/v1/auth/login",
            {
                "username": "admin",
                "password": PASSWORD + " two",
                "device": {"id": "policy-check", "name": "check", "platform": "linux"},
            },
        )
        assert status == 200, body
        admin = body["access_token"]
        status, body = http_json("GET", base + "/api/v1/server/settings", token=admin)
        assert status == 200, body
        assert body["policy"]["password_min_length"] == 12
        assert body["source"]["password_min_length"] == "api"
        assert body["source"]["session_hours"] == "config"
        status, body = http_json(
            "PATCH", base + "/api/v1/server/settings", {"password_min_length": 3}, token=admin
        )
        assert status == 422 and "password_min_length" in body["error"]["message"]
        status, body = http_json(
            "POST",
            base + "/api/v1/auth/login",
            {
                "username": "guest1",
                "password": "a much longer pass",
                "device": {"id": "policy-check", "name": "check", "platform": "linux"},
            },
        )
        assert status == 200, body
        status, body = http_json(
            "PATCH",
            base + "/api/v1/server/settings",
            {"password_min_length": 20},
            token=body["access_token"],
        )
        assert status == 403, body  # the server enforces what the player hides
    finally:
        app.stop()
