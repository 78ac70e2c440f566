"""The settings screen: a section list on the left, the section's page on the right.

Local sections are forms generated from their msgspec struct (ranges from the struct's
constraints), applied live: each edit posts an UpdateSettings message, and the change comes back
as a SettingsChanged event that every screen applies.
"""

from __future__ import annotations

import typing
import uuid
from functools import partial
from typing import Any

import msgspec
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.domains.auth import ChangePassword, SetPin
from ui.domains.core import CrossDomainEvent, DomainRegistry, Notice
from ui.domains.events import (
    AuthFailed,
    DevicesLoaded,
    LibrariesChanged,
    LoggedIn,
    PinSet,
    ScanProgress,
    ServerSettingsLoaded,
    SettingsChanged,
    UsersLoaded,
)
from ui.domains.library import (
    CreateLibrary,
    DeleteLibrary,
    LoadLibraries,
    StartScan,
    UpdateLibrary,
)
from ui.domains.settings import LoadServerSettings, UpdateServerSettings, UpdateSettings
from ui.domains.user_mgmt import (
    CreateUser,
    DeleteUser,
    LoadDevices,
    LoadUsers,
    RevokeDevice,
    UpdateUser,
)
from ui.screens.base import Screen
from ui.screens.widgets import button, heading
from ui.settings.model import LOCAL_SECTIONS, SECTION_TYPES, SectionName, Settings
from ui.settings.sections import TITLES, visible_sections

FieldWidget = QCheckBox | QSpinBox | QDoubleSpinBox | QComboBox | QLineEdit


def _label(name: str) -> str:
    text = name.replace("_", " ")
    for unit, words in (("_ms", " (ms)"), ("_s", " (s)")):
        if name.endswith(unit):
            text = name[: -len(unit)].replace("_", " ") + words
    return text[:1].upper() + text[1:]


def _meta(annotation: Any) -> tuple[Any, msgspec.Meta | None]:
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        return base, next((m for m in extras if isinstance(m, msgspec.Meta)), None)
    return annotation, None


class StructForm(QWidget):
    """A form for one local settings section; edits are posted as they happen."""

    def __init__(self, registry: DomainRegistry, section: str) -> None:
        super().__init__()
        self.registry = registry
        self.section = section
        self.widgets: dict[str, FieldWidget] = {}
        self.status = heading("", "muted")
        form = QFormLayout(self)
        form.setVerticalSpacing(12)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        kind = SECTION_TYPES[section]
        hints = typing.get_type_hints(kind, include_extras=True)
        for name in kind.__struct_fields__:
            base, meta = _meta(hints[name])
            widget = self._widget(name, base, meta)
            if meta is not None and meta.description:
                widget.setToolTip(meta.description)
            widget.setMaximumWidth(420)
            self.widgets[name] = widget
            form.addRow(_label(name), widget)
        form.addRow("", self.status)
        self._loading = False

    def _widget(self, name: str, base: Any, meta: msgspec.Meta | None) -> FieldWidget:
        low = meta.ge if meta is not None and meta.ge is not None else 0
        high = meta.le if meta is not None and meta.le is not None else 10**6
        if base is bool:
            box = QCheckBox()
            box.toggled.connect(lambda v: self._changed(name, bool(v)))
            return box
        if base is int:
            spin = QSpinBox()
            spin.setRange(int(low), int(high))
            spin.valueChanged.connect(lambda v: self._changed(name, int(v)))
            return spin
        if base is float:
            dspin = QDoubleSpinBox()
            dspin.setRange(float(low), float(high))
            dspin.setDecimals(2)
            dspin.valueChanged.connect(lambda v: self._changed(name, float(v)))
            return dspin
        choices = typing.get_args(base) if typing.get_origin(base) is typing.Literal else ()
        if choices:
            combo = QComboBox()
            combo.addItems([str(c) for c in choices])
            combo.currentTextChanged.connect(lambda v: self._changed(name, v))
            return combo
        line = QLineEdit()
        line.editingFinished.connect(lambda: self._changed(name, line.text()))
        return line

    def load(self, settings: Settings) -> None:
        self._loading = True
        try:
            values = msgspec.to_builtins(getattr(settings, self.section))
            for name, widget in self.widgets.items():
                value = values[name]
                if isinstance(widget, QCheckBox):
                    widget.setChecked(bool(value))
                elif isinstance(widget, QSpinBox):
                    widget.setValue(int(value))
                elif isinstance(widget, QDoubleSpinBox):
                    widget.setValue(float(value))
                elif isinstance(widget, QComboBox):
                    widget.setCurrentText(str(value))
                elif not widget.hasFocus():
                    widget.setText(str(value))
        finally:
            self._loading = False

    def _changed(self, name: str, value: object) -> None:
        if not self._loading:
            self.registry.post(UpdateSettings(self.section, {name: value}))


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    vheader = table.verticalHeader()
    if vheader is not None:
        vheader.setVisible(False)
    header = table.horizontalHeader()
    if header is not None:
        header.setStretchLastSection(True)
    table.setMinimumHeight(160)
    return table


