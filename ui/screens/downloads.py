"""The Downloads screen (issue 22, items 1 and 3): every download and queued transfer with its
title, size and state, a progress bar while it transfers, Details and Remove; above them the
space used, the limit and what is free on the disk, and the series kept downloaded (smart
downloads, followed from a series' details) with their N.

Keyboard first, like the other screens: the top bar's Downloads entry (Tab) opens it, focus
starts on the first row's Details; ↑/↓ move between rows (staying in the column), ←/→
between a row's two buttons, Enter or Space presses the focused one, Esc goes back. The rows
are kept across updates (progress arrives up to 4 times a second), so focus never jumps.
"""

from __future__ import annotations

import uuid

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtGui import QKeyEvent
from PyQt6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from sync.download_manager import DownloadState
from sync.download_policy import SpaceInfo
from ui.domains.core import CrossDomainEvent, DomainRegistry
from ui.domains.download_service import DownloadsChanged
from ui.domains.media import OpenItem
from ui.domains.streaming import RemoveDownload, ShowDownloads
from ui.screens.base import Screen
from ui.screens.widgets import button, heading

BAR_STEPS = 1000
KINDS = {"movie": "Film", "episode": "Episode"}


def size_text(n: int) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.0f} KB"


def state_text(s: DownloadState) -> str:
    """One line for a download's state, as the Downloads screen and the details say it."""
    if s.state == "downloading":
        if s.bytes_total:
            part = s.bytes_held / s.bytes_total
            return (
                f"Downloading {int(part * 100)} % · {size_text(s.bytes_held)} of "
                f"{size_text(s.bytes_total)}"
            )
        return "Downloading…"
    if s.state == "queued":
        held = f" ({size_text(s.bytes_held)} so far)" if s.bytes_held else ""
        return "Waiting to download" + held
    if s.state == "failed":
        return f"Failed: {s.reason}" if s.reason else "Failed"
    if s.state == "stale":
        return "Downloaded; changed on the server, a new copy is due"
    return "Downloaded" + (" · watched" if s.watched else "")


def space_text(space: SpaceInfo) -> str:
    limit = size_text(space.limit_bytes)
    if space.default_limit:
        limit += " (the default: a quarter of the space)"
    return (
        f"{size_text(space.used_bytes)} used of {limit} · "
        f"{size_text(space.free_bytes)} free on this disk"
    )


class DownloadRow(QFrame):
    """One download: title, kind and size, state, a bar while it transfers, two buttons."""

    def __init__(self, registry: DomainRegistry, state: DownloadState) -> None:
        super().__init__()
        self.setObjectName("card")
        self.item_id = state.item_id
        self.state: DownloadState = state
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 10)
        layout.setSpacing(16)
        text = QVBoxLayout()
        text.setSpacing(4)
        self.title = QLabel("")
        self.title.setStyleSheet("font-weight: 700; font-size: 15px")
        self.meta = heading("", "muted")
        self.status = QLabel("")
        self.bar = QProgressBar()
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setFixedHeight(8)
        self.bar.setTextVisible(False)
        for widget in (self.title, self.meta, self.status, self.bar):
            text.addWidget(widget)
        layout.addLayout(text, 1)
        item = state.item_id
        self.open = button("Details", "", lambda: registry.post(OpenItem(item)))
        self.remove = button("Remove", "danger", lambda: registry.post(RemoveDownload(item)))
        self.buttons = (self.open, self.remove)
        for b in self.buttons:
            b.setMinimumWidth(100)  # "Remove" and "Cancel" line up from row to row
            layout.addWidget(b, 0, Qt.AlignmentFlag.AlignVCenter)
        self.show_state(state)

    def show_state(self, s: DownloadState) -> None:
        self.state = s
        self.title.setText(s.title or str(s.item_id))
        size = s.size_bytes or s.bytes_total
        parts = [KINDS.get(s.kind, s.kind.title()), size_text(size) if size else ""]
        self.meta.setText("   ·   ".join(p for p in parts if p))
        self.status.setText(state_text(s))
        self.status.setObjectName("error" if s.state == "failed" else "")
        self.status.setStyleSheet("")  # re-polish for the object name
        transferring = s.state == "downloading"
        self.bar.setVisible(transferring)
        if transferring:
            part = s.bytes_held / s.bytes_total if s.bytes_total else 0.0
            self.bar.setValue(int(part * BAR_STEPS))
        self.remove.setText("Cancel" if s.state in ("queued", "downloading") else "Remove")


