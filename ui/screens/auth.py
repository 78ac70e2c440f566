"""Connect, first-run setup and login screens."""

from __future__ import annotations

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sync.discovery import FoundServer
from ui.domains.auth import ChooseServer, ClaimServer, PasswordLogin, PinLogin
from ui.domains.core import CrossDomainEvent, DomainRegistry
from ui.domains.events import AuthFailed, LoggedIn, ServerChosen
from ui.screens.base import Screen
from ui.screens.widgets import button, heading

OTHER_USER = "Another user…"
DISCOVERY_REFRESH_MS = 1000


def found_label(found: FoundServer) -> str:
    """One line of the LAN list: name, address, version, and a badge while it has no admin."""
    badge = "   · new, not set up yet" if not found.claimed else ""
    return f"{found.name}   {found.url.removeprefix('http://')}   v{found.version}{badge}"


def _card(*widgets: QWidget, title: str, subtitle: str) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName("card")
    frame.setFixedWidth(480)
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(36, 32, 36, 32)
    layout.setSpacing(14)
    brand = QLabel("FERREX")
    brand.setObjectName("brand")
    layout.addWidget(brand)
    layout.addWidget(heading(title))
    sub = heading(subtitle, "subtitle")
    sub.setWordWrap(True)
    layout.addWidget(sub)
    for w in widgets:
        layout.addWidget(w)
    return frame, layout


def _centered(screen: QWidget, frame: QFrame) -> None:
    outer = QVBoxLayout(screen)
    outer.addStretch(1)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(frame)
    row.addStretch(1)
    outer.addLayout(row)
    outer.addStretch(2)


def _status() -> QLabel:
    label = QLabel("")
    label.setObjectName("error")
    label.setWordWrap(True)
    return label


class ConnectScreen(Screen):
    name = "connect"

    def __init__(self, registry: DomainRegistry) -> None:
        super().__init__(registry)
        self.url = QComboBox()
        self.url.setEditable(True)
        self.url.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        line = self.url.lineEdit()
        assert line is not None
        line.setPlaceholderText("http://ferrex.local:8420")
        line.returnPressed.connect(self.connect)
        self.status = _status()
        self.go = button("Connect", "primary", self.connect)
        # appliances announcing themselves on the LAN (ui.net.discovery), when the app browses
        self.found_heading = QLabel("On your network")
        self.found = QListWidget()
        self.found.setObjectName("users")
        self.found.setMaximumHeight(150)
        self.found.itemActivated.connect(self._use_found)
        self.found.itemClicked.connect(self._use_found)
        frame, _ = _card(
            self.found_heading,
            self.found,
            QLabel("Server address"),
            self.url,
            self.status,
            self.go,
            title="Connect to your server",
            subtitle="Pick an appliance found on your network, or enter its "
            "address. Servers you used before are in the list.",
        )
        _centered(self, frame)
        self._shown_found: list[FoundServer] | None = None
        self._refresh_found()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._refresh_found)
        self._timer.start(DISCOVERY_REFRESH_MS)

    def _refresh_found(self) -> None:
        """Mirror the browser's list (read under its lock; it changes on zeroconf's thread)."""
        source = self.services.discovery
        found: list[FoundServer] = source.snapshot() if source is not None else []
        visible = source is not None
        self.found_heading.setVisible(visible)
        self.found.setVisible(visible)
        if found == self._shown_found:
            return
        self._shown_found = found
        current = self.found.currentItem()
        picked = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
        self.found.clear()
        if not found and visible:
            searching = QListWidgetItem("Looking for appliances…")
            searching.setFlags(Qt.ItemFlag.NoItemFlags)
            self.found.addItem(searching)
        for server in found:
            item = QListWidgetItem(found_label(server))
            item.setData(Qt.ItemDataRole.UserRole, server.url)
            item.setToolTip(f"server id {server.server_id}")
            self.found.addItem(item)
            if server.url == picked:
                self.found.setCurrentItem(item)

    def _use_found(self, item: QListWidgetItem) -> None:
        url = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(url, str):
            self.url.setEditText(url)
            self.connect()

    def shown(self) -> None:
        current = self.url.currentText()
        self.url.clear()
        servers = [s.url for s in self.services.local.servers]
        self.url.addItems(servers)
        self.url.setEditText(current or self.services.local.last_server or "")
        self.url.setFocus()

    def connect(self) -> None:
        self.status.setText("Connecting…")
        self.status.setObjectName("muted")
        self.status.setStyleSheet("")
        self.post(ChooseServer(self.url.currentText()))

    def on_event(self, event: CrossDomainEvent) -> None:
        if isinstance(event, AuthFailed) and event.action == "connect":
            self.status.setObjectName("error")
            self.status.setStyleSheet("")
            self.status.setText(event.text)
        elif isinstance(event, ServerChosen) and event.reachable:
            self.status.setText("")


