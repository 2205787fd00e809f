-- Operator opt-in (issue 13, docs/security.md "Forged telemetry"): count
-- UNTICKETED installation reports toward the app's auto-halt, for fleets of
-- older clients (CodePush apps, seed clients) that can never carry an edge
-- ticket. Off by default: with it on, anyone who can reach the report
-- endpoints can halt a release of this app with forged failures.
ALTER TABLE apps ADD COLUMN IF NOT EXISTS count_unticketed boolean NOT NULL DEFAULT false;
