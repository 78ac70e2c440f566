"""Blocking decode of a fetched variant to exactly the on-screen size (run in a worker thread).

Pillow releases the GIL while decoding and resizing, so the UI thread keeps drawing. JPEG uses
draft mode (decode at a reduced scale) when the file is much larger than what is shown. The image
is cropped to the slot's aspect ratio around its centre (cover), never stretched.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from ui.images.types import RGBA


class DecodeError(ValueError):
    """The bytes are not an image Pillow can read."""


def decode_to(data: bytes, width: int, height: int) -> RGBA:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("RGB", (width, height))
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise DecodeError(f"undecodable image: {exc}") from None
    src_w, src_h = rgb.size
    target = width / height
    if src_w / src_h > target:  # too wide: crop the sides
        crop_w = round(src_h * target)
        box = ((src_w - crop_w) // 2, 0, (src_w - crop_w) // 2 + crop_w, src_h)
    else:
        crop_h = round(src_w / target)
        box = (0, (src_h - crop_h) // 2, src_w, (src_h - crop_h) // 2 + crop_h)
    out = rgb.resize((width, height), Image.Resampling.LANCZOS, box=box).convert("RGBA")
    return np.asarray(out, dtype=np.uint8).copy()
