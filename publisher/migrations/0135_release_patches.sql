-- Differential patches built by the publisher (issue 14 #4, manifests/SPEC.md
-- section 14). releases.content_sha256 / content_sig: the content digest of
-- the bundle and the RELEASE key's signature over it, sent by the CLI and
-- checked at upload against the zip itself (the publisher holds no release
-- key, so it can only list patches that rebuild exactly this digest).
-- release_patches: one row per (release, base content digest), the patch
-- object being content-addressed (patches/<app>/<platform>/<sha256>.patch).
-- patch_jobs: one row per release to build patches for, inserted in the
-- release's own transaction; the worker holds a session advisory lock on the
-- row while it runs (a killed publisher's lock goes with its connection), and
-- records the patches, marks the job done and bumps the channel in one
-- transaction, so a re-run after a crash is harmless.
ALTER TABLE releases ADD COLUMN IF NOT EXISTS content_sha256 text;
ALTER TABLE releases ADD COLUMN IF NOT EXISTS content_sig text;

CREATE TABLE IF NOT EXISTS release_patches (
    release_id  text NOT NULL REFERENCES releases(id),
    base        text NOT NULL,              -- content digest of the base bundle (64 hex)
    url         text NOT NULL,              -- patches/<app>/<platform>/<sha256>.patch
    sha256      text NOT NULL,
    size        bigint NOT NULL CHECK (size > 0),
    base_label  text NOT NULL DEFAULT '',   -- where the base came from (release id, embedded binary version)
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (release_id, base)
);

CREATE TABLE IF NOT EXISTS patch_jobs (
    release_id  text PRIMARY KEY REFERENCES releases(id),
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts    integer NOT NULL DEFAULT 0,
    run_after   timestamptz NOT NULL DEFAULT now(),
    last_error  text,
    patches     integer NOT NULL DEFAULT 0,  -- how many the finished job listed
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS patch_jobs_pending ON patch_jobs (run_after) WHERE state = 'pending';
