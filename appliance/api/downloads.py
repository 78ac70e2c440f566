"""Downloads of original files for offline play (issue 22, item 5).

``GET /media/files/{id}/download`` is streaming's file answer (the same lookup, access and path
checks, Range/206/416, ETag, If-Range: ``stream.serve_file``) under its own permission,
``media:download``, and with the file's SHA-256 in ``Repr-Digest`` (RFC 9530; also in the older
``Digest`` header of RFC 3230): the digest of the whole file, in a 206 too, so a player that
resumed with Range checks what it assembled. ``Content-Disposition: attachment`` names the
file. ``GET /media/files/{id}/checksum`` says the same digest as JSON.

The digest is computed on first need and cached until the file changes
(:mod:`appliance.checksums`), so the first download of a large file waits for one read of it.
A library taken away from the user answers 404 for new downloads, like streaming. Stream limits
per user do not exist on this appliance yet; when they do, this route counts as a stream.
"""

from __future__ import annotations

import base64
import os
import urllib.parse
import uuid

import quart

from appliance import checksums
from appliance.api import stream
from appliance.api.routing import Answer, Param, RequestContext, Router
from store.media_stream import StreamFileRow
from sync.download_types import ChecksumOut

router = Router("/api/v1")
TAGS = ("downloads",)
_ERRORS = {
    404: "no such file, file missing, or outside its library (or a library the user may not see)",
    503: "library folder offline, or the file is changing",
}


def _etag(st: os.stat_result) -> str:
    return f'"{st.st_size:x}-{st.st_mtime_ns:x}"'


async def _digest_headers(
    ctx: RequestContext, row: StreamFileRow, path: str, st: os.stat_result
) -> dict[str, str]:
    digest = await checksums.sha256(ctx.state.db, row.id, path, st)
    value = f"sha-256=:{base64.b64encode(digest).decode()}:"
    name = os.path.basename(path)
    return {
        "Repr-Digest": value,
        "Digest": "sha-256=" + base64.b64encode(digest).decode(),
        "Content-Disposition": "attachment; filename*=UTF-8''" + urllib.parse.quote(name, safe=""),
    }


@router.route(
    "/media/files/<uuid:file_id>/download",
    summary="Download a media file for "
    "offline play: byte ranges to resume (206/416, ETag, If-Range) and its SHA-256 "
    "in Repr-Digest (RFC 9530) to verify; HEAD too",
    permission="media:download",
    tags=TAGS,
    errors={**_ERRORS, 416: "range not satisfiable"},
    answers=(
        Answer(
            200,
            "the whole file",
            stream._MEDIA_TYPES,
            headers=("Accept-Ranges", "ETag", "Repr-Digest", "Content-Disposition"),
        ),
        Answer(
            206,
            "the byte range asked for (Repr-Digest: of the whole file)",
            stream._MEDIA_TYPES,
            headers=(
                "Accept-Ranges",
                "Content-Range",
                "ETag",
                "Repr-Digest",
                "Content-Disposition",
            ),
        ),
        Answer(304, "not modified (If-None-Match)", headers=("ETag",)),
    ),
    params=(
        Param(
            "Range",
            {"type": "string"},
            "one range bytes=a-b, a- or -n; anything else serves the whole file",
            where="header",
            status=None,
        ),
        Param(
            "If-Range",
            {"type": "string"},
            "the ETag of the bytes held: stale, the whole file",
            where="header",
            status=None,
        ),
        Param(
            "If-None-Match",
            {"type": "string"},
            "the ETag held: 304 when it is current",
            where="header",
            status=None,
        ),
    ),
)
async def download(ctx: RequestContext, file_id: uuid.UUID) -> quart.Response:
    async def extra(row: StreamFileRow, path: str, st: os.stat_result) -> dict[str, str]:
        return await _digest_headers(ctx, row, path, st)

    return await stream.serve_file(ctx, file_id, extra)


@router.route(
    "/media/files/<uuid:file_id>/checksum",
    summary="The SHA-256 of a media file "
    "as it is now (computed on first need, cached until the file changes)",
    response=ChecksumOut,
    permission="media:download",
    tags=TAGS,
    errors=_ERRORS,
)
async def checksum(ctx: RequestContext, file_id: uuid.UUID) -> ChecksumOut:
    row, path, st = await stream.present_file(ctx, file_id)
    digest = await checksums.sha256(ctx.state.db, row.id, path, st)
    return ChecksumOut(file_id=row.id, size_bytes=st.st_size, sha256=digest.hex(), etag=_etag(st))
