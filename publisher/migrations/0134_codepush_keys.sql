-- CodePush deployment keys managed by the publisher (issue 13, docs/compatibility.md "CodePush").
-- A key "<app>~<platform>~<channel>~<32 hex>" names its channel; only its
-- SHA-256 is kept (key_sha256) with its last four characters (last4) so a
-- person can tell keys apart: the key itself is shown once, when it is made.
-- The active (not revoked) hashes of a channel are what publish.c writes into
-- the channel's signed manifest as codepush_keys (manifests/SPEC.md section 16).
CREATE TABLE IF NOT EXISTS codepush_keys (
    id          bigserial PRIMARY KEY,
    app_id      bigint NOT NULL REFERENCES apps(id),
    platform    text NOT NULL,
    channel     text NOT NULL,
    key_sha256  text NOT NULL UNIQUE CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
    last4       text NOT NULL CHECK (last4 ~ '^[0-9a-f]{4}$'),
    name        text NOT NULL DEFAULT '',
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX IF NOT EXISTS codepush_keys_channel ON codepush_keys (app_id, platform, channel)
    WHERE revoked_at IS NULL;
-- The CodePush client's package hash of the release's unzipped bundle, sent
-- by `hotpatch release` (common/codepush.h); NULL for releases made without it
-- (older CLIs, the seed upload routes). Written into the manifest's release
-- entry only on channels that have deployment keys.
ALTER TABLE releases ADD COLUMN IF NOT EXISTS codepush_hash text CHECK (codepush_hash ~ '^[0-9a-f]{64}$');