def _fill(table: QTableWidget, rows: list[tuple[object, list[str]]]) -> None:
    table.setRowCount(len(rows))
    for r, (key, cells) in enumerate(rows):
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, key)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


def _selected(table: QTableWidget) -> Any:
    item = table.item(table.currentRow(), 0) if table.currentRow() >= 0 else None
    return item.data(Qt.ItemDataRole.UserRole) if item is not None else None


def _password() -> QLineEdit:
    line = QLineEdit()
    line.setEchoMode(QLineEdit.EchoMode.Password)
    return line


class SettingsScreen(Screen):
    name = "settings"

    def __init__(self, registry: DomainRegistry) -> None:
        super().__init__(registry)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.menu = QListWidget()
        self.menu.setObjectName("menu")
        self.menu.setFixedWidth(220)
        self.pages = QStackedWidget()
        layout.addWidget(self.menu)
        layout.addWidget(self.pages, 1)
        self.page_for: dict[str, QWidget] = {}
        self.forms: dict[str, StructForm] = {}
        self.sections: list[SectionName] = []
        for section in LOCAL_SECTIONS:
            form = StructForm(registry, section)
            self.forms[section] = form
            self._add_page(section, form)
        self._add_page("security", self._security_page())
        self._add_page("devices", self._devices_page())
        self._add_page("libraries", self._libraries_page())
        self._add_page("users", self._users_page())
        self._add_page("server", self._server_page())
        self.menu.currentRowChanged.connect(self._show_section)
        self._refresh_menu()

    # --- pages ----------------------------------------------------------------------------

    def _add_page(self, section: str, body: QWidget) -> None:
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(36, 24, 36, 24)
        v.addWidget(heading(TITLES[section]))  # type: ignore[index]
        v.addSpacing(8)
        v.addWidget(body)
        v.addStretch(1)
        self.page_for[section] = page
        self.pages.addWidget(page)

    def _security_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.current_password, self.new_password = _password(), _password()
        self.confirm_password = _password()
        form.addRow(heading("Change password", "rowTitle"))
        form.addRow("Current password", self.current_password)
        form.addRow("New password", self.new_password)
        form.addRow("Confirm", self.confirm_password)
        self.password_button = button("Change password", "", self._change_password)
        form.addRow("", self.password_button)
        self.pin, self.pin_confirm = _password(), _password()
        for line in (self.pin, self.pin_confirm):
            line.setMaxLength(8)
        form.addRow(heading("PIN for this device", "rowTitle"))
        form.addRow(heading("A PIN lets you log in on this device without your password.", "muted"))
        form.addRow("PIN (4-8 digits)", self.pin)
        form.addRow("Confirm PIN", self.pin_confirm)
        self.pin_button = button("Set PIN", "primary", self._set_pin)
        form.addRow("", self.pin_button)
        self.security_status = heading("", "muted")
        self.security_status.setWordWrap(True)
        form.addRow("", self.security_status)
        return page

    def _devices_page(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        self.devices = _table(["Device", "Platform", "State", "Last seen"])
        v.addWidget(self.devices)
        row = QHBoxLayout()
        row.addWidget(button("Revoke selected", "danger", self._revoke))
        row.addWidget(button("Refresh", "", lambda: self.post(LoadDevices())))
        row.addStretch(1)
        v.addLayout(row)
        return page

    def _libraries_page(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        self.libraries = _table(["Name", "Kind", "Folders", "Scan"])
        v.addWidget(self.libraries)
        self.scan_bar = QProgressBar()
        self.scan_bar.setRange(0, 100)
        self.scan_label = heading("", "muted")
        v.addWidget(self.scan_label)
        v.addWidget(self.scan_bar)
        row = QHBoxLayout()
        row.addWidget(button("Scan selected", "", self._scan))
        self.rename_button = button("Rename selected to the name below", "", self._rename)
        row.addWidget(self.rename_button)
        row.addWidget(button("Delete selected", "danger", self._delete_library))
        row.addStretch(1)
        v.addLayout(row)
        v.addWidget(heading("Add a library", "rowTitle"))
        form = QFormLayout()
        self.lib_name = QLineEdit()
        self.lib_kind = QComboBox()
        self.lib_kind.addItems(["movies", "series"])
        self.lib_folder = QLineEdit()
        self.lib_folder.setPlaceholderText("/srv/media/films (a folder on the appliance)")
        form.addRow("Name", self.lib_name)
        form.addRow("Kind", self.lib_kind)
        form.addRow("Folder", self.lib_folder)
        self.add_library_button = button("Add library", "primary", self._add_library)
        form.addRow("", self.add_library_button)
        v.addLayout(form)
        self.scans: dict[uuid.UUID, ScanProgress] = {}
        return page

    def _users_page(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        self.users = _table(["Username", "Display name", "Role", "Locked"])
        v.addWidget(self.users)
        row = QHBoxLayout()
        self.edit_role = QComboBox()
        self.edit_role.addItems(["user", "guest", "admin"])
        self.edit_role.setMaximumWidth(160)
        self.change_role_button = button("Set role of selected", "", self._change_role)
        row.addWidget(self.edit_role)
        row.addWidget(self.change_role_button)
        row.addWidget(button("Delete selected", "danger", self._delete_user))
        row.addStretch(1)
        v.addLayout(row)
        v.addWidget(heading("Create a user", "rowTitle"))
        form = QFormLayout()
        self.new_username = QLineEdit()
        self.new_user_password = _password()
        self.new_role = QComboBox()
        self.new_role.addItems(["user", "guest", "admin"])
        form.addRow("Username", self.new_username)
        form.addRow("Password", self.new_user_password)
        form.addRow("Role", self.new_role)
        self.create_user_button = button("Create user", "primary", self._create_user)
        form.addRow("", self.create_user_button)
        v.addLayout(form)
        return page

    def _server_page(self) -> QWidget:
        page = QWidget()
        self.server_form = QFormLayout(page)
        self.server_fields: dict[str, QSpinBox | QDoubleSpinBox] = {}
        self.server_values: dict[str, Any] = {}
        self.server_status = heading("", "muted")
        self.server_form.addRow("", self.server_status)
        return page

    # --- menu -----------------------------------------------------------------------------

    def _refresh_menu(self) -> None:
        current = (
            self.sections[self.menu.currentRow()]
            if self.menu.currentRow() >= 0 and self.sections
            else "profile"
        )
        self.sections = visible_sections(self.services.me)
        self.menu.blockSignals(True)
        self.menu.clear()
        self.menu.addItems([TITLES[s] for s in self.sections])
        self.menu.blockSignals(False)
        self.menu.setCurrentRow(self.sections.index(current) if current in self.sections else 0)
        self._show_section(self.menu.currentRow())

    def _show_section(self, row: int) -> None:
        if not 0 <= row < len(self.sections):
            return
        section = self.sections[row]
        self.pages.setCurrentWidget(self.page_for[section])
        if section in self.forms:
            self.forms[section].load(self.services.settings)
        elif self.services.api is not None and self.services.online:
            loader = {
                "devices": LoadDevices(),
                "users": LoadUsers(),
                "libraries": LoadLibraries(),
                "server": LoadServerSettings(),
            }.get(section)
            if loader is not None:
                self.post(loader)

    def select(self, section: SectionName) -> None:
        if section in self.sections:
            self.menu.setCurrentRow(self.sections.index(section))

    def shown(self) -> None:
        self._refresh_menu()
        self.menu.setFocus()

    # --- actions --------------------------------------------------------------------------

    def _change_password(self) -> None:
        if self.new_password.text() != self.confirm_password.text():
            self.security_status.setText("The new passwords do not match.")
            return
        self.post(ChangePassword(self.current_password.text(), self.new_password.text()))

    def _set_pin(self) -> None:
        if self.pin.text() != self.pin_confirm.text():
            self.security_status.setText("The PINs do not match.")
            return
        self.post(SetPin(self.pin.text()))

    def _revoke(self) -> None:
        device = _selected(self.devices)
        if device is not None:
            self.post(RevokeDevice(device))

    def _scan(self) -> None:
        library = _selected(self.libraries)
        if library is not None:
            self.post(StartScan(library))

    def _rename(self) -> None:
        library = _selected(self.libraries)
        if library is not None and self.lib_name.text().strip():
            self.post(UpdateLibrary(library, name=self.lib_name.text().strip()))

    def _delete_library(self) -> None:
        library = _selected(self.libraries)
        if library is not None:
            self.post(DeleteLibrary(library))

    def _add_library(self) -> None:
        series = self.lib_kind.currentText() == "series"
        self.post(
            CreateLibrary(
                self.lib_name.text(), "series" if series else "movies", (self.lib_folder.text(),)
            )
        )

    def _create_user(self) -> None:
        role = self.new_role.currentText()
        self.post(
            CreateUser(
                self.new_username.text(),
                self.new_user_password.text(),
                "admin" if role == "admin" else "guest" if role == "guest" else "user",
            )
        )

    def _change_role(self) -> None:
        user = _selected(self.users)
        role = self.edit_role.currentText()
        if user is not None:
            self.post(
                UpdateUser(
                    user,
                    role="admin" if role == "admin" else "guest" if role == "guest" else "user",
                )
            )

    def _delete_user(self) -> None:
        user = _selected(self.users)
        if user is not None:
            self.post(DeleteUser(user))

    def _server_changed(self, key: str) -> None:
        """Only the edited field: the others stay where they came from (config or API)."""
        value = self.server_fields[key].value()
        if value != self.server_values.get(key):
            self.post(UpdateServerSettings({key: value}))

    # --- events ---------------------------------------------------------------------------

    def _scan_text(self, library_id: uuid.UUID) -> str:
        p = self.scans.get(library_id)
        if p is None:
            return ""
        return f"{p.state}: {p.files_found} files, {p.jobs_done} jobs done, {p.jobs_queued} queued"

    def on_event(self, event: CrossDomainEvent) -> None:
        match event:
            case SettingsChanged(settings=settings, section=section):
                if section in self.forms:
                    self.forms[section].load(settings)
                    self.forms[section].status.setText("Saved — applied.")
            case Notice(text=text, level="error", source=source) if (
                source is not None and source.value == "settings"
            ):
                page = self.sections[self.menu.currentRow()] if self.sections else ""
                if page in self.forms:
                    self.forms[page].status.setText(text)
            case LoggedIn():
                self._refresh_menu()
            case PinSet():
                self.security_status.setText("PIN saved: this device is now trusted.")
                self.pin.clear()
                self.pin_confirm.clear()
            case AuthFailed(action="set_pin" | "password", text=text):
                self.security_status.setText(text)
            case Notice(text=text) if text.startswith("Password changed"):
                self.security_status.setText(text)
            case DevicesLoaded(devices=devices):
                _fill(
                    self.devices,
                    [
                        (
                            d.id,
                            [
                                d.name,
                                d.platform,
                                d.state + (" (PIN locked)" if d.pin_locked else ""),
                                d.last_seen_at.strftime("%Y-%m-%d %H:%M"),
                            ],
                        )
                        for d in devices
                    ],
                )
            case UsersLoaded(users=users):
                _fill(
                    self.users,
                    [
                        (
                            u.id,
                            [
                                u.username,
                                u.display_name,
                                u.role,
                                "locked" if u.locked_until else "",
                            ],
                        )
                        for u in users
                    ],
                )
            case LibrariesChanged(managed=managed):
                _fill(
                    self.libraries,
                    [
                        (
                            lib.id,
                            [lib.name, lib.kind, ", ".join(lib.roots), self._scan_text(lib.id)],
                        )
                        for lib in managed
                    ],
                )
            case ScanProgress() as progress:
                self.scans[progress.library_id] = progress
                total = progress.jobs_done + progress.jobs_queued
                self.scan_bar.setValue(
                    100
                    if progress.state == "completed"
                    else int(100 * progress.jobs_done / total)
                    if total
                    else 0
                )
                self.scan_label.setText(self._scan_text(progress.library_id))
                for r in range(self.libraries.rowCount()):
                    item = self.libraries.item(r, 0)
                    if (
                        item is not None
                        and item.data(Qt.ItemDataRole.UserRole) == progress.library_id
                    ):
                        self.libraries.setItem(
                            r, 3, QTableWidgetItem(self._scan_text(progress.library_id))
                        )
            case ServerSettingsLoaded(values=values):
                self._show_server(values)

    def _show_server(self, values: dict[str, Any]) -> None:
        self.server_values = dict(values)
        for key, value in values.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            widget = self.server_fields.get(key)
            if widget is None:
                widget = QSpinBox() if isinstance(value, int) else QDoubleSpinBox()
                widget.setRange(0, 100000)
                widget.setMaximumWidth(420)
                widget.editingFinished.connect(partial(self._server_changed, key))
                self.server_fields[key] = widget
                self.server_form.insertRow(self.server_form.rowCount() - 1, _label(key), widget)
            widget.blockSignals(True)
            widget.setValue(value)  # type: ignore[arg-type]
            widget.blockSignals(False)
        self.server_status.setText("Changes apply at once to new logins and sessions.")


__all__ = ["QLabel", "SettingsScreen"]
