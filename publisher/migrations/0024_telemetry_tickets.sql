-- Telemetry tickets (issue 12 #8, docs/security.md "Forged telemetry"): an
-- installation report is `ticketed` when it carried a valid edge-signed
-- ticket for its app, release and device (`downloading` reports are never
-- checked: they do not count toward a halt). The auto-halt counts only the
-- ticketed reports, kept apart in release_counters (t_*); the untrusted
-- totals stay for statistics. A report first stored without a ticket is
-- upgraded (and counted once) when the same device reports it with one.
ALTER TABLE installations ADD COLUMN IF NOT EXISTS ticketed boolean NOT NULL DEFAULT false;
ALTER TABLE release_counters
    ADD COLUMN IF NOT EXISTS t_applied bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS t_failed bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS t_rolled_back bigint NOT NULL DEFAULT 0;
