"""How many textures to upload this frame: as many as fit, never more than the configured maximum,
fewer as frames approach the budget (the seed's "frame-latency throttling").

Pure logic over an injectable clock, so it is tested with a fake one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

# Uploads start backing off once the smoothed frame time passes this share of the budget, and are
# down to one a frame at the full budget (one, never zero: a slow machine still shows posters).
BACKOFF_FROM = 0.75
# Share of the frame budget uploads may take at most, however many are allowed.
UPLOAD_SHARE = 0.4
EMA = 0.2  # weight of the newest sample in the smoothed frame and upload times


@dataclass
class UploadBudget:
    max_per_frame: int
    frame_budget_s: float
    clock: Callable[[], float] = field(default=time.perf_counter)
    frame_s: float = 0.0  # smoothed frame-to-frame time
    upload_s: float = 0.0005  # smoothed cost of one upload (first guess: 0.5 ms)
    total_uploads: int = 0
    last_allowance: int = 0

    def frame_interval(self, seconds: float) -> None:
        """Feed the measured time between the last two frames."""
        if seconds <= 0:
            return
        self.frame_s = seconds if self.frame_s == 0.0 else (1 - EMA) * self.frame_s + EMA * seconds

    def allowance(self) -> int:
        load = self.frame_s / self.frame_budget_s
        if load <= BACKOFF_FROM:
            n = self.max_per_frame
        elif load >= 1.0:
            n = 1
        else:
            n = 1 + int((self.max_per_frame - 1) * (1.0 - load) / (1.0 - BACKOFF_FROM))
        by_time = int(self.frame_budget_s * UPLOAD_SHARE / max(self.upload_s, 1e-6))
        return max(1, min(n, by_time, self.max_per_frame))

    @property
    def box_s(self) -> float:
        """The most time one frame's uploads may take."""
        return self.frame_budget_s * UPLOAD_SHARE

    def run(
        self, pending: Iterable[T], upload: Callable[[T], None], box_s: float | None = None
    ) -> int:
        """Upload from ``pending`` until the allowance or the time box (``box_s``, default the
        frame's whole upload share) is used; the first one always goes. Returns how many."""
        allowed = self.last_allowance = self.allowance()
        box = self.box_s if box_s is None else box_s
        start = self.clock()
        done = 0
        for item in pending:
            if done >= allowed:
                break
            if done and self.clock() - start + self.upload_s > box:
                break  # the next one would likely overrun the time box
            t0 = self.clock()
            upload(item)
            spent = self.clock() - t0
            self.upload_s = (1 - EMA) * self.upload_s + EMA * spent
            done += 1
        self.total_uploads += done
        return done
