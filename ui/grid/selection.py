"""Keyboard selection in a grid: arrows, PageUp/PageDown, Home/End (pure, no Qt)."""

from __future__ import annotations

from enum import Enum


class Move(Enum):
    LEFT = "left"
    RIGHT = "right"
    UP = "up"
    DOWN = "down"
    PAGE_UP = "page_up"
    PAGE_DOWN = "page_down"
    HOME = "home"
    END = "end"


def move_selection(index: int, move: Move, count: int, columns: int, page_rows: int) -> int:
    """The index selected after ``move``; stays inside ``[0, count)`` and keeps the column on
    vertical moves where it can (Down on the last, shorter row goes to its last card)."""
    if count <= 0:
        return 0
    index = min(max(index, 0), count - 1)
    step = {
        Move.LEFT: -1,
        Move.RIGHT: 1,
        Move.UP: -columns,
        Move.DOWN: columns,
        Move.PAGE_UP: -columns * page_rows,
        Move.PAGE_DOWN: columns * page_rows,
    }
    if move is Move.HOME:
        return 0
    if move is Move.END:
        return count - 1
    target = index + step[move]
    if move in (Move.UP, Move.PAGE_UP) and target < 0:
        return index % columns if move is Move.PAGE_UP else index
    if target >= count:
        last_row_start = (count - 1) // columns * columns
        if move is Move.DOWN and index >= last_row_start:
            return index
        return count - 1
    return max(0, target)
