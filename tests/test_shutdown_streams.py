"""SIGTERM with a player connected (issue #20, item 16).

An event stream (SSE) or the player's WebSocket never ends by itself, and the graceful shutdown
waited the whole ``server.shutdown_grace_seconds`` (10 s) for it. Streams now end at the start of
shutdown (the client reconnects) while an ordinary request in flight still gets its answer.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import struct
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.helpers import RunningAppliance, admin_token, short_tempdir

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"


def connect(base: str) -> socket.socket:
    url = urlsplit(base)
    assert url.hostname and url.port
    return socket.create_connection((url.hostname, url.port), timeout=10)


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before {marker!r}: {data!r}")
        data += chunk
    return data


def open_sse(base: str, token: str) -> socket.socket:
    sock = connect(base)
    sock.sendall(
        f"GET /api/v1/events HTTP/1.1\r\nHost: ferrex\r\nAccept: text/event-stream\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    head = read_until(sock, b": connected")
    assert head.startswith(b"HTTP/1.1 200"), head
    return sock


def open_ws(base: str, token: str) -> socket.socket:
    sock = connect(base)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /api/v1/ws HTTP/1.1\r\nHost: ferrex\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    head = read_until(sock, b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def ending(sock: socket.socket, within: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed."""
    sock.settimeout(within)
    data = b""
    started = time.monotonic()
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        return data + b"<still open>", within
    except ConnectionResetError:
        pass
    return data, time.monotonic() - started


def test_sigterm_ends_streams_at_once_and_finishes_a_request_in_flight() -> None:
    app = RunningAppliance(short_tempdir("fxs") / "var")
    try:
        base = app.wait_ready()
        token = admin_token(base, PASSWORD)
        sse = open_sse(base, token)
        ws = open_ws(base, token)
        # a login whose body is still arriving when SIGTERM comes
        body = json.dumps(
            {
                "username": "admin",
                "password": PASSWORD,
                "device": {"id": "slow", "name": "slow", "platform": "linux"},
            }
        ).encode()
        slow = connect(base)
        slow.sendall(
            f"POST /api/v1/auth/login HTTP/1.1\r\nHost: ferrex\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        time.sleep(0.2)

        results: dict[str, tuple[bytes, float]] = {}
        readers = [
            threading.Thread(target=lambda n=n, s=s: results.update({n: ending(s, 8)}))
            for n, s in (("sse", sse), ("ws", ws))
        ]
        for reader in readers:
            reader.start()
        started = time.monotonic()
        app.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        slow.sendall(body[10:])
        answer = read_until(slow, b"access_token")
        assert answer.startswith(b"HTTP/1.1 200"), answer
        code = app.proc.wait(timeout=15)
        elapsed = time.monotonic() - started
        for reader in readers:
            reader.join()
        assert code == 0
        # the grace is 10 s; 0.5 s of it is the slow body above, the rest stopping Postgres
        assert elapsed < 4, f"SIGTERM took {elapsed:.1f} s with a player connected"
        print(
            f"\nSIGTERM to exit: {elapsed:.2f} s; SSE ended after {results['sse'][1]:.2f} s, "
            f"WebSocket after {results['ws'][1]:.2f} s"
        )
        sse_data, sse_after = results["sse"]
        assert sse_data.endswith(b"0\r\n\r\n") and sse_after < 1.5, sse_data[-200:]
        ws_data, ws_after = results["ws"]
        assert ws_data[:1] == b"\x88" and ws_after < 1.5, ws_data  # a close frame...
        assert struct.unpack("!H", ws_data[2:4])[0] == 1012  # ..."service restart"
    finally:
        app.stop(signal.SIGKILL)
