"""Direct play: ``GET/HEAD /api/v1/stream/{file_id}`` with byte ranges, playback tickets, and
sidecar subtitles (SRT also as WebVTT).

* Ranges: one ``bytes=a-b``, ``bytes=a-`` or suffix ``bytes=-n`` → 206 with ``Content-Range``;
  a start beyond the end (or a zero suffix) → 416 with ``Content-Range: bytes */size``; several
  ranges or a malformed header → the whole file (200), which RFC 9110 allows. ``If-Range`` with a
  stale ETag → the whole file. The ETag is ``"size-mtime_ns"`` of the file as it is now.
* The body is read in 1 MiB chunks in a worker thread (``trio.open_file``), never the whole file:
  many streams at once do not block the event loop. hypercorn has no zero-copy sendfile path for
  ASGI apps, so this is what "zero-copy where the stack allows" comes to here.
* Paths: the stored path is resolved (symlinks included) and must lie inside one of its
  library's roots, resolved the same way; otherwise 404 as if the file did not exist. A library
  root that is not there (an unmounted disk) → 503 ``library_offline``; a file the index no longer
  sees, or that has gone since → 404 with the reason.
* Tickets: ``POST /api/v1/stream/tickets`` → a short-lived token bound to the user, the file and
  the login (refresh family) it came from, usable as ``?ticket=`` by players that cannot send an
  Authorization header (GStreamer's souphttpsrc). Stateless (HMAC with a key derived from the
  server key); each request of a ticket checks the login, its device and the user's
  permissions and library limits as they are then, so a revoked login or device, a DENY of
  ``media:stream`` or a library taken away ends its streams at once.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime

import msgspec
import quart
import trio

from appliance.api.errors import ApiError
from appliance.api.routing import Answer, Param, RequestContext, Router
from appliance.auth import rbac
from appliance.auth.principal import Principal
from appliance.errors import InvalidInput, NotAuthenticated, NotFound, Unavailable
from appliance.state import AppState
from store import media_query as mq
from store.media_stream import StreamFileRow
from store.paths import from_db
from sync.errors import ErrorCode
from sync.media_types import TicketIn, TicketOut

router = Router("/api/v1")
TAGS = ("streaming",)
CHUNK = 1 << 20
TICKET_PREFIX = "fxt1"

MIME = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".avi": "video/x-msvideo",
    ".mov": "video/quicktime",
    ".ts": "video/mp2t",
    ".m2ts": "video/mp2t",
    ".mts": "video/mp2t",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".wmv": "video/x-ms-wmv",
    ".flv": "video/x-flv",
    ".ogv": "video/ogg",
    ".3gp": "video/3gpp",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".wav": "audio/wav",
    ".mka": "audio/x-matroska",
}
SUBTITLE_MIME = {
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".ass": "text/x-ssa",
    ".ssa": "text/x-ssa",
}


def mime_for(path: str) -> str:
    return MIME.get(os.path.splitext(path)[1].lower(), "application/octet-stream")


# --- tickets ----------------------------------------------------------------------------------


class _TicketBody(msgspec.Struct, array_like=True):
    user_id: str
    file_id: str
    family_id: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _ticket_key(state: AppState) -> bytes:
    if state.auth is None:
        raise NotAuthenticated(ErrorCode.UNAUTHORIZED, "authentication required")
    return state.auth.derived_key("playback-ticket")


def make_ticket(key: bytes, user_id: str, file_id: uuid.UUID, family_id: str, expires: int) -> str:
    body = _b64(msgspec.msgpack.encode(_TicketBody(user_id, str(file_id), family_id, expires)))
    mac = _b64(hmac.new(key, body.encode(), "sha256").digest()[:18])
    return f"{TICKET_PREFIX}.{body}.{mac}"


def read_ticket(key: bytes, ticket: str, now: float) -> _TicketBody:
    prefix, _, rest = ticket.partition(".")
    body, _, mac = rest.partition(".")
    if prefix != TICKET_PREFIX or not body or not mac:
        raise NotAuthenticated(ErrorCode.INVALID_TICKET, "not a playback ticket")
    expected = _b64(hmac.new(key, body.encode(), "sha256").digest()[:18])
    if not hmac.compare_digest(expected, mac):
        raise NotAuthenticated(ErrorCode.INVALID_TICKET, "playback ticket is not valid")
    try:
        parsed = msgspec.msgpack.decode(_unb64(body), type=_TicketBody)
    except (binascii.Error, msgspec.DecodeError):
        raise NotAuthenticated(ErrorCode.INVALID_TICKET, "playback ticket is not valid") from None
    if parsed.expires < now:
        raise NotAuthenticated(ErrorCode.INVALID_TICKET, "playback ticket expired; get a new one")
    return parsed


async def ticket_or_bearer(request: quart.Request, state: AppState) -> Principal:
    """A ``?ticket=`` for this very file, else the usual bearer token."""
    ticket = request.args.get("ticket")
    if ticket is None:
        return await state.authenticator(request, state)
    parsed = read_ticket(_ticket_key(state), ticket, time.time())
    file_id = (request.view_args or {}).get("file_id")
    if str(file_id) != parsed.file_id:
        raise NotAuthenticated(ErrorCode.INVALID_TICKET, "playback ticket is for another file")
    login = await mq.ticket_login(state.db, uuid.UUID(parsed.family_id), uuid.UUID(parsed.user_id))
    if login is None:
        raise NotAuthenticated(
            ErrorCode.INVALID_TICKET, "the login this ticket came from was revoked"
        )
    # The user's permissions now (role, GRANT/DENY, the login's scope), not when the ticket was
    # made: a DENY of media:stream ends the ticket's streams at once (403 from authorise).
    now_allowed = rbac.effective(login.role, login.grants, login.denies, login.scope)
    return Principal(
        user_id=parsed.user_id,
        username="",
        role=login.role,
        scope="playback",
        permissions=now_allowed & frozenset({"media:stream"}) & rbac.PLAYBACK,
    )


@router.route(
    "/stream/tickets",
    "POST",
    summary="A short-lived playback ticket for one file: "
    "a URL a media player can open without an Authorization header",
    request=TicketIn,
    response=TicketOut,
    status=201,
    permission="media:stream",
    tags=TAGS,
    errors={404: "no such file"},
)
async def create_ticket(ctx: RequestContext, body: TicketIn) -> TicketOut:
    principal = ctx.require_principal()
    await _file_row(ctx, body.file_id)
    expires = int(time.time()) + ctx.state.config.media.ticket_ttl_seconds
    ticket = make_ticket(
        _ticket_key(ctx.state), principal.user_id, body.file_id, str(principal.family_id), expires
    )
    return TicketOut(
        ticket=ticket,
        expires_at=datetime.fromtimestamp(expires, UTC),
        url=f"/api/v1/stream/{body.file_id}?ticket={ticket}",
    )


# --- locating the file ------------------------------------------------------------------------


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def locate(row: StreamFileRow, stored_path: str) -> tuple[str, os.stat_result]:
    """The real path of a file inside its library, and its stat; NotFound or Unavailable if not.
    Runs in a worker thread (it touches the disk)."""
    path = from_db(stored_path)
    roots = [from_db(r) for r in row.roots]
    owning = [r for r in roots if _inside(path, r)]
    if not owning:
        raise NotFound(ErrorCode.NOT_FOUND, "file is not inside its library")
    root = owning[0]
    if not os.path.isdir(root):
        raise Unavailable(
            ErrorCode.LIBRARY_OFFLINE,
            f"the library folder {root} is not available (disk unmounted?)",
            headers={"Retry-After": "30"},
        )
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if not _inside(real, real_root):
        raise NotFound(ErrorCode.NOT_FOUND, "file is not inside its library")
    try:
        st = os.stat(real)
    except FileNotFoundError:
        raise NotFound(ErrorCode.FILE_MISSING, "the file is gone from disk") from None
    except PermissionError:
        raise NotFound(ErrorCode.FILE_UNREADABLE, "the appliance may not read this file") from None
    if not os.path.isfile(real):
        raise NotFound(ErrorCode.NOT_FOUND, "not a regular file")
    return real, st


async def _file_row(ctx: RequestContext, file_id: uuid.UUID) -> StreamFileRow:
    user_id = uuid.UUID(ctx.require_principal().user_id)
    row = await mq.stream_file(ctx.state.db, file_id, user_id)
    if row is None:  # no such file, or in a library this user may not see
        raise NotFound(ErrorCode.NOT_FOUND, f"no file {file_id}")
    return row


# --- ranges -----------------------------------------------------------------------------------

_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
_BEYOND = 1 << 63
"""Stands for any position with more digits than a file size has (they all mean "past the
end"): a Range header of thousands of digits made ``int()`` raise ValueError, a 500."""


def _position(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else _BEYOND


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, end inclusive), None (serve all), or "unsatisfiable". Strict RFC 9110 syntax
    (ASCII digits, any length): anything else, and several ranges, are ignored (the whole
    file), as the RFC allows."""
    if not header or len(header) > 10_000:
        return None
    m = _RANGE.match(header.strip().replace(" ", ""))
    if m is None:
        return None  # malformed or several ranges: the whole file
    first, last = m.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = _position(last)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size - 1
    start = _position(first)
    if last != "" and _position(last) < start:
        return None  # invalid range spec: ignored
    if start >= size:
        return "unsatisfiable"
    end = size - 1 if last == "" else min(_position(last), size - 1)
    return start, end


def _if_range_ok(value: str | None, etag: str, mtime: float) -> bool:
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == etag  # strong comparison; a weak tag never matches
    try:
        return int(parsedate_to_datetime(value).timestamp()) >= int(mtime)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # not an HTTP date: the whole file, as for a stale validator


async def _body(path: str, start: int, length: int) -> AsyncIterator[bytes]:
    async with await trio.open_file(path, "rb", buffering=0) as f:
        await f.seek(start)
        left = length
        while left > 0:
            chunk = await f.read(min(CHUNK, left))
            if not chunk:
                break  # the file shrank under us: end the response early
            left -= len(chunk)
            yield chunk


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover


_TICKET = Param(
    "ticket",
    {"type": "string", "maxLength": 4096},
    "a playback ticket (POST /stream/tickets) instead of the Authorization header",
    status=401,
)
_MEDIA_TYPES = tuple(sorted({*MIME.values(), "application/octet-stream"}))
_SUBTITLE_TYPES = tuple(sorted({*SUBTITLE_MIME.values(), "text/vtt", "text/plain"}))
_SUBTITLE_FORMATS = ("srt", "vtt", "ass", "ssa")


@router.route(
    "/stream/<uuid:file_id>",
    summary="Direct play of a media file with byte ranges "
    "(206/416, ETag, If-Range); ?ticket= instead of a bearer token; HEAD too",
    permission="media:stream",
    tags=TAGS,
    authenticator=ticket_or_bearer,
    errors={
        404: "no such file, file missing, or outside its library",
        416: "range not satisfiable",
        503: "library folder offline",
    },
    answers=(
        Answer(200, "the whole file", _MEDIA_TYPES, headers=("Accept-Ranges", "ETag")),
        Answer(
            206,
            "the byte range asked for",
            _MEDIA_TYPES,
            headers=("Accept-Ranges", "Content-Range", "ETag"),
        ),
        Answer(304, "not modified (If-None-Match)", headers=("ETag",)),
    ),
    params=(
        _TICKET,
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
            "an ETag or HTTP date; stale: the whole file",
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
async def stream(ctx: RequestContext, file_id: uuid.UUID) -> quart.Response:
    return await serve_file(ctx, file_id)


ExtraHeaders = Callable[[StreamFileRow, str, os.stat_result], Awaitable[dict[str, str]]]


async def present_file(
    ctx: RequestContext, file_id: uuid.UUID
) -> tuple[StreamFileRow, str, os.stat_result]:
    """The file's row, real path and stat, with streaming's access and path checks."""
    row = await _file_row(ctx, file_id)
    if not row.present:
        raise NotFound(ErrorCode.FILE_MISSING, "the last scan did not find this file on disk")
    path, st = await trio.to_thread.run_sync(locate, row, row.path)
    return row, path, st


async def serve_file(
    ctx: RequestContext, file_id: uuid.UUID, extra: ExtraHeaders | None = None
) -> quart.Response:
    """A file the user may see, whole or one byte range (see the module's note); ``extra``
    adds headers for the file as it is served (a download's digest)."""
    row, path, st = await present_file(ctx, file_id)
    size = st.st_size
    etag = f'"{size:x}-{st.st_mtime_ns:x}"'
    request = quart.request
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Cache-Control": "private, max-age=0",
        "Last-Modified": formatdate(st.st_mtime, usegmt=True),
        "Content-Type": mime_for(path),
    }
    if extra is not None:
        headers.update(await extra(row, path, st))
    if request.headers.get("If-None-Match") == etag and "Range" not in request.headers:
        return quart.Response(b"", status=304, headers=headers)
    wanted = parse_range(request.headers.get("Range"), size)
    if wanted is not None and not _if_range_ok(request.headers.get("If-Range"), etag, st.st_mtime):
        wanted = None
    if wanted == "unsatisfiable":
        raise ApiError(
            416,
            ErrorCode.RANGE_NOT_SATISFIABLE,
            f"the file has {size} bytes",
            headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"},
        )
    status = 200
    start, length = 0, size
    if isinstance(wanted, tuple):
        start, end = wanted
        length = end - start + 1
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    body = _nothing() if request.method == "HEAD" else _body(path, start, length)
    response = quart.Response(body, status=status, headers=headers)
    response.headers["Content-Length"] = str(length)
    response.timeout = None
    return response


# --- subtitles --------------------------------------------------------------------------------

_SRT_TIME = re.compile(r"(\d+:\d\d:\d\d),(\d{1,3})")


def srt_to_vtt(text: str) -> str:
    """SubRip → WebVTT: header, ``.`` as the decimal separator, no BOM, LF line ends."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    for line in text.split("\n"):
        if "-->" in line:
            line = _SRT_TIME.sub(lambda m: f"{m.group(1)}.{m.group(2):0<3}", line)
        lines.append(line)
    return "WEBVTT\n\n" + "\n".join(lines).strip("\n") + "\n"


def _decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


@router.route(
    "/stream/<uuid:file_id>/subtitles/<int:index>",
    summary="A sidecar subtitle "
    "file of a media file (index among its external subtitles); ?format=vtt converts "
    "SRT to WebVTT; ?ticket= accepted",
    permission="media:stream",
    tags=TAGS,
    authenticator=ticket_or_bearer,
    errors={
        404: "no such file or subtitle",
        415: "cannot convert to this format",
        503: "library folder offline",
    },
    answers=(Answer(200, "the subtitle file (UTF-8)", _SUBTITLE_TYPES),),
    params=(
        _TICKET,
        Param(
            "format",
            {"enum": list(_SUBTITLE_FORMATS)},
            "the format wanted (default: the file's own); vtt converts SRT",
        ),
    ),
)
async def subtitle(ctx: RequestContext, file_id: uuid.UUID, index: int) -> quart.Response:
    wanted = quart.request.args.get("format", "")  # the request's own argument first
    if wanted not in ("", *_SUBTITLE_FORMATS):
        raise InvalidInput(
            ErrorCode.INVALID_FORMAT, f"format is one of {', '.join(_SUBTITLE_FORMATS)}"
        )
    row = await _file_row(ctx, file_id)
    try:
        tracks = msgspec.json.decode(row.subtitles or "[]", type=list[dict[str, object]])
    except msgspec.DecodeError:
        tracks = []
    sidecars = [str(t["path"]) for t in tracks if t.get("external") and t.get("path")]
    if not 0 <= index < len(sidecars):
        raise NotFound(ErrorCode.NOT_FOUND, f"file {file_id} has no sidecar subtitle {index}")
    path, st = await trio.to_thread.run_sync(locate, row, sidecars[index])
    if st.st_size > 20 << 20:
        raise NotFound(ErrorCode.NOT_FOUND, "subtitle file is implausibly large")
    data = await trio.Path(path).read_bytes()
    ext = os.path.splitext(path)[1].lower()
    if wanted in ("", ext.lstrip(".")):
        return quart.Response(
            data, content_type=SUBTITLE_MIME.get(ext, "text/plain") + "; charset=utf-8"
        )
    if wanted == "vtt" and ext == ".srt":
        return quart.Response(
            srt_to_vtt(_decode_text(data)).encode(), content_type="text/vtt; charset=utf-8"
        )
    raise ApiError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, f"cannot convert {ext} to {wanted}")
