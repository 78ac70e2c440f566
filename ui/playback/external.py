"""Hand-off to mpv (the fallback for a format or display the built-in player cannot do), keeping
progress: mpv starts at the position, its JSON IPC socket is read every few seconds, and the
last position goes to the server as the session's heartbeats would. mpv is optional; when it is
absent the player says so and plays itself."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import trio

from sync.contract import reaches_completion
from ui.playback.progress import ProgressSink, SinkUnavailable, heartbeat

POLL_S = 5.0


class MpvMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__("mpv is not installed (sudo apt install mpv); playing in Ferrex instead.")


@dataclass
class Handoff:
    position_s: float
    duration_s: float | None
    exit_code: int | None


def mpv_path() -> str | None:
    return shutil.which("mpv")


async def _ask(sock: Path, prop: str) -> float | None:
    try:
        stream = await trio.open_unix_socket(str(sock))
    except OSError:
        return None
    async with stream:
        await stream.send_all(json.dumps({"command": ["get_property", prop]}).encode() + b"\n")
        with trio.move_on_after(1):
            data = b""
            while b"\n" not in data:
                chunk = await stream.receive_some(4096)
                if not chunk:
                    break
                data += chunk
            for line in data.splitlines():
                reply = json.loads(line)
                if "data" in reply and isinstance(reply["data"], (int, float)):
                    return float(reply["data"])
    return None


async def play_in_mpv(
    uri: str,
    item_id: uuid.UUID,
    start_s: float,
    sink: ProgressSink,
    *,
    suburi: str | None = None,
    heartbeat_s: float = POLL_S,
) -> Handoff:
    """Run mpv until it exits; report its position every ``heartbeat_s`` and at the end."""
    binary = mpv_path()
    if binary is None:
        raise MpvMissing()
    with tempfile.TemporaryDirectory(prefix="ferrex-mpv") as tmp:
        sock = Path(tmp) / "ipc"
        args = [
            binary,
            f"--start={start_s:.3f}",
            f"--input-ipc-server={sock}",
            "--force-window=yes",
            uri,
        ]
        if suburi:
            args.insert(1, f"--sub-file={suburi}")
        position, duration = start_s, None
        async with trio.open_nursery() as nursery:
            process: trio.Process = await nursery.start(
                partial(trio.run_process, args, check=False)
            )
            while process.returncode is None:
                with trio.move_on_after(heartbeat_s):
                    await process.wait()
                here = await _ask(sock, "time-pos")
                duration = await _ask(sock, "duration") or duration
                if here is not None:
                    position = here
                    try:
                        await sink.send(heartbeat(item_id, position, duration, "tick"))
                    except SinkUnavailable:
                        pass
        completed = reaches_completion(position, duration)
        try:
            await sink.send(heartbeat(item_id, position, duration, "stop", completed=completed))
        except SinkUnavailable:
            pass
        return Handoff(position, duration, process.returncode)
