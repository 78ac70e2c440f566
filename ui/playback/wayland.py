"""The two Wayland handles waylandsink needs to draw inside our window, from PyQt6 and ctypes.

waylandsink embeds itself as a subsurface of a ``wl_surface`` we give it
(``set_window_handle``), and that surface belongs to Qt's connection, so the sink must use the
same ``wl_display``: a surface of one connection cannot parent a subsurface made on another (a
protocol error). Qt hands out both: ``QNativeInterface.QWaylandApplication.display()`` is the
``wl_display`` and, on Qt >= 6.9 (the PyQt6 wheels bundle it), ``QWindow.winId()`` of a native
child window is its ``wl_surface``. The display reaches the sink as a
``GstWlDisplayHandleContextType`` context; PyGObject cannot fill one (``writable_structure()``
hands back a copy), so it is made by ``gst_wl_display_handle_context_new`` from
``libgstwayland-1.0`` (gstreamer1.0-plugins-bad's library package) and set with
``gst_element_set_context``, both through ctypes.

waylandsink then runs its own event queue on Qt's display from its own thread, which libwayland
allows (each side reads with ``wl_display_prepare_read_queue``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from collections.abc import MutableMapping
from functools import cache
from typing import NoReturn

from PyQt6.QtCore import QNativeInterface
from PyQt6.QtGui import QGuiApplication

from ui.playback.gst import Gst

CONTEXT_TYPES = ("GstWlDisplayHandleContextType", "GstWaylandDisplayHandleContextType")
"""The context type waylandsink asks for (GStreamer >= 1.22, and the older name)."""


NO_CLIENT_FRAME = "QT_WAYLAND_DISABLE_WINDOWDECORATION"


def without_client_frame(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Before the QApplication: no Qt client-side frame on Wayland. Qt draws that frame into
    the top-level's buffer and copies a native child's pixels from that buffer without the
    frame's margins (``QWaylandShmBackingStore::flush``), so the controls bar above the
    video showed 30 px of the picture above it and lost its lower half. Compositors with
    server-side decorations (KDE, wlroots) still frame the window; the player is usually
    fullscreen, where Qt draws no frame anyway. A value the user set is kept."""
    if NO_CLIENT_FRAME in environ:
        return False
    platform = environ.get("QT_QPA_PLATFORM", "")
    session = environ.get("XDG_SESSION_TYPE", "") == "wayland" or "WAYLAND_DISPLAY" in environ
    if platform.startswith("wayland") or (not platform and session):
        environ[NO_CLIENT_FRAME] = "1"
        return True
    return False


class WaylandUnavailable(RuntimeError):
    """The Wayland embedding cannot work here (no display from Qt, no libgstwayland)."""


@cache
def _libs() -> tuple[ctypes.CDLL, ctypes.CDLL]:
    wayland = ctypes.util.find_library("gstwayland-1.0") or "libgstwayland-1.0.so.0"
    try:
        gstwl = ctypes.CDLL(wayland)
        gst = ctypes.CDLL(ctypes.util.find_library("gstreamer-1.0") or "libgstreamer-1.0.so.0")
    except OSError as exc:
        raise WaylandUnavailable(
            f"{exc}: install gstreamer1.0-plugins-bad (libgstreamer-plugins-bad1.0-0)"
        ) from exc
    gstwl.gst_wl_display_handle_context_new.argtypes = [ctypes.c_void_p]
    gstwl.gst_wl_display_handle_context_new.restype = ctypes.c_void_p
    gst.gst_element_set_context.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    gst.gst_element_set_context.restype = None
    gst.gst_mini_object_unref.argtypes = [ctypes.c_void_p]
    gst.gst_mini_object_unref.restype = None
    return gstwl, gst


def qt_display() -> int:
    """Qt's ``wl_display`` (an address); raises when Qt is not on Wayland."""
    app = QGuiApplication.instance()
    # Not in PyQt6's type stubs, and absent from a Qt built without Wayland.
    interface = getattr(QNativeInterface, "QWaylandApplication", None)
    native = (
        app.nativeInterface(interface)
        if isinstance(app, QGuiApplication) and interface is not None
        else None
    )
    display = native.display() if native is not None else None
    address = int(display) if display is not None else 0
    if not address:
        raise WaylandUnavailable("Qt is not running on Wayland (no wl_display)")
    return address


def _address(element: Gst.Element) -> int:
    """The C ``GstElement*`` behind a PyGObject element."""
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.argtypes = [ctypes.py_object, ctypes.c_char_p]
    get.restype = ctypes.c_void_p
    address = get(element.__gpointer__, None)
    assert address, "PyGObject gave no pointer"
    return int(address)


def give_display(element: Gst.Element, display: int) -> None:
    """Set the display context on ``element`` (waylandsink keeps the first one it gets)."""
    gstwl, gst = _libs()
    context = gstwl.gst_wl_display_handle_context_new(ctypes.c_void_p(display))
    if not context:
        raise WaylandUnavailable("gst_wl_display_handle_context_new failed")
    try:
        gst.gst_element_set_context(ctypes.c_void_p(_address(element)), ctypes.c_void_p(context))
    finally:
        gst.gst_mini_object_unref(ctypes.c_void_p(context))


def answer_need_context(message: Gst.Message, display: int) -> bool:
    """On the bus's sync handler: a sink asking for the Wayland display gets Qt's."""
    if message.type != Gst.MessageType.NEED_CONTEXT:
        return False
    found, kind = message.parse_context_type()
    source = message.src
    if not found or kind not in CONTEXT_TYPES or not isinstance(source, Gst.Element):
        return False
    give_display(source, display)
    return True


def leave(code: int) -> NoReturn:
    """End the process without Qt's Wayland teardown, once everything of ours is closed.

    ``QWaylandDisplay``'s destructor (run by ``QApplication``'s at interpreter exit) waits for Qt's
    Wayland event thread, and that thread can wait for good in ``wl_display_read_events``: a
    waylandsink given Qt's display for an embedded window keeps its own reader on that
    ``wl_display`` until the sink object is finalized, which Python's exit order does not promise
    to happen first. Seen as a player that hung on quit in 1 run of 3
    (tests/test_playback_wayland.py; the stack ended in ``QThread::wait`` under
    ``~QWaylandDisplay``). Output is flushed; on X11 nothing calls this."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def on_wayland() -> bool:
    """Whether this process's Qt runs on Wayland (its application made)."""
    app = QGuiApplication.instance()
    return app is not None and QGuiApplication.platformName() == "wayland"