class SetupScreen(Screen):
    name = "setup"

    def __init__(self, registry: DomainRegistry) -> None:
        super().__init__(registry)
        self.username = QLineEdit("admin")
        self.display_name = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm = QLineEdit()
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm.returnPressed.connect(self.claim)
        form = QFormLayout()
        form.addRow("Username", self.username)
        form.addRow("Display name", self.display_name)
        form.addRow("Password", self.password)
        form.addRow("Confirm password", self.confirm)
        holder = QWidget()
        holder.setLayout(form)
        self.status = _status()
        self.go = button("Create admin account", "primary", self.claim)
        frame, _ = _card(
            holder,
            self.status,
            self.go,
            title="Set up your server",
            subtitle="This appliance has no administrator yet. Create the first "
            "account; it can add libraries and users.",
        )
        _centered(self, frame)

    def shown(self) -> None:
        self.password.setFocus()

    def claim(self) -> None:
        if self.password.text() != self.confirm.text():
            self.status.setText("The passwords do not match.")
            return
        if not self.username.text().strip() or not self.password.text():
            self.status.setText("Enter a username and a password.")
            return
        self.status.setText("")
        self.post(
            ClaimServer(
                self.username.text().strip(), self.password.text(), self.display_name.text().strip()
            )
        )

    def on_event(self, event: CrossDomainEvent) -> None:
        if isinstance(event, AuthFailed) and event.action == "claim":
            self.status.setText(event.text)


class LoginScreen(Screen):
    """User picker; password on a new device, PIN where this device is trusted for the user."""

    name = "login"

    def __init__(self, registry: DomainRegistry) -> None:
        super().__init__(registry)
        self.users = QListWidget()
        self.users.setObjectName("users")
        self.users.setMaximumHeight(170)
        self.users.currentItemChanged.connect(lambda *_: self._picked())
        self.users.itemActivated.connect(lambda _item: self._focus_secret())
        self.username = QLineEdit()
        self.username.setPlaceholderText("Username")
        self.password = QLineEdit()
        self.password.setPlaceholderText("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.returnPressed.connect(self.login)
        self.pin = QLineEdit()
        self.pin.setPlaceholderText("PIN")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMaxLength(8)
        self.pin.returnPressed.connect(self.login)
        self.use_password = button("Use password instead", "", self._toggle_password)
        self.status = _status()
        self.go = button("Log in", "primary", self.login)
        self.change_server = button("Change server", "", self._change_server)
        self.server_label = heading("", "muted")
        frame, _ = _card(
            self.users,
            self.username,
            self.password,
            self.pin,
            self.use_password,
            self.status,
            self.go,
            self.change_server,
            self.server_label,
            title="Who's watching?",
            subtitle="Pick your account. Trusted devices log in with a PIN.",
        )
        _centered(self, frame)
        self._force_password = False

    def shown(self) -> None:
        self.users.clear()
        url = self.services.local.last_server or ""
        self.server_label.setText(url)
        entry = self.services.local.server(url)
        last = entry.last_user if entry else None
        for user in entry.users if entry else []:
            item = QListWidgetItem(
                f"{user.display_name or user.username}{'   · PIN' if user.trusted else ''}"
            )
            item.setData(Qt.ItemDataRole.UserRole, user)
            self.users.addItem(item)
            if user.username == last:
                self.users.setCurrentItem(item)
        self.users.addItem(QListWidgetItem(OTHER_USER))
        if self.users.currentRow() < 0:
            self.users.setCurrentRow(0)
        self.password.clear()
        self.pin.clear()
        self._force_password = False
        self._picked()
        self._focus_secret()

    def _picked(self) -> None:
        item = self.users.currentItem()
        user = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        self.username.setVisible(user is None)
        if user is not None:
            self.username.setText(user.username)
        elif item is not None:
            self.username.clear()
        pin_mode = bool(user is not None and user.trusted and not self._force_password)
        self.pin.setVisible(pin_mode)
        self.password.setVisible(not pin_mode)
        self.use_password.setVisible(pin_mode)

    @property
    def pin_mode(self) -> bool:
        return self.pin.isVisibleTo(self)

    def _focus_secret(self) -> None:
        if self.username.isVisibleTo(self):
            self.username.setFocus()
        elif self.pin_mode:
            self.pin.setFocus()
        else:
            self.password.setFocus()

    def _toggle_password(self) -> None:
        self._force_password = True
        self._picked()
        self.password.setFocus()

    def _change_server(self) -> None:
        from ui.domains.ui import Navigate

        self.post(Navigate("connect"))

    def login(self) -> None:
        username = self.username.text().strip()
        if not username:
            self.status.setText("Enter your username.")
            return
        self.status.setText("")
        if self.pin_mode:
            self.post(PinLogin(username, self.pin.text()))
        else:
            self.post(PasswordLogin(username, self.password.text()))

    def on_event(self, event: CrossDomainEvent) -> None:
        if isinstance(event, AuthFailed) and event.action in ("login", "pin"):
            self.status.setText(event.text)
            self.pin.clear()
            self.password.selectAll()
        elif isinstance(event, LoggedIn):
            self.status.setText("")
            self.password.clear()
            self.pin.clear()
