"""A film's poster from its own video, for films with no local art and nothing from TMDB.

Why: without the network most films would be plain placeholder cards. A frame of the film is a
better poster than none, as long as it is a *representative* frame: films open and close on
black, titles fade in and out. So a few points between 12 % and 60 % of the duration are
grabbed (one ffmpeg seek each, cheap), each is scored on a 64-pixel grey copy, and frames that
are near black, near white or flat (fades, title cards on one colour) are refused; the frame
with the most contrast wins. No candidate at all means no poster: the typographic placeholder
is better than a black rectangle.

The 2:3 poster is composed without squashing the 16:9 frame: the frame, fitted to the
poster's width, lies over a blurred, darkened copy of itself that covers the whole poster.
The result is stored with source ``frame``, which a local or TMDB poster replaces and which
never replaces either (see :mod:`store.frame_grabs`).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio
from PIL import Image, ImageEnhance, ImageFilter, ImageStat

SAMPLES = (0.12, 0.24, 0.36, 0.48, 0.60)
"""Where to look, as fractions of the duration: past the opening, before the credits."""
POSTER_SIZE = (600, 900)  # 2:3, wide enough for the w342 variant at 1.75x
MIN_MEAN, MAX_MEAN = 28.0, 235.0  # grey level: below is black or a fade, above is a white card
MIN_SPREAD = 14.0  # grey standard deviation: below is one flat colour

Grab = Callable[[Path, float], Awaitable[bytes | None]]
"""Grabs one JPEG frame at a time in seconds (``sample``, or ``art.grab_at``)."""


async def sample(path: Path, at: float) -> bytes | None:
    """A JPEG of the key frame at or before ``at`` seconds (ffmpeg), or None. Not the exact
    frame (``art.grab_at``): ffmpeg decodes one picture instead of up to a whole group of
    pictures after the seek point, which made five samples of a 1080p film with 10 s GOPs
    3x slower; any frame near the point serves to pick a poster."""
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-noaccurate_seek",
        "-skip_frame",
        "nokey",
        "-ss",
        f"{max(0.0, at):.3f}",
        "-i",
        str(path),
        "-frames:v",
        "1",
        "-vf",
        "scale='min(1280,iw)':-2",
        "-f",
        "image2",
        "-c:v",
        "mjpeg",
        "-q:v",
        "3",
        "pipe:1",
    ]
    try:
        with trio.fail_after(60):
            done = await trio.run_process(
                cmd, capture_stdout=True, capture_stderr=True, check=False
            )
    except (OSError, trio.TooSlowError):
        return None
    out: bytes = done.stdout
    return out if done.returncode == 0 and out else None


def score(data: bytes) -> float | None:
    """Blocking: how much the frame shows (its grey contrast), None for black, white, flat or
    unreadable frames."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("L", (64, 64))
            grey = im.convert("L")
            grey.thumbnail((64, 64))
            stat = ImageStat.Stat(grey)
    except (OSError, ValueError):
        return None
    mean, spread = stat.mean[0], stat.stddev[0]
    if not MIN_MEAN <= mean <= MAX_MEAN or spread < MIN_SPREAD:
        return None
    return float(spread)


def compose(data: bytes, size: tuple[int, int] = POSTER_SIZE) -> bytes:
    """Blocking: a ``size`` (2:3) JPEG poster of the frame, fitted over a blurred fill."""
    width, height = size
    with Image.open(io.BytesIO(data)) as im:
        frame = im.convert("RGB")
    cover = max(width / frame.width, height / frame.height)
    fill = frame.resize(
        (max(width, round(frame.width * cover)), max(height, round(frame.height * cover))),
        Image.Resampling.BILINEAR,
    )
    left, top = (fill.width - width) // 2, (fill.height - height) // 2
    fill = fill.crop((left, top, left + width, top + height))
    poster = ImageEnhance.Brightness(fill.filter(ImageFilter.GaussianBlur(24))).enhance(0.55)
    fit = min(width / frame.width, height / frame.height)
    shown = frame.resize(
        (max(1, round(frame.width * fit)), max(1, round(frame.height * fit))),
        Image.Resampling.LANCZOS,
    )
    poster.paste(shown, ((width - shown.width) // 2, (height - shown.height) // 2))
    out = io.BytesIO()
    poster.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


async def make(path: Path, duration_s: float, grab: Grab = sample) -> bytes | None:
    """The film's generated poster (JPEG bytes), or None when no frame is worth showing."""
    best: tuple[float, bytes] | None = None
    for fraction in SAMPLES:
        frame = await grab(path, duration_s * fraction)
        if frame is None:
            continue
        value = await trio.to_thread.run_sync(score, frame)
        if value is not None and (best is None or value > best[0]):
            best = (value, frame)
    if best is None:
        return None
    return await trio.to_thread.run_sync(compose, best[1])
