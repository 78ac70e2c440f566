"""An item's detail view: backdrop, poster, overview, cast, tech info with an HDR badge,
seasons or episodes, Resume/Play and Mark watched; a film with several versions lists them
(one button each: ↑/↓ or Tab move, Enter/Space picks) and Play starts the picked one, at first
the downloaded one, else the best this player can decode (``ui.playback.versions``).

Downloads (issue 22): a film or an episode has "Download" (then "Cancel download" while it
waits or transfers, with a bar; "Remove download" once it is here, "Retry download" after a
failure); a season or a series has "Download next N unwatched" with N beside it (a spin box,
3 at first: ↑/↓ change it). The line under them says where the download stands, from the
Streaming domain's ``DownloadsChanged``. A series also has "Keep next N downloaded" (smart
downloads: a check box and its N, 3 at first): on, the next N unwatched episodes stay on the
device, topped up on each sync; its line says so while the series is followed. Hidden for a
user without ``media:download``."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QLinearGradient, QPainter, QPixmap
from PyQt6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from sync.download_manager import DownloadState
from ui.domains.core import CrossDomainEvent, DomainMessage, DomainName, DomainRegistry, Notice
from ui.domains.download_service import DownloadsChanged
from ui.domains.events import DetailLoaded, ImageReady, SettingsChanged
from ui.domains.media import MarkWatched, OpenItem
from ui.domains.player import play_message
from ui.domains.streaming import (
    DownloadNext,
    FollowSeries,
    RemoveDownload,
    StartDownload,
    local_media,
)
from ui.domains.ui import Back
from ui.domains.views import DetailView, FileView
from ui.placeholder import placeholder_image
from ui.playback import versions
from ui.screens.base import Screen
from ui.screens.downloads import BAR_STEPS, size_text, state_text
from ui.screens.theme import palette
from ui.screens.widgets import CardList, PosterCache, button, heading


def _duration(seconds: float | None) -> str:
    if not seconds:
        return ""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _badge(text: str, name: str = "badge") -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    return label


class Backdrop(QWidget):
    """The backdrop image faded into the window colour, behind the title block."""

    def __init__(self) -> None:
        super().__init__()
        self.pixmap: QPixmap | None = None
        self.color = QColor("#0f1115")
        self.tint = QColor("#222732")
        self.setMinimumHeight(300)

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        rect = self.rect()
        painter.fillRect(rect, self.tint)
        if self.pixmap is not None and not self.pixmap.isNull():
            scaled = self.pixmap.scaled(
                rect.size(),
                Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                Qt.TransformationMode.SmoothTransformation,
            )
            painter.drawPixmap(
                0,
                0,
                scaled,
                (scaled.width() - rect.width()) // 2,
                (scaled.height() - rect.height()) // 3,
                rect.width(),
                rect.height(),
            )
        fade = QLinearGradient(0, 0, 0, rect.height())
        clear = QColor(self.color)
        clear.setAlpha(60)
        fade.setColorAt(0.0, clear)
        fade.setColorAt(1.0, self.color)
        painter.fillRect(rect, fade)
        side = QLinearGradient(0, 0, rect.width(), 0)
        left = QColor(self.color)
        left.setAlpha(230)
        right = QColor(self.color)
        right.setAlpha(0)
        side.setColorAt(0.0, left)
        side.setColorAt(0.7, right)
        painter.fillRect(rect, side)


class DetailScreen(Screen):
    name = "detail"

    def __init__(self, registry: DomainRegistry, posters: PosterCache) -> None:
        super().__init__(registry)
        self.posters = posters
        self.detail: DetailView | None = None
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 24)
        layout.setSpacing(0)

        self.backdrop = Backdrop()
        hero = QHBoxLayout(self.backdrop)
        hero.setContentsMargins(40, 40, 40, 20)
        hero.setSpacing(32)
        self.poster = QLabel()
        self.poster.setFixedSize(220, 330)
        self.poster.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hero.addWidget(self.poster, 0, Qt.AlignmentFlag.AlignTop)
        info = QVBoxLayout()
        info.setSpacing(10)
        self.title = heading("")
        self.title.setWordWrap(True)
        self.meta = heading("", "subtitle")
        self.badges = QHBoxLayout()
        self.badges.setSpacing(6)
        self.tagline = heading("", "muted")
        self.overview = QLabel("")
        self.overview.setWordWrap(True)
        self.overview.setMaximumWidth(760)
        self.progress = heading("", "muted")
        actions = QHBoxLayout()
        self.play = button("Play", "primary", self._play)
        self.restart = button("Play from start", "", lambda: self._play(from_start=True))
        self.mark = button("Mark watched", "", self._mark)
        self.back = button("Back", "", lambda: self.post(Back()))
        for b in (self.play, self.restart, self.mark, self.back):
            actions.addWidget(b)
        actions.addStretch(1)
        fetch = QHBoxLayout()
        self.download = button("Download", "", self._download)
        self.download_next = button("Download next 3 unwatched", "", self._download_next)
        self.download_count = QSpinBox()
        self.download_count.setRange(1, 99)
        self.download_count.setValue(3)
        self.download_count.setPrefix("N = ")
        self.download_count.setToolTip("How many of the next unwatched episodes to download")
        self.download_count.valueChanged.connect(self._count_changed)
        self.download_bar = QProgressBar()
        self.download_bar.setRange(0, BAR_STEPS)
        self.download_bar.setFixedSize(220, 8)
        self.download_bar.setTextVisible(False)
        self.download_bar.hide()
        self.download_state = heading("", "muted")
        for w in (self.download, self.download_next, self.download_count):
            fetch.addWidget(w)
        fetch.addWidget(self.download_bar, 0, Qt.AlignmentFlag.AlignVCenter)
        fetch.addWidget(self.download_state)
        fetch.addStretch(1)
        self.downloads: DownloadsChanged | None = None
        keep_row = QHBoxLayout()
        self.keep = QCheckBox(self._keep_text(3))
        self.keep.setToolTip(
            "Smart downloads: the next unwatched episodes stay on this device, topped up on "
            "each sync (watched ones go when 'remove after watching' is on)"
        )
        self.keep.clicked.connect(self._keep_clicked)
        self.keep_count = QSpinBox()
        self.keep_count.setRange(1, 99)
        self.keep_count.setValue(3)
        self.keep_count.setPrefix("N = ")
        self.keep_count.setToolTip("How many unwatched episodes to keep on this device")
        self.keep_count.valueChanged.connect(self._keep_count_changed)
        self.keep_state = heading("", "muted")
        for part in (self.keep, self.keep_count, self.keep_state):
            keep_row.addWidget(part)
        keep_row.addStretch(1)
        self._keep_series: uuid.UUID | None = None
        """The series the smart-download control shows (its N is reset for another one)."""
        self._showing_keep = False
        info.addWidget(self.title)
        info.addWidget(self.meta)
        info.addLayout(self.badges)
        info.addWidget(self.tagline)
        info.addWidget(self.overview)
        info.addWidget(self.progress)
        info.addLayout(actions)
        info.addLayout(fetch)
        info.addLayout(keep_row)
        info.addStretch(1)
        hero.addLayout(info, 1)
        layout.addWidget(self.backdrop)

        content = QVBoxLayout()
        content.setContentsMargins(40, 8, 40, 0)
        content.setSpacing(8)
        self.children_title = heading("", "rowTitle")
        self.child_cards = CardList(self.services.settings.display, posters, row=True)
        self.child_cards.activated_card.connect(lambda card: self.post(OpenItem(card.id)))
        self.child_cards.leave_up.connect(self.play.setFocus)
        content.addWidget(self.children_title)
        content.addWidget(self.child_cards)
        self.versions_title = heading("Versions", "rowTitle")
        self.versions_box = QVBoxLayout()
        self.versions_box.setSpacing(4)
        versions_holder = QWidget()
        versions_holder.setLayout(self.versions_box)
        self.version_buttons: list[QPushButton] = []
        self._versions: list[FileView] = []
        self.chosen: uuid.UUID | None = None
        """The file Play starts: the best decodable version until the user picks one."""
        content.addWidget(self.versions_title)
        content.addWidget(versions_holder)
        self.cast_title = heading("Cast & crew", "rowTitle")
        self.cast = QLabel("")
        self.cast.setWordWrap(True)
        content.addWidget(self.cast_title)
        content.addWidget(self.cast)
        self.tech_title = heading("Technical", "rowTitle")
        self.tech = QGridLayout()
        self.tech.setHorizontalSpacing(24)
        tech_holder = QWidget()
        tech_holder.setLayout(self.tech)
        content.addWidget(self.tech_title)
        content.addWidget(tech_holder)
        layout.addLayout(content)
        layout.addStretch(1)

    # --- actions --------------------------------------------------------------------------

    def _player_message(self, from_start: bool) -> DomainMessage | None:
        """The Player domain's play message (None in a registry built without the Player
        domain, as some tests build one)."""
        if DomainName.PLAYER not in self.registry.names or self.detail is None:
            return None
        return play_message(self.detail, from_start, self.chosen)

    def _play(self, from_start: bool = False) -> None:
        if self.detail is None:
            return
        if self.detail.kind in ("series", "season") and self.child_cards.count():
            self.child_cards.setFocus()
            return
        message = self._player_message(from_start)
        if message is None:
            self.registry.context.spawn(
                lambda: self.registry.broadcast(
                    Notice("Playback is not available in this build.", "error")
                ),
                "notice",
            )
            return
        self.post(message)

    def _mark(self) -> None:
        if self.detail is not None:
            self.post(MarkWatched(self.detail.id, not self.detail.watched))

    # --- downloads ------------------------------------------------------------------------

    def download_of(self, item_id: uuid.UUID) -> DownloadState | None:
        return self.downloads.of(item_id) if self.downloads is not None else None

    def _download(self) -> None:
        d = self.detail
        if d is None or d.kind not in ("movie", "episode"):
            return
        state = self.download_of(d.id)
        if state is None or state.state == "failed":
            self.post(StartDownload(d.id, d.label, d.kind))
        else:  # queued or transferring: cancel; here (or stale): delete it
            self.post(RemoveDownload(d.id))

    def _download_next(self) -> None:
        d = self.detail
        if d is not None and d.kind in ("season", "series"):
            self.post(DownloadNext(d.id, self.download_count.value()))

    def _count_changed(self, count: int) -> None:
        self.download_next.setText(f"Download next {count} unwatched")

    # --- smart downloads --------------------------------------------------------------------

    @staticmethod
    def _keep_text(count: int) -> str:
        return f"Keep next {count} downloaded"

    def _keep_clicked(self, on: bool) -> None:
        d = self.detail
        if d is not None and d.kind == "series":
            self.post(FollowSeries(d.id, self.keep_count.value() if on else None))

    def _keep_count_changed(self, count: int) -> None:
        self.keep.setText(self._keep_text(count))
        d = self.detail
        if self._showing_keep or d is None or d.kind != "series" or not self.keep.isChecked():
            return
        self.post(FollowSeries(d.id, count))  # followed: the new N holds from now on

    def _show_keep(self) -> None:
        """The control as the last ``DownloadsChanged`` has the series: followed or not, and
        how many episodes it keeps."""
        d = self.detail
        shown = d is not None and d.kind == "series" and self._may_download()
        for w in (self.keep, self.keep_count, self.keep_state):
            w.setVisible(shown)
        if d is None or not shown:
            return
        keep = self.downloads.keeps(d.id) if self.downloads is not None else None
        self._showing_keep = True
        try:
            self.keep.setChecked(keep is not None)
            if keep is not None:
                self.keep_count.setValue(keep)
            elif self._keep_series != d.id:
                self.keep_count.setValue(3)
        finally:
            self._showing_keep = False
        self._keep_series = d.id
        self.keep_state.setText(
            f"Following: the next {keep} unwatched episode{'s' if keep != 1 else ''} stay "
            "on this device, topped up on each sync"
            if keep is not None
            else ""
        )

    def _may_download(self) -> bool:
        """Offline the permissions are unknown (the server decides when it is back)."""
        services = self.services
        return services.me is None or services.can("media:download")

    def _show_download(self) -> None:
        d = self.detail
        allowed = d is not None and self._may_download()
        playable = d is not None and d.kind in ("movie", "episode")
        group = d is not None and d.kind in ("season", "series")
        self.download.setVisible(allowed and playable)
        self.download_next.setVisible(allowed and group)
        self.download_count.setVisible(allowed and group)
        self._show_keep()
        self.download_bar.hide()
        if d is None or not allowed:
            self.download_state.setText("")
            return
        if playable:
            state = self.download_of(d.id)
            self.download.setText(
                "Download"
                if state is None
                else "Retry download"
                if state.state == "failed"
                else "Cancel download"
                if state.state in ("queued", "downloading")
                else "Remove download"
            )
            text = state_text(state) if state is not None else ""
            if state is not None and state.state in ("complete", "stale"):
                text += f" · {size_text(state.size_bytes)} on this device"
            if state is not None and state.state == "downloading" and state.bytes_total:
                self.download_bar.setValue(int(BAR_STEPS * state.bytes_held / state.bytes_total))
                self.download_bar.show()
            self.download_state.setText(text)
            self.download_state.setObjectName(
                "error" if state is not None and state.state == "failed" else "muted"
            )
            self.download_state.setStyleSheet("")
            return
        self.download_state.setObjectName("muted")
        self.download_state.setStyleSheet("")
        self.download_state.setText(self._group_summary(d))

    def _group_summary(self, d: DetailView) -> str:
        """How many episodes of this season (its children) or series (by series id) are
        downloaded, transferring or waiting."""
        states = self.downloads.states if self.downloads is not None else ()
        children = {c.id for c in d.children} if d.kind == "season" else set()
        mine = [
            s
            for s in states
            if s.item_id in children or (d.kind == "series" and s.series_id == d.id)
        ]
        counts = {
            "downloaded": sum(s.state in ("complete", "stale") for s in mine),
            "downloading": sum(s.state == "downloading" for s in mine),
            "waiting": sum(s.state == "queued" for s in mine),
            "failed": sum(s.state == "failed" for s in mine),
        }
        parts = [f"{n} {what}" for what, n in counts.items() if n]
        if not parts:
            return ""
        return "Episodes: " + ", ".join(parts)

    # --- versions -------------------------------------------------------------------------

    @staticmethod
    def versions_of(d: DetailView) -> list[FileView]:
        """The versions a user may choose between: present main files, one per version (the
        later parts of a multi-part film are not versions of their own), highest resolution
        first."""
        return sorted(
            (f for f in d.files if f.present and (f.part or 1) == 1),
            key=lambda f: (-(f.height or 0), f.name),
        )

    def pick(self, file_id: uuid.UUID) -> None:
        """Play starts this version from now on (for this item, until the view is left)."""
        self.chosen = file_id
        shown = self._versions if self.version_buttons else []
        for button_, f in zip(self.version_buttons, shown, strict=True):
            button_.setChecked(f.id == file_id)
            button_.setText(("●  " if f.id == file_id else "○  ") + self._label(f))

    def _picker(self, file_id: uuid.UUID) -> Callable[[], None]:
        return lambda: self.pick(file_id)

    @staticmethod
    def _label(f: FileView) -> str:
        return versions.label(f, f.resolution, f.edition)

    def _show_versions(self, d: DetailView, previous: uuid.UUID | None) -> None:
        while self.versions_box.count():
            item = self.versions_box.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.version_buttons = []
        self._versions = self.versions_of(d)
        ids = {f.id for f in self._versions}
        chosen: uuid.UUID | None
        if previous == d.id and self.chosen in ids:
            chosen = self.chosen  # the same item again (a refresh): the user's pick holds
        else:
            picked = versions.best(self._versions, versions.available())
            chosen = picked.id if isinstance(picked, FileView) else None
        here = self._downloaded_file(d)
        if here in ids and not (previous == d.id and self.chosen in ids):
            chosen = here  # the copy on this device: no bytes over the network
        many = len(self._versions) > 1
        self.versions_title.setVisible(many)
        if many:
            for f in self._versions:
                b = button(self._label(f), "version", self._picker(f.id))
                b.setCheckable(True)
                b.setAutoExclusive(True)  # arrows move between them, like radio buttons
                b.setToolTip(f.name)
                self.versions_box.addWidget(b)
                self.version_buttons.append(b)
        self.chosen = None
        if chosen is not None:
            self.pick(chosen)

    def _downloaded_file(self, d: DetailView) -> uuid.UUID | None:
        if d.kind not in ("movie", "episode"):
            return None
        media = local_media(self.services)
        return media.downloaded_file(d.id) if media is not None else None

    # --- showing --------------------------------------------------------------------------

    def _set_poster(self) -> None:
        """The poster, or an episode's still in a landscape frame (whole, never cropped), or
        the shared placeholder card (``ui.placeholder``) when there is no image."""
        d = self.detail
        if d is None:
            return
        landscape = d.kind == "episode"
        self.poster.setFixedSize(*((384, 216) if landscape else (220, 330)))
        image_id = d.still_image_id or d.poster_image_id if landscape else d.poster_image_id
        pixmap = self.posters.get(image_id) if image_id else None
        self.poster.setText("")
        self.poster.setStyleSheet("border-radius: 10px;")
        if pixmap is not None:
            mode = (
                Qt.AspectRatioMode.KeepAspectRatio
                if landscape
                else Qt.AspectRatioMode.KeepAspectRatioByExpanding
            )
            self.poster.setPixmap(
                pixmap.scaled(self.poster.size(), mode, Qt.TransformationMode.SmoothTransformation)
            )
        else:
            size = self.poster.size()
            self.poster.setPixmap(
                QPixmap.fromImage(
                    placeholder_image(
                        d.label,
                        d.year,
                        d.placeholder_color,
                        size.width(),
                        size.height(),
                        10.0,
                        seed=d.series_title or d.title,
                    )
                )
            )

    def show_detail(self, d: DetailView) -> None:
        previous = self.detail.id if self.detail is not None else None
        self.detail = d
        self._show_versions(d, previous)
        pal = palette(self.services.settings.display.theme)
        self.backdrop.color = QColor(pal.window)
        self.backdrop.tint = QColor(d.placeholder_color or pal.raised)
        self.backdrop.pixmap = self.posters.get(d.backdrop_image_id, 1280)
        self.backdrop.update()
        self._set_poster()
        self.title.setText(d.label)
        runtime = (
            f"{d.runtime_minutes} min"
            if d.runtime_minutes
            else _duration(d.files[0].duration_s if d.files else None)
        )
        episode = f"Season {d.season_number}" if d.kind == "season" and d.season_number else ""
        parts = [
            str(d.year) if d.year else "",
            episode,
            runtime,
            f"★ {d.rating:.1f}" if d.rating else "",
            d.mpaa,
            ", ".join(d.genres[:3]),
        ]
        self.meta.setText("   ·   ".join(p for p in parts if p))
        while self.badges.count():
            item = self.badges.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        if d.hdr:
            self.badges.addWidget(_badge(d.hdr.replace("DolbyVision", "DOLBY VISION"), "hdr"))
        first = next((f for f in d.files if f.id == self.chosen), d.files[0] if d.files else None)
        if first is not None:
            for text in (
                first.resolution,
                first.video_codec.upper(),
                first.audio[0].split(" ")[1].upper() if first.audio else "",
            ):
                if text:
                    self.badges.addWidget(_badge(text))
        self.badges.addStretch(1)
        self.tagline.setText(d.tagline)
        self.tagline.setVisible(bool(d.tagline))
        self.overview.setText(d.overview or "No overview.")
        playable = d.kind in ("movie", "episode")
        self.play.setText("Resume" if d.resumable else ("Play" if playable else "Episodes"))
        self.restart.setVisible(d.resumable)
        self.mark.setText("Mark unwatched" if d.watched else "Mark watched")
        if d.resumable and d.duration_s:
            left = _duration(max(0.0, d.duration_s - d.position_s))
            self.progress.setText(
                f"{int(100 * d.position_s / d.duration_s)} % watched · {left} left"
            )
        else:
            self.progress.setText("Watched" if d.watched else "")
        child_label = {"series": "Seasons", "season": "Episodes"}.get(d.kind, "")
        self.children_title.setText(child_label)
        self.children_title.setVisible(bool(d.children))
        self.child_cards.setVisible(bool(d.children))
        self.child_cards.set_cards(d.children)
        cast = [
            f"<b>{p.name}</b>"
            + (f" <span style='color:{pal.muted}'>as {p.role}</span>" if p.role else "")
            for p in d.people[:14]
        ]
        self.cast.setText("   ·   ".join(cast))
        self.cast.setVisible(bool(cast))
        self.cast_title.setVisible(bool(cast))
        while self.tech.count():
            item = self.tech.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for row, f in enumerate(d.files):
            cells = [
                f.name,
                " ".join(x for x in (f.resolution, f.video_codec, f.hdr or "SDR") if x),
                ", ".join(f.audio) or "no audio",
                ", ".join(f.subtitles) or "no subtitles",
                _duration(f.duration_s),
                f"{f.size_bytes / 1e9:.2f} GB"
                if f.size_bytes >= 1e8
                else f"{f.size_bytes / 1e6:.1f} MB"
                if f.size_bytes >= 1e5
                else f"{f.size_bytes / 1e3:.0f} KB",
            ]
            for col, text in enumerate(cells):
                label = QLabel(text)
                label.setObjectName("muted" if col else "")
                self.tech.addWidget(label, row, col)
        self.tech_title.setVisible(bool(d.files))
        self._show_download()
        if self.isVisible():
            self.play.setFocus()

    def shown(self) -> None:
        self.play.setFocus()

    def on_event(self, event: CrossDomainEvent) -> None:
        if isinstance(event, DetailLoaded):
            self.show_detail(event.detail)
        elif isinstance(event, DownloadsChanged):
            self.downloads = event
            self._show_download()
        elif isinstance(event, ImageReady) and self.detail is not None:
            if event.image_id in (self.detail.poster_image_id, self.detail.still_image_id):
                self._set_poster()
            if event.image_id == self.detail.backdrop_image_id:
                self.backdrop.pixmap = self.posters.get(event.image_id, 1280)
                self.backdrop.update()
        elif isinstance(event, SettingsChanged):
            self.child_cards.apply_display(event.settings.display)
