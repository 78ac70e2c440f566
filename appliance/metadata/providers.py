"""The shape of an image provider: what the ImageFetch job (``appliance/scan/image_fetch.py``)
runs for a batch of new items. Declared on the metadata side, which implements providers
(``art.make_provider``), so that ``metadata`` never imports ``scan``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from appliance.orchestration.dispatcher import JobContext

ImageProvider = Callable[[JobContext, Sequence[str]], Awaitable[None]]
"""Called with the job's context and the ids of the items to find images for."""
