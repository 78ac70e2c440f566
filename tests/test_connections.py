"""Connections against the real ``ferrex-appliance serve`` (issue #20, items 14 and 15).

An answer given before the request body was read (401 decided before reading, 413 on the declared
length) used to leave hypercorn's keep-alive connection stuck: the next request on it was never
answered. Now the connection either answers the next request or says ``Connection: close`` and is
closed cleanly, so a client (the player's httpx) retries on a fresh one. Bodies and heads have a
total time limit, so a client trickling bytes cannot hold a connection.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from tests.helpers import RunningAppliance, short_tempdir

pytestmark = pytest.mark.slow

BODY_TIMEOUT = 2.0
ROUNDS = 20
BIG = 2_000_000  # over the 1 MiB upload limit
DEADLINE = 3.0  # for the next answer on the same connection


@pytest.fixture(scope="module")
def appliance() -> Iterator[RunningAppliance]:
    app = RunningAppliance(
        short_tempdir("fxc") / "var",
        env={
            "FERREX_SERVER_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
            "FERREX_AUTH_REFRESH_LIMIT": "100000",  # many rounds from one address
        },
    )
    try:
        app.wait_ready()
        yield app
    finally:
        assert app.stop(signal.SIGTERM) == 0


def address(app: RunningAppliance) -> tuple[str, int]:
    url = urlsplit(app.base_url)
    assert url.hostname and url.port
    return url.hostname, url.port


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def read_answer(sock: socket.socket) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside an answer")
        rest += chunk
    return Answer(int(lines[0].split()[1]), headers, rest[:length])


def post_head(path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: ferrex\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def closed_cleanly(sock: socket.socket, within: float) -> bool:
    """The server ends the connection (FIN, or a reset once it is done) within ``within``."""
    sock.settimeout(within)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


CASES = {
    # 401: authorisation is decided before the body is read (the player after a token expired)
    "401-small-body": ("/api/v1/libraries", b'{"name": "Films", "path": "/srv/films"}'),
    "401-2MB-body": ("/api/v1/libraries", b"x" * BIG),
    # 413 on the declared length, on a public route that reads its body
    "413-2MB-body": ("/api/v1/auth/refresh", b"x" * BIG),
}


@pytest.mark.parametrize("case", CASES)
def test_raw_socket_next_request_after_an_early_answer(
    appliance: RunningAppliance, case: str
) -> None:
    path, body = CASES[case]
    reused = closed = 0
    for _ in range(ROUNDS):
        with socket.create_connection(address(appliance), timeout=DEADLINE) as sock:
            sock.sendall(post_head(path, len(body)))  # head and body apart, as httpx writes
            sock.sendall(body)
            first = read_answer(sock)
            assert first.status == int(case[:3]), first
            assert json.loads(first.body)["error"]["code"]
            if first.headers.get("connection", "").lower() == "close":
                assert closed_cleanly(sock, DEADLINE), f"{case}: said close, stayed open"
                closed += 1
                continue
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: ferrex\r\n\r\n")
            started = time.monotonic()
            second = read_answer(sock)  # socket timeout: DEADLINE
            assert second.status == 200 and time.monotonic() - started < DEADLINE
            reused += 1
    print(f"\n{case}: {reused} reused, {closed} closed with Connection: close")
    if len(body) < 1 << 20:
        assert reused == ROUNDS, "a small body is read, so the connection stays usable"
    else:
        assert closed == ROUNDS, "a body over the limit is not kept: the answer says close"


@pytest.mark.parametrize("case", CASES)
def test_httpx_keepalive_client_gets_every_answer(appliance: RunningAppliance, case: str) -> None:
    path, body = CASES[case]
    timeout = httpx.Timeout(DEADLINE, write=10.0)
    with httpx.Client(base_url=appliance.base_url, timeout=timeout) as client:
        for _ in range(ROUNDS):
            first = client.post(path, content=body, headers={"Content-Type": "application/json"})
            assert first.status_code == int(case[:3])
            started = time.monotonic()
            assert client.get("/health").status_code == 200
            assert time.monotonic() - started < DEADLINE


def test_trickled_body_gets_408_and_a_closed_connection(appliance: RunningAppliance) -> None:
    with socket.create_connection(address(appliance), timeout=10) as sock:
        sock.sendall(post_head("/api/v1/auth/refresh", 100))
        started = time.monotonic()
        sock.settimeout(0.3)
        answer = b""
        while time.monotonic() - started < 15 and not answer:
            try:
                sock.sendall(b" ")  # one byte at a time, as slowly as a slowloris
            except OSError:
                break
            try:
                answer = sock.recv(65536)
            except TimeoutError:
                continue
        elapsed = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"connection: close" in answer.lower()
        assert BODY_TIMEOUT - 0.2 < elapsed < BODY_TIMEOUT + 2, elapsed
        assert closed_cleanly(sock, 3)


def test_trickled_head_is_cut_by_the_keepalive_timer(appliance: RunningAppliance) -> None:
    """Until a request head is complete, hypercorn's idle timer (keep_alive_timeout, 5 s) runs;
    a trickle does not reset it."""
    with socket.create_connection(address(appliance), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: ferrex\r\n")
        started = time.monotonic()
        sock.settimeout(0.5)
        ended = False
        while time.monotonic() - started < 20:
            try:
                sock.sendall(b"X")
                ended = sock.recv(65536) == b""
            except TimeoutError:
                continue
            except OSError:
                ended = True
            if ended:
                break
        assert ended and time.monotonic() - started < 8, time.monotonic() - started
