-- Race-proof lockouts, unknown names that lock like real ones, and device keys (issue 20).
--
-- A password or PIN check first reserves an attempt (one row-locked step: refused when
-- failures + checks in flight reach the limit), then verifies, then settles: a failure counts,
-- a success gives the reservation back. So at most max_failed_passwords / max_failed_pins
-- checks are ever verified per lock, however many requests arrive at once. *_checks_at is the
-- time of the latest reservation: checks in flight older than a couple of minutes are taken for
-- dead (a crash mid-verify must not leave the account locked for good).
ALTER TABLE users
    ADD COLUMN password_checks_in_flight integer NOT NULL DEFAULT 0,
    ADD COLUMN password_checks_at timestamptz;

ALTER TABLE devices
    ADD COLUMN pin_checks_in_flight integer NOT NULL DEFAULT 0,
    ADD COLUMN pin_checks_at timestamptz,
    -- HMAC of the device key handed to the client at its last password login: it proves a
    -- trusted device (the client id alone is client-chosen and guessable), which the account
    -- lockout does not stop.
    ADD COLUMN key_hash bytea;

-- The same counters for usernames that do not exist, keyed by lower(username), so an unknown
-- name answers 401 and then 423 exactly like a real account (no enumeration by lockout).
CREATE TABLE unknown_login_failures (
    name                      text PRIMARY KEY,
    failed_password_attempts  integer NOT NULL DEFAULT 0,
    locked_until              timestamptz,
    password_checks_in_flight integer NOT NULL DEFAULT 0,
    password_checks_at        timestamptz,
    updated_at                timestamptz NOT NULL
);
CREATE INDEX unknown_login_failures_updated ON unknown_login_failures (updated_at);
