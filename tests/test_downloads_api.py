"""Downloads on the server (issue 22, item 5): ``/media/files/{id}/download`` with Range and the
file's SHA-256 in ``Repr-Digest``, ``/media/files/{id}/checksum``; ``media:download`` and the
user's libraries decide access like streaming; the digest is cached until the file changes."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance import checksums
from appliance.redis_client import RedisClient
from store import libraries
from store.db import Database
from tests.authkit import Harness
from tests.test_stream import Env


@pytest.fixture
async def env(db: Database, redis: RedisClient, tmp_path: Path) -> AsyncIterator[Env]:
    h = Harness(db, redis, tmp_path / "data")
    await h.claim()
    token = await h.token()
    root = tmp_path / "media"
    root.mkdir()
    library = await libraries.create(db, "Films", "movies", [str(root)])
    yield Env(h, db, root, library.id, token)


def _repr_digest(data: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"


async def test_download_ranges_and_digest(env: Env) -> None:
    payload = os.urandom(3 * (1 << 20) + 777)
    (env.root / "Film (2020).mkv").write_bytes(payload)
    file_id = await env.add(env.root / "Film (2020).mkv")
    url = f"/api/v1/media/files/{file_id}/download"
    status, headers, body = await env.get(url)
    assert status == 200 and body == payload
    assert headers["Content-Length"] == str(len(payload))
    assert headers["Repr-Digest"] == _repr_digest(payload)
    assert "Film%20%282020%29.mkv" in headers["Content-Disposition"]
    etag = headers["ETag"]
    # resuming: a 206 of the rest, whose Repr-Digest is still the whole file's
    status, headers, body = await env.get(url, {"Range": "bytes=1000000-", "If-Range": etag})
    assert status == 206 and body == payload[1000000:]
    assert headers["Content-Range"] == f"bytes 1000000-{len(payload) - 1}/{len(payload)}"
    assert headers["Repr-Digest"] == _repr_digest(payload)
    assert (await env.get(url, {"Range": f"bytes={len(payload)}-"}))[0] == 416
    reply = await env.h.call("GET", f"/api/v1/media/files/{file_id}/checksum", token=env.token)
    assert reply.status == 200, reply.body
    assert reply.body["sha256"] == hashlib.sha256(payload).hexdigest()
    assert reply.body["size_bytes"] == len(payload) and reply.body["etag"] == etag


async def test_checksum_cached_until_the_file_changes(env: Env) -> None:
    path = env.root / "a.mp4"
    path.write_bytes(b"first version" * 1000)
    file_id = await env.add(path)
    url = f"/api/v1/media/files/{file_id}/checksum"
    before = checksums.computed
    first = (await env.h.call("GET", url, token=env.token)).body
    assert checksums.computed == before + 1
    # a second checksum and a download read the cache, not the file
    assert (await env.h.call("GET", url, token=env.token)).body == first
    assert (await env.get(f"/api/v1/media/files/{file_id}/download"))[0] == 200
    assert checksums.computed == before + 1
    # rewritten in place (same size, new mtime): hashed again
    path.write_bytes(b"other version" * 1000)
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
    second = (await env.h.call("GET", url, token=env.token)).body
    assert checksums.computed == before + 2
    assert second["sha256"] == hashlib.sha256(b"other version" * 1000).hexdigest()
    assert second["sha256"] != first["sha256"]
    # replaced by another file (new inode), same size and mtime: hashed again
    st = os.stat(path)
    spare = env.root / "spare"
    spare.write_bytes(b"third version" * 1000)
    os.utime(spare, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(spare, path)
    third = (await env.h.call("GET", url, token=env.token)).body
    assert checksums.computed == before + 3
    assert third["sha256"] == hashlib.sha256(b"third version" * 1000).hexdigest()


async def test_permission_and_library_access(env: Env) -> None:
    (env.root / "a.mp4").write_bytes(b"x" * 5000)
    file_id = await env.add(env.root / "a.mp4")
    admin = env.token
    bob = await env.h.create_user(admin, "bob")
    bob_token = await env.h.token("bob", "user password 1", device="bobs-laptop")
    url = f"/api/v1/media/files/{file_id}/download"
    checksum = f"/api/v1/media/files/{file_id}/checksum"
    env.token = bob_token
    assert (await env.get(url))[0] == 200
    # no media:download: 403 (streaming still allowed)
    reply = await env.h.call(
        "PUT", f"/api/v1/users/{bob['id']}/permissions", {"deny": ["media:download"]}, token=admin
    )
    assert reply.status == 200, reply.body
    status, _, body = await env.get(url)
    assert status == 403, body
    assert (await env.h.call("GET", checksum, token=bob_token)).status == 403
    assert (await env.get(f"/api/v1/stream/{file_id}"))[0] == 200
    await env.h.call("PUT", f"/api/v1/users/{bob['id']}/permissions", {}, token=admin)
    assert (await env.get(url))[0] == 200
    # the library taken away: 404, as if the file did not exist
    other = await libraries.create(env.db, "Other", "movies", [str(env.root.parent / "o")])
    reply = await env.h.call(
        "PUT", f"/api/v1/users/{bob['id']}/libraries", {"library_ids": [str(other.id)]}, token=admin
    )
    assert reply.status == 200, reply.body
    status, _, body = await env.get(url)
    assert status == 404, body
    assert (await env.h.call("GET", checksum, token=bob_token)).status == 404
