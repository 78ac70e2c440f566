"""Probes for the analysis worker that misbehave on marked files, as libav could on a broken
one: they run in the worker process (``Analyzers(probe=...)``), so they must be importable
functions of a module, not closures."""

from __future__ import annotations

import ctypes
import os
import time
from pathlib import Path

from appliance.scan.analyzers import libav_analyze
from sync.media_info import AnalysisError, MediaInfo


def crash_on_marked(path: str) -> MediaInfo | AnalysisError:
    """A segfault, as a demuxer's on a damaged file, for files named ``crash-me*``."""
    if Path(path).name.startswith("crash-me"):
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    return libav_analyze(path)


def hang_on_marked(path: str) -> MediaInfo | AnalysisError:
    """A demuxer stuck in a loop, for files named ``hang-me*``."""
    if Path(path).name.startswith("hang-me"):
        time.sleep(120)
    return libav_analyze(path)


def wait_to_be_killed_once(path: str) -> MediaInfo | AnalysisError:
    """The first time: write this worker's pid to ``PATH.pid`` and wait (the test kills the
    worker from outside, as the OOM killer would); afterwards analyse normally."""
    marker = Path(path + ".pid")
    if not marker.exists():
        marker.write_text(str(os.getpid()), encoding="ascii")
        time.sleep(120)
    return libav_analyze(path)
