"""Appliance configuration: defaults < TOML file < ``FERREX_*`` environment < command line.

The config is a tree of msgspec structs so that an unknown key or a wrong type is caught at load
time with a message that names the setting, instead of surfacing later as an odd crash.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec


class ConfigError(Exception):
    """A setting is wrong. ``str()`` is one line naming the setting, fit for a terminal."""


class ServerSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    listen: str = "0.0.0.0:8420"
    """HOST:PORT for the HTTP API. Use 127.0.0.1 to keep it on this machine."""
    shutdown_grace_seconds: float = 10.0
    """How long in-flight requests may run after SIGTERM before they are cut."""
    body_timeout_seconds: float = 30.0
    """A request body must have arrived this long after the request head, else 408 and the
    connection is closed (a client trickling bytes cannot hold a connection for ever)."""


class DatabaseSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    dsn: str = ""
    """Empty: run a private Postgres cluster in the data directory. Otherwise an external DSN."""
    postgres_bin_dir: str = ""
    """Where initdb/postgres live. Empty: PATH, then the newest /usr/lib/postgresql/*/bin."""
    pool_min: int = 1
    pool_max: int = 10
    pool_idle_seconds: float = 10.0
    """A pooled connection unused this long is closed (each idle Postgres backend holds 5-45 MB);
    the next query opens one again (about 5 ms). 0: keep every connection for ever."""
    command_timeout_seconds: float = 30.0


class RedisSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    url: str = ""
    """Empty: run a private redis-server on a unix socket. Otherwise redis:// or unix:// URL."""
    server_bin: str = ""
    """Path of redis-server. Empty: look it up on PATH."""


class ServiceSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    user: str = "ferrex"
    """Account the embedded Postgres and Redis run as when the appliance is started as root."""


class LogSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    level: str = "info"
    format: str = "json"
    """json (one object per line, for the journal and log shippers) or text."""


class AuthSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    argon2_memory_kib: int = 65536
    """Argon2id memory per hash (KiB). 64 MiB, t=3, p=4 is RFC 9106's low-memory choice; a Pi 4
    has 4 cores for the lanes and at least 1 GiB for two concurrent hashes."""
    argon2_time_cost: int = 3
    argon2_parallelism: int = 4
    argon2_concurrency: int = 2
    """Hashes computed at once; bounds memory (concurrency x argon2_memory_kib)."""
    session_hours: float = 24.0
    refresh_days: float = 30.0
    password_min_length: int = 8
    max_failed_passwords: int = 5
    password_lockout_minutes: float = 15.0
    max_failed_pins: int = 3
    session_cache_seconds: int = 300
    """Upper bound on how long Redis keeps a validated session (revocation deletes it at once)."""
    setup_token_minutes: float = 60.0
    """Lifetime of a token printed by `ferrex-appliance setup-token`."""
    login_limit: int = 10
    """Password logins per window, per client IP and per device id (sliding window)."""
    login_window_seconds: int = 60
    pin_limit: int = 10
    pin_window_seconds: int = 60
    refresh_limit: int = 30
    refresh_window_seconds: int = 60
    setup_limit: int = 5
    setup_window_seconds: int = 60


class ScanSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    analyze: bool = True
    """Run ffprobe on new and changed files (codecs, HDR, tracks). Off: faster first scans."""
    per_library_cap: int = 4
    """Jobs of one library running at once, so one big library cannot take every worker."""
    scan_workers: int = 0
    """Folder walks at once; 0 = from the CPU count (as for analysis_workers)."""
    analysis_workers: int = 0
    walk_processes: int = -1
    """Worker processes that walk folders and parse names beside the appliance process, each on
    a core of its own; -1 = two (none on one core); 0 = walk in a thread."""
    worker_idle_seconds: float = 30.0
    """A walk worker process with no walk this long exits (about 30 MB each); the next scan
    starts one again (about 0.15 s). 0: start them with the appliance and keep them."""
    watch_debounce_ms: int = 1500
    """Quiet time before a changed folder is rescanned (a copy in progress keeps it busy)."""
    lease_ttl_seconds: float = 30.0
    """A claimed job's lease; renewed at half of it. A crashed worker's jobs return after it."""
    housekeeping_seconds: float = 15.0
    """How often expired leases go back to ready and deferred retries become ready."""


class MetadataSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    tmdb_api_key: str = ""
    """TMDB v3 API key or v4 read access token; empty: NFO files and local artwork only."""
    tmdb_base_url: str = "https://api.themoviedb.org/3"
    language: str = "en-US"
    """Language of titles and overviews asked from TMDB (ISO 639-1, optionally -region)."""
    region: str = ""
    """Country for release dates and certifications (ISO 3166-1, e.g. "GB"); empty: US."""
    tmdb_timeout_seconds: float = 10.0
    cache_days: int = 30
    """How long TMDB answers are reused (a rescan within this does not ask again)."""
    image_cache_mb: int = 2048
    """Size limit of resized image variants; the least recently used go first."""
    frame_grabs: bool = True
    """Episodes with no thumbnail get a frame grabbed at 30% of their duration (ffmpeg)."""


class MediaSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    query_budget: int = 15
    """Complexity points a media query may cost (see sync.query.ComplexityGuard)."""
    peak_query_budget: int = 10
    """The budget during peak hours."""
    peak_hours: str = "18-23"
    """Local-time hour windows START-END, comma-separated (e.g. "7-9,18-23"); empty: never."""
    ticket_ttl_seconds: int = 14400
    """Lifetime of a playback ticket (a stream URL for media players that cannot send headers)."""
    sync_retention_days: float = 30.0
    """Change-feed entries older than this are pruned; a player further behind re-snapshots."""
    sync_push_interval_ms: int = 500
    """How often the appliance looks for new feed entries to push "changed up to SEQ" to players."""


MEMORY_PROFILES = ("auto", "small", "large", "stock")


class MemorySection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    profile: str = "auto"
    """How the embedded Postgres is sized: small (a 1-2 GB board), large (a NAS), auto (small
    below 3 GiB of RAM, else large, sized by the RAM), or stock (Postgres's own defaults)."""
    trim_seconds: float = 60.0
    """How often the appliance hands heap pages it freed back to the system (glibc's
    malloc_trim: 5-10 MB after a 30k-file scan); 0: never."""


class DiscoverySection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True
    """Announce the appliance on the LAN (mDNS / DNS-SD, ``_ferrex._tcp``) so players list it;
    never when server.listen is a loopback address."""
    name: str = ""
    """The name players show; empty: this machine's host name."""


class Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    data_dir: str = ""
    """Only read from an external config file (--config); otherwise --data-dir decides."""
    server: ServerSection = msgspec.field(default_factory=ServerSection)
    database: DatabaseSection = msgspec.field(default_factory=DatabaseSection)
    redis: RedisSection = msgspec.field(default_factory=RedisSection)
    service: ServiceSection = msgspec.field(default_factory=ServiceSection)
    log: LogSection = msgspec.field(default_factory=LogSection)
    auth: AuthSection = msgspec.field(default_factory=AuthSection)
    scan: ScanSection = msgspec.field(default_factory=ScanSection)
    metadata: MetadataSection = msgspec.field(default_factory=MetadataSection)
    media: MediaSection = msgspec.field(default_factory=MediaSection)
    memory: MemorySection = msgspec.field(default_factory=MemorySection)
    discovery: DiscoverySection = msgspec.field(default_factory=DiscoverySection)


SECTIONS: dict[str, type[msgspec.Struct]] = {
    "server": ServerSection,
    "database": DatabaseSection,
    "redis": RedisSection,
    "service": ServiceSection,
    "log": LogSection,
    "auth": AuthSection,
    "scan": ScanSection,
    "metadata": MetadataSection,
    "media": MediaSection,
    "memory": MemorySection,
    "discovery": DiscoverySection,
}
LOG_LEVELS = ("debug", "info", "warning", "error")
# Environment variables that pick files rather than settings.
LOCATION_ENV = {"FERREX_DATA_DIR", "FERREX_CONFIG"}


@dataclass(frozen=True)
class Location:
    """Where the config file and the data directory are, and whether the file exists yet."""

    data_dir: Path
    config_file: Path

    @property
    def config_exists(self) -> bool:
        return self.config_file.is_file()


def default_data_dir() -> Path:
    """``$STATE_DIRECTORY`` under systemd (StateDirectory=ferrex), else ./var of the checkout."""
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0])
    return Path.cwd() / "var"


def env_key(section: str, key: str) -> str:
    return f"FERREX_{section.upper()}_{key.upper()}"


def _parse_env_value(name: str, raw: str, kind: Any) -> Any:
    try:
        if kind is bool:
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        return raw
    except ValueError:
        raise ConfigError(f"{name}: expected {kind.__name__}, got {raw!r}") from None


def _env_overrides(environ: dict[str, str]) -> dict[str, dict[str, Any]]:
    known: dict[str, tuple[str, str, Any]] = {}
    for section, struct in SECTIONS.items():
        for field in msgspec.structs.fields(struct):
            known[env_key(section, field.name)] = (section, field.name, field.type)
    out: dict[str, dict[str, Any]] = {}
    for name, raw in environ.items():
        if not name.startswith("FERREX_") or name in LOCATION_ENV:
            continue
        if name not in known:
            raise ConfigError(f"{name}: unknown setting (environment variable)")
        section, key, kind = known[name]
        out.setdefault(section, {})[key] = _parse_env_value(name, raw, kind)
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe_validation_error(err: msgspec.ValidationError, source: str) -> str:
    # msgspec says e.g. "Object contains unknown field `lisen` - at `$.server`"
    text = str(err)
    where = ""
    if " - at `$" in text:
        text, _, where = text.partition(" - at `$")
        where = where.rstrip("`").lstrip(".")
    if text.startswith("Object contains unknown field `"):
        key = text.split("`")[1]
        name = f"{where}.{key}" if where else key
        return f"{name}: unknown setting ({source})"
    return f"{where or 'config'}: {text} ({source})"


def load(
    location: Location,
    *,
    environ: dict[str, str] | None = None,
    cli: dict[str, dict[str, Any]] | None = None,
) -> Config:
    """Build the effective config. Raises ConfigError with a one-line reason."""
    file_data: dict[str, Any] = {}
    if location.config_exists:
        try:
            file_data = tomllib.loads(location.config_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{location.config_file}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{location.config_file}: cannot read: {exc.strerror}") from None
        try:
            msgspec.convert(file_data, Config)
        except msgspec.ValidationError as exc:
            raise ConfigError(_describe_validation_error(exc, str(location.config_file))) from None
    merged = _merge(file_data, _env_overrides(dict(os.environ if environ is None else environ)))
    merged = _merge(merged, cli or {})
    try:
        config = msgspec.convert(merged, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, "environment or command line")) from None
    validate_values(config)
    return config


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port_text = listen.rpartition(":")
    if not sep or not host:
        raise ConfigError(f"server.listen: expected HOST:PORT, got {listen!r}")
    host = host.strip("[]")
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"server.listen: port must be a number, got {port_text!r}") from None
    if not 0 <= port < 65536:  # 0: any free port (the log says which)
        raise ConfigError(f"server.listen: port {port} is out of range 0-65535")
    return host, port


def validate_values(config: Config) -> None:
    """Checks that need no I/O: ranges and enumerations."""
    parse_listen(config.server.listen)
    if config.server.shutdown_grace_seconds < 0:
        raise ConfigError("server.shutdown_grace_seconds: must not be negative")
    if not 0 < config.server.body_timeout_seconds <= 3600:
        raise ConfigError("server.body_timeout_seconds: must be > 0 and <= 3600")
    if config.database.pool_min < 1 or config.database.pool_max < config.database.pool_min:
        raise ConfigError("database.pool_max: must be >= database.pool_min >= 1")
    if (
        config.database.pool_idle_seconds < 0
        or config.scan.worker_idle_seconds < 0
        or config.memory.trim_seconds < 0
    ):
        raise ConfigError(
            "database.pool_idle_seconds, scan.worker_idle_seconds, "
            "memory.trim_seconds: must not be negative (0 = never)"
        )
    if config.memory.profile not in MEMORY_PROFILES:
        raise ConfigError(f"memory.profile: must be one of {', '.join(MEMORY_PROFILES)}")
    if config.log.level.lower() not in LOG_LEVELS:
        raise ConfigError(f"log.level: must be one of {', '.join(LOG_LEVELS)}")
    if config.log.format not in ("json", "text"):
        raise ConfigError("log.format: must be json or text")
    validate_auth(config.auth)
    scan = config.scan
    if scan.per_library_cap < 1:
        raise ConfigError("scan.per_library_cap: must be >= 1")
    if scan.scan_workers < 0 or scan.analysis_workers < 0:
        raise ConfigError("scan.*_workers: must be >= 0 (0 = from the CPU count)")
    if scan.walk_processes < -1:
        raise ConfigError("scan.walk_processes: must be >= -1 (-1 = from the CPU count)")
    if scan.lease_ttl_seconds < 1 or scan.housekeeping_seconds <= 0:
        raise ConfigError("scan.lease_ttl_seconds: must be >= 1 (and housekeeping_seconds > 0)")
    if not 50 <= scan.watch_debounce_ms <= 600_000:
        raise ConfigError("scan.watch_debounce_ms: must be between 50 and 600000")
    if config.redis.url and not config.redis.url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("redis.url: must start with redis://, rediss:// or unix://")
    meta = config.metadata
    if not meta.tmdb_base_url.startswith(("http://", "https://")):
        raise ConfigError("metadata.tmdb_base_url: must be an http(s) URL")
    if meta.image_cache_mb < 16 or meta.cache_days < 0 or meta.tmdb_timeout_seconds <= 0:
        raise ConfigError(
            "metadata: image_cache_mb must be >= 16, cache_days >= 0, tmdb_timeout_seconds > 0"
        )
    validate_media(config.media)


def validate_media(media: MediaSection) -> None:
    from sync.query import parse_peak_hours

    try:
        parse_peak_hours(media.peak_hours)
    except ValueError as exc:
        raise ConfigError(f"media.{exc}") from None
    if media.sync_retention_days <= 0 or media.sync_push_interval_ms < 50:
        raise ConfigError(
            "media.sync_retention_days must be > 0 and media.sync_push_interval_ms >= 50"
        )
    if media.query_budget < 1 or media.peak_query_budget < 1:
        raise ConfigError("media.query_budget: budgets must be >= 1")
    if not 60 <= media.ticket_ttl_seconds <= 86400:
        raise ConfigError("media.ticket_ttl_seconds: must be between 60 and 86400")


def validate_auth(auth: AuthSection) -> None:
    if auth.argon2_parallelism < 1 or auth.argon2_time_cost < 1 or auth.argon2_concurrency < 1:
        raise ConfigError("auth.argon2_*: time_cost, parallelism and concurrency must be >= 1")
    if auth.argon2_memory_kib < 8 * auth.argon2_parallelism:
        raise ConfigError("auth.argon2_memory_kib: must be at least 8 x argon2_parallelism")
    positive = (
        "session_hours",
        "refresh_days",
        "password_min_length",
        "max_failed_passwords",
        "password_lockout_minutes",
        "max_failed_pins",
        "setup_token_minutes",
        "login_limit",
        "login_window_seconds",
        "pin_limit",
        "pin_window_seconds",
        "refresh_limit",
        "refresh_window_seconds",
        "setup_limit",
        "setup_window_seconds",
    )
    for name in positive:
        if getattr(auth, name) <= 0:
            raise ConfigError(f"auth.{name}: must be positive")
    if auth.session_cache_seconds < 0:
        raise ConfigError("auth.session_cache_seconds: must not be negative")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def render(config: Config) -> str:
    """The config as a commented TOML file: the file users edit, so every setting is listed."""
    lines = [
        "# Ferrex appliance configuration.",
        "# Every setting can be overridden by an environment variable FERREX_<SECTION>_<KEY>,",
        "# e.g. FERREX_SERVER_LISTEN=127.0.0.1:8420.",
    ]
    for section, struct in SECTIONS.items():
        lines.append("")
        lines.append(f"[{section}]")
        current = getattr(config, section)
        for field in msgspec.structs.fields(struct):
            lines.append(f"{field.name} = {_toml_value(getattr(current, field.name))}")
    return "\n".join(lines) + "\n"