class DownloadsScreen(Screen):
    name = "downloads"

    def __init__(self, registry: DomainRegistry) -> None:
        super().__init__(registry)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(40, 28, 40, 24)
        outer.setSpacing(10)
        outer.addWidget(heading("Downloads"))
        self.space = heading("", "subtitle")
        self.space_bar = QProgressBar()
        self.space_bar.setRange(0, BAR_STEPS)
        self.space_bar.setFixedHeight(8)
        self.space_bar.setTextVisible(False)
        self.space_bar.setMaximumWidth(760)
        self.policy = heading("", "muted")
        for widget in (self.space, self.space_bar, self.policy):
            outer.addWidget(widget)
        outer.addSpacing(8)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        scroll.setWidget(body)
        self.list = QVBoxLayout(body)
        self.list.setContentsMargins(0, 0, 0, 0)
        self.list.setSpacing(8)
        self.empty = heading(
            "Nothing downloaded yet. Download a film or an episode from its details, or the "
            "next unwatched episodes from a season's or a series' details.",
            "muted",
        )
        self.empty.setWordWrap(True)
        self.list.addStretch(1)
        outer.addWidget(self.empty)
        outer.addWidget(scroll, 1)
        self.rows: dict[uuid.UUID, DownloadRow] = {}
        self.last: DownloadsChanged | None = None
        self._titles: dict[uuid.UUID, str] = {}

    # --- showing -------------------------------------------------------------------------

    def show_downloads(self, event: DownloadsChanged) -> None:
        self.last = event
        space = event.space
        self.space.setText(space_text(space))
        used = space.used_bytes / space.limit_bytes if space.limit_bytes else 0.0
        self.space_bar.setValue(min(BAR_STEPS, int(used * BAR_STEPS)))
        settings = self.services.settings.downloads
        policy = (
            "Watched downloads are removed on the next sync"
            if settings.remove_after_watching
            else "Watched downloads are kept"
        )
        followed = [f"{self._series_title(s)} (next {keep})" for s, keep in event.follows]
        if followed:
            policy += " · Kept downloaded: " + ", ".join(followed)
        self.policy.setText(policy)
        focused = self._focused()
        wanted = [s.item_id for s in event.states]
        for item_id in [i for i in self.rows if i not in wanted]:
            gone = self.rows.pop(item_id)
            self.list.removeWidget(gone)
            gone.hide()
            gone.deleteLater()
        for index, s in enumerate(event.states):
            row = self.rows.get(s.item_id)
            if row is None:
                row = DownloadRow(self.registry, s)
                for b in row.buttons:
                    b.installEventFilter(self)
                self.rows[s.item_id] = row
            else:
                row.show_state(s)
            if self.list.indexOf(row) != index:
                if self.list.indexOf(row) >= 0:
                    self.list.removeWidget(row)
                self.list.insertWidget(index, row)
        self.empty.setVisible(not self.rows)
        if focused is not None and focused[0] not in self.rows and self.isVisible():
            self._focus_row(min(focused[2], len(self.rows) - 1), focused[1])

    def _series_title(self, series_id: uuid.UUID) -> str:
        """A followed series' title from the replica (asked once: progress repaints often)."""
        title = self._titles.get(series_id)
        if title is None:
            replica = self.services.replica
            record = replica.item(series_id) if replica is not None else None
            if record is None:
                return "a series"  # not synced yet: asked again next time
            title = self._titles[series_id] = record.title
        return title

    def ordered(self) -> list[DownloadRow]:
        """The rows as shown, top to bottom."""
        found = (self.list.itemAt(i) for i in range(self.list.count()))
        widgets = (item.widget() if item is not None else None for item in found)
        return [w for w in widgets if isinstance(w, DownloadRow)]

    def _focused(self) -> tuple[uuid.UUID, int, int] | None:
        """(item, column, row index) of the focused button (the window's focus widget: it
        holds while another window is active, as under a test's X server without a window
        manager)."""
        window = self.window()
        current = window.focusWidget() if window is not None else None
        for index, row in enumerate(self.ordered()):
            for column, b in enumerate(row.buttons):
                if b is current:
                    return row.item_id, column, index
        return None

    def _focus_row(self, index: int, column: int = 0) -> bool:
        rows = self.ordered()
        if not rows or index < 0:
            return False
        rows[min(index, len(rows) - 1)].buttons[column].setFocus()
        return True

    # --- keys ----------------------------------------------------------------------------

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            here = self._focused()
            key = event.key()
            if here is not None and key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                step = -1 if key == Qt.Key.Key_Up else 1
                target = here[2] + step
                if 0 <= target < len(self.rows):
                    self._focus_row(target, here[1])
                return True
            if here is not None and key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
                self._focus_row(here[2], 0 if key == Qt.Key.Key_Left else 1)
                return True
        return super().eventFilter(watched, event)

    def shown(self) -> None:
        self.post(ShowDownloads())
        if not self._focus_row(0):
            self.setFocus()

    def on_event(self, event: CrossDomainEvent) -> None:
        if isinstance(event, DownloadsChanged):
            self.show_downloads(event)
