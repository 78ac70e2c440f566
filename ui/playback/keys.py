"""The player's keys (keyboard first): a table from (key, shift) to an action, kept apart from
the widgets so settings can rebind it and tests can read it without a window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PyQt6.QtCore import Qt

Action = Literal[
    "toggle",
    "back",
    "forward",
    "back_large",
    "forward_large",
    "volume_up",
    "volume_down",
    "mute",
    "fullscreen",
    "leave",
    "slower",
    "faster",
    "cycle_audio",
    "cycle_subtitles",
    "next_chapter",
    "previous_chapter",
    "restart",
    "external_player",
]

K = Qt.Key


@dataclass(frozen=True)
class KeyMap:
    bindings: dict[tuple[int, bool], Action]

    def action(self, key: int, shift: bool) -> Action | None:
        return self.bindings.get((key, shift)) or self.bindings.get((key, False))


DEFAULT = KeyMap(
    {
        (K.Key_Space.value, False): "toggle",
        (K.Key_K.value, False): "toggle",
        (K.Key_MediaPlay.value, False): "toggle",
        (K.Key_Left.value, False): "back",
        (K.Key_Right.value, False): "forward",
        (K.Key_Left.value, True): "back_large",
        (K.Key_Right.value, True): "forward_large",
        (K.Key_J.value, False): "back",
        (K.Key_L.value, False): "forward",
        (K.Key_Up.value, False): "volume_up",
        (K.Key_Down.value, False): "volume_down",
        (K.Key_M.value, False): "mute",
        (K.Key_F.value, False): "fullscreen",
        (K.Key_Escape.value, False): "leave",
        (K.Key_BracketLeft.value, False): "slower",
        (K.Key_BracketRight.value, False): "faster",
        (K.Key_A.value, False): "cycle_audio",
        (K.Key_S.value, False): "cycle_subtitles",
        (K.Key_PageDown.value, False): "next_chapter",
        (K.Key_PageUp.value, False): "previous_chapter",
        (K.Key_Home.value, False): "restart",
        (K.Key_E.value, True): "external_player",
    }
)
