-- 0001_initial: orgs, users, roles, apps, keys, releases, channel manifests,
-- devices, installations and the audit log. Applied by hotpatch-publisher at
-- start-up (and by `hotpatch-publisher migrate`) inside one transaction.

CREATE TABLE orgs (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    email          text NOT NULL UNIQUE,
    password_hash  text NOT NULL,           -- libsodium crypto_pwhash_str (Argon2id)
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE apps (
    id                  bigserial PRIMARY KEY,
    org_id              bigint NOT NULL REFERENCES orgs(id),
    name                text NOT NULL UNIQUE,  -- storage paths are bundles/<app>/..: unique per storage
    halt_threshold_pct  integer CHECK (halt_threshold_pct BETWEEN 1 AND 100),  -- NULL: server default
    halt_min_installs   integer CHECK (halt_min_installs >= 1),
    created_at          timestamptz NOT NULL DEFAULT now()
);

-- A user's role in an org (app_id NULL) or in one app of it.
CREATE TABLE memberships (
    id       bigserial PRIMARY KEY,
    user_id  bigint NOT NULL REFERENCES users(id),
    org_id   bigint NOT NULL REFERENCES orgs(id),
    app_id   bigint REFERENCES apps(id),
    role     text NOT NULL CHECK (role IN ('owner', 'admin', 'write', 'read'))
);
CREATE UNIQUE INDEX memberships_scope ON memberships (user_id, org_id, COALESCE(app_id, 0));

-- API keys: "hp_<12 hex lookup id>_<secret>"; only SHA-256 of the whole key is kept.
CREATE TABLE api_keys (
    id          bigserial PRIMARY KEY,
    lookup      text NOT NULL UNIQUE,
    key_hash    bytea NOT NULL,
    org_id      bigint NOT NULL REFERENCES orgs(id),
    app_id      bigint REFERENCES apps(id),
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'write', 'read')),
    name        text NOT NULL DEFAULT '',
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Release signing public keys registered per app.
CREATE TABLE release_keys (
    id          bigserial PRIMARY KEY,
    app_id      bigint NOT NULL REFERENCES apps(id),
    keyid       text NOT NULL,
    public_key  text NOT NULL,
    name        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    UNIQUE (app_id, keyid)
);

CREATE TABLE releases (
    seq            bigserial UNIQUE,          -- creation order (oldest first in manifests, cursors)
    id             text PRIMARY KEY,
    app_id         bigint NOT NULL REFERENCES apps(id),
    platform       text NOT NULL,
    channel        text NOT NULL,
    version        text NOT NULL,
    target_binary  text NOT NULL,
    mandatory      boolean NOT NULL DEFAULT false,
    rollout_bp     integer NOT NULL CHECK (rollout_bp BETWEEN 0 AND 10000),
    notes          text,
    sha256         text NOT NULL,
    size           bigint NOT NULL,
    bundle_sig     text NOT NULL,
    bundle_keyid   text NOT NULL,
    bundle_url     text NOT NULL,
    state          text NOT NULL DEFAULT 'active'
                   CHECK (state IN ('active', 'halted', 'rolled_back', 'disabled', 'archived')),
    promoted_from  text,
    created_by     text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (app_id, platform, channel, version)
);
CREATE INDEX releases_channel ON releases (app_id, platform, channel, seq);

-- One row per (app, platform, channel): the manifest's DB-side state.
-- sequence is bumped in the transaction that changes the channel's releases;
-- manifest_dirty stays true until a manifest with that sequence is in storage
-- (etag = its storage ETag). Start-up reconciliation re-publishes dirty rows.
CREATE TABLE channels (
    app_id          bigint NOT NULL REFERENCES apps(id),
    platform        text NOT NULL,
    channel         text NOT NULL,
    sequence        bigint NOT NULL DEFAULT 0,
    etag            text,
    manifest_dirty  boolean NOT NULL DEFAULT true,
    published_at    timestamptz,
    expires_at      timestamptz,
    PRIMARY KEY (app_id, platform, channel)
);

CREATE TABLE devices (
    app_id          bigint NOT NULL REFERENCES apps(id),
    device_id       text NOT NULL,
    platform        text NOT NULL DEFAULT '',
    binary_version  text NOT NULL DEFAULT '',
    os              text NOT NULL DEFAULT '',
    first_seen      timestamptz NOT NULL DEFAULT now(),
    last_seen       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, device_id)
);

CREATE TABLE installations (
    id              bigserial PRIMARY KEY,
    device_id       text NOT NULL,
    release_id      text NOT NULL REFERENCES releases(id),
    status          text NOT NULL CHECK (status IN ('downloading', 'applied', 'failed', 'rolled_back')),
    app_id          bigint NOT NULL,
    channel         text NOT NULL DEFAULT '',
    event_id        text,
    progress        integer,
    binary_version  text NOT NULL DEFAULT '',
    ts              timestamptz NOT NULL DEFAULT now(),
    received_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (device_id, release_id, status)     -- retries are not double-counted
);
CREATE INDEX installations_release ON installations (release_id, status);

-- Per-release install counters, bumped by the telemetry statement with the
-- rows it actually inserted, so stats and auto-halt never rescan installations.
CREATE TABLE release_counters (
    release_id   text PRIMARY KEY REFERENCES releases(id),
    downloading  bigint NOT NULL DEFAULT 0,
    applied      bigint NOT NULL DEFAULT 0,
    failed       bigint NOT NULL DEFAULT 0,
    rolled_back  bigint NOT NULL DEFAULT 0
);

CREATE TABLE audit_events (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    org_id      bigint,
    app_id      bigint,
    release_id  text,
    action      text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_app ON audit_events (app_id, id);
