-- Drop-in compatibility with the seed clients (issue 13, publisher side).
-- apps.legacy_signature: the app opted in to the legacy signature (Ed25519 by
-- the release key over the bare bundle digest, manifests/SPEC.md section 15);
-- releases.legacy_signature carries it. apps.device_model: the seed 002 ESP
-- device model this app serves (the platform is the model name); unique, so a
-- model names one app.
ALTER TABLE apps ADD COLUMN IF NOT EXISTS legacy_signature boolean NOT NULL DEFAULT false;
ALTER TABLE apps ADD COLUMN IF NOT EXISTS device_model text UNIQUE;
ALTER TABLE releases ADD COLUMN IF NOT EXISTS legacy_signature text;
-- Seed 002 rollouts: inline device ids (sorted by bytes, unique) or an
-- edge-held device list, rendered as the release's manifest targeting.
ALTER TABLE releases ADD COLUMN IF NOT EXISTS target_device_ids text[];
ALTER TABLE releases ADD COLUMN IF NOT EXISTS target_device_list text;
