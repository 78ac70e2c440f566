"""The one place that loads GStreamer through PyGObject, so version pinning and ``Gst.init``
happen once, before any element is made, whoever imports first."""

from __future__ import annotations

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
gi.require_version("GstPbutils", "1.0")
from gi.repository import Gst, GstPbutils, GstVideo  # noqa: E402

if not Gst.is_initialized():
    Gst.init(None)
GstPbutils.pb_utils_init()

SECOND: int = Gst.SECOND

__all__ = ["SECOND", "Gst", "GstPbutils", "GstVideo", "element", "has_element"]


def has_element(name: str) -> bool:
    return Gst.ElementFactory.find(name) is not None


def element(factory: str, name: str | None = None) -> Gst.Element:
    """Make an element or say which one is missing (never return None to the caller)."""
    made = Gst.ElementFactory.make(factory, name)
    if made is None:
        raise LookupError(f"GStreamer element {factory!r} is not installed")
    return made
