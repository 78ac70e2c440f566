"""Playback: the GStreamer engine, stream info and progress, the video widget.

``engine`` knows GStreamer and nothing of the server; ``client`` knows the server's REST API and
nothing of GStreamer; ``session`` joins them (resume, heartbeats, EOS, retries) under trio;
``widget`` puts the video into a Qt window. Nothing here imports ``appliance`` or ``store``.
"""
