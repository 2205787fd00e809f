-- Telemetry at fleet scale (issue 16 #4): installations drops its foreign
-- key to releases; the same integrity is kept once per batch or once per
-- release instead of once per row.
--
-- Why: the FK made Postgres run one lookup and one row lock (FOR KEY SHARE)
-- on releases for EVERY installation row, the largest per-row cost of a COPY
-- into this table (bench_publisher.sh: a raw \copy runs ~1.5x faster without
-- it). The publisher already resolves each batch's (app, release) pairs
-- before a row is written, and drops the events of an unknown pair:
-- telemetry.c's fast path (Q_INST_RELEASES) and the merge (Q_INST_INSERT)
-- both join releases. Those reads now also take FOR KEY SHARE on the
-- release rows they found, the very lock the FK took per row, once per
-- release and batch, held to the batch's commit: a release deleted
-- concurrently is either seen deleted (its events dropped) or waits for the
-- batch. Nothing else writes installations.
--
-- The other side of the FK: releases are never deleted by the publisher
-- (archive is a state; stats, device history and the auto-halt read archived
-- releases' rows), but an operator's DELETE (or a change of a release's id)
-- must not leave rows that name no release: Q_DEV_HISTORY and the series
-- join releases and would silently lose them, the counters would disagree
-- with the rows. The trigger below refuses it like the FK's NO ACTION did,
-- with the same SQLSTATE (23503). It costs nothing on the ingest path.
ALTER TABLE installations DROP CONSTRAINT IF EXISTS installations_release_id_fkey;

CREATE OR REPLACE FUNCTION hp_release_keeps_installations() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM installations WHERE release_id = OLD.id) THEN
        RAISE EXCEPTION 'release % still has installation reports', OLD.id
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'archive the release instead: its telemetry stays readable';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$fn$;

DROP TRIGGER IF EXISTS releases_keep_installations ON releases;
CREATE TRIGGER releases_keep_installations BEFORE DELETE OR UPDATE OF id ON releases
    FOR EACH ROW EXECUTE FUNCTION hp_release_keeps_installations();
