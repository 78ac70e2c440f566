-- Auth and device trust: accounts, per-user permission overrides, devices, sessions,
-- refresh-token families, security events. Tokens are stored only as HMAC-SHA256 (bytea);
-- timestamps come from the application's clock so that tests can move time.
CREATE TABLE users (
    id                       uuid PRIMARY KEY,
    username                 text NOT NULL,
    display_name             text NOT NULL DEFAULT '',
    role                     text NOT NULL CHECK (role IN ('admin', 'user', 'guest')),
    password_hash            text NOT NULL,
    failed_password_attempts integer NOT NULL DEFAULT 0,
    locked_until             timestamptz,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));

CREATE TABLE user_permission_overrides (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission text NOT NULL,
    effect     text NOT NULL CHECK (effect IN ('grant', 'deny')),
    PRIMARY KEY (user_id, permission)
);

CREATE TABLE devices (
    id                  uuid PRIMARY KEY,
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id           text NOT NULL,
    name                text NOT NULL,
    platform            text NOT NULL,
    state               text NOT NULL CHECK (state IN ('pending', 'trusted', 'revoked')),
    pin_hash            text,
    failed_pin_attempts integer NOT NULL DEFAULT 0,
    pin_locked          boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL,
    last_seen_at        timestamptz NOT NULL,
    revoked_at          timestamptz,
    UNIQUE (user_id, client_id)
);

CREATE TABLE refresh_families (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_id      uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    scope          text NOT NULL CHECK (scope IN ('full', 'playback')),
    generation     integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text
);
CREATE INDEX refresh_families_user ON refresh_families (user_id);
CREATE INDEX refresh_families_device ON refresh_families (device_id);

CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    family_id  uuid NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    generation integer NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz,
    UNIQUE (family_id, generation)
);

CREATE TABLE sessions (
    id         uuid PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_id  uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    family_id  uuid NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    scope      text NOT NULL CHECK (scope IN ('full', 'playback')),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX sessions_user_live ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_family ON sessions (family_id);
CREATE INDEX sessions_device ON sessions (device_id);

-- No foreign keys: the trail outlives deleted users and devices.
CREATE TABLE security_events (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL,
    kind      text NOT NULL,
    user_id   uuid,
    device_id uuid,
    client_ip text NOT NULL DEFAULT '',
    details   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX security_events_at ON security_events (at DESC);
