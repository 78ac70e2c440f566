"""The player's look: a dark theme (default) and a light one, as Qt style sheets.

Focus is always visible: the focused control gets the accent outline, because the player is
driven from a keyboard or a remote as often as with a mouse.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Palette:
    window: str
    surface: str
    raised: str
    text: str
    muted: str
    accent: str
    accent_text: str
    danger: str
    border: str


DARK = Palette(
    window="#0f1115",
    surface="#171a21",
    raised="#222732",
    text="#eceff4",
    muted="#9aa3b2",
    accent="#e5a00d",
    accent_text="#111111",
    danger="#ff6b6b",
    border="#2c3240",
)
LIGHT = Palette(
    window="#f4f5f7",
    surface="#ffffff",
    raised="#e8eaef",
    text="#16181d",
    muted="#5b6472",
    accent="#c7830a",
    accent_text="#ffffff",
    danger="#c62828",
    border="#d3d7de",
)


def palette(theme: str) -> Palette:
    return LIGHT if theme == "light" else DARK


def stylesheet(theme: str) -> str:
    p = palette(theme)
    return f"""
* {{ font-family: "Inter", "Noto Sans", "DejaVu Sans", sans-serif; font-size: 14px; }}
QMainWindow, QWidget#screen, QStackedWidget, QScrollArea, QScrollArea > QWidget > QWidget {{
    background: {p.window}; color: {p.text}; }}
QWidget {{ color: {p.text}; }}
QLabel {{ background: transparent; }}
QLabel#title {{ font-size: 30px; font-weight: 700; }}
QLabel#subtitle {{ font-size: 16px; color: {p.muted}; }}
QLabel#rowTitle {{ font-size: 18px; font-weight: 600; padding: 6px 2px 2px 2px; }}
QLabel#muted {{ color: {p.muted}; }}
QLabel#error {{ color: {p.danger}; font-weight: 600; }}
QLabel#ok {{ color: #5fd38d; font-weight: 600; }}
QLabel#badge {{ background: {p.raised}; border: 1px solid {p.border}; border-radius: 4px;
    padding: 2px 7px; font-size: 12px; font-weight: 700; }}
QLabel#hdr {{ background: {p.accent}; color: {p.accent_text}; border-radius: 4px;
    padding: 2px 7px; font-size: 12px; font-weight: 800; }}
QLabel#brand {{ font-size: 22px; font-weight: 800; color: {p.accent}; letter-spacing: 1px; }}
QFrame#card {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 12px; }}
QFrame#topbar {{ background: {p.surface}; border-bottom: 1px solid {p.border}; }}
QFrame#banner {{ background: #5a3a00; border-bottom: 1px solid #8a5a00; }}
QFrame#banner QLabel {{ color: #ffe2a8; font-weight: 600; }}
QFrame#overlay {{ background: {p.window}; }}
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox {{
    background: {p.raised}; border: 1px solid {p.border}; border-radius: 8px;
    padding: 8px 10px; selection-background-color: {p.accent}; }}
QLineEdit:focus, QComboBox:focus, QSpinBox:focus, QDoubleSpinBox:focus {{
    border: 2px solid {p.accent}; }}
QLineEdit#search {{ font-size: 22px; padding: 12px 16px; }}
QPushButton {{ background: {p.raised}; border: 1px solid {p.border}; border-radius: 8px;
    padding: 8px 16px; font-weight: 600; }}
QPushButton:hover {{ border-color: {p.muted}; }}
QPushButton:focus {{ border: 2px solid {p.accent}; }}
QPushButton#primary {{ background: {p.accent}; color: {p.accent_text}; border: none; }}
QPushButton#primary:focus {{ border: 2px solid {p.text}; }}
QPushButton#danger {{ color: {p.danger}; }}
QPushButton#nav {{ background: transparent; border: none; border-bottom: 2px solid transparent;
    border-radius: 0; padding: 10px 12px; color: {p.muted}; }}
QPushButton#nav:checked {{ color: {p.text}; border-bottom: 2px solid {p.accent}; }}
QPushButton#nav:focus {{ color: {p.text}; border-bottom: 2px solid {p.accent}; }}
QCheckBox {{ spacing: 8px; }}
QCheckBox:focus {{ color: {p.accent}; }}
QListWidget {{ background: transparent; border: none; outline: none; }}
QListWidget#menu {{ background: {p.surface}; border-right: 1px solid {p.border}; padding: 8px; }}
QListWidget#menu::item {{ padding: 10px 14px; border-radius: 8px; }}
QListWidget#menu::item:selected {{ background: {p.raised}; color: {p.accent}; }}
QListWidget#users::item {{ padding: 12px; border-radius: 8px; }}
QListWidget#users::item:selected {{ background: {p.raised}; border: 2px solid {p.accent}; }}
QTableWidget {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 8px;
    gridline-color: {p.border}; }}
QTableWidget::item:selected {{ background: {p.raised}; color: {p.accent}; }}
QHeaderView {{ background: {p.raised}; border: none; }}
QTableCornerButton::section {{ background: {p.raised}; border: none; }}
QHeaderView::section {{ background: {p.raised}; color: {p.muted}; border: none; padding: 6px; }}
QProgressBar {{ background: {p.raised}; border: none; border-radius: 4px; height: 8px;
    text-align: center; color: transparent; }}
QProgressBar::chunk {{ background: {p.accent}; border-radius: 4px; }}
QScrollBar:vertical, QScrollBar:horizontal {{ background: transparent; width: 10px;
    height: 10px; }}
QScrollBar::handle {{ background: {p.border}; border-radius: 5px; min-height: 30px;
    min-width: 30px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
"""
