/*
 * db.c - Postgres for the publisher: the statement table, the connection
 * pool, transactions, migrations and Postgres array literals.
 *
 * Every statement is listed once below and prepared on each connection when
 * it is opened, so request handlers only ever call PQexecPrepared. Telemetry
 * batches travel as text[] parameters and are expanded server-side with
 * unnest(), which keeps a 1000-event batch to one round trip without
 * building SQL text from device input.
 */
#include "common/compat.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "common/log.h"
#include "pub_db.h"
#include "pub_migrations.h"

#define REL_COLS                                                                                                       \
    "r.id, a.name, r.platform, r.channel, r.version, r.target_binary, r.mandatory, r.rollout_bp, r.notes, "            \
    "r.sha256, r.size, r.bundle_sig, r.bundle_keyid, r.bundle_url, r.state, r.promoted_from, r.created_by, "           \
    "extract(epoch from r.created_at)::bigint, r.seq, r.app_id, extract(epoch from r.updated_at)::bigint, "            \
    "r.legacy_signature, array_to_json(r.target_device_ids)::text, r.target_device_list, r.content_sha256, "           \
    "r.content_sig, pj.state, pj.attempts, pj.patches, pj.last_error, r.codepush_hash "                                \
    "FROM releases r JOIN apps a ON a.id = r.app_id LEFT JOIN patch_jobs pj ON pj.release_id = r.id "

#define APP_COLS                                                                                                       \
    "id, org_id, name, halt_threshold_pct, halt_min_installs, extract(epoch from created_at)::bigint, "                \
    "legacy_signature, device_model, count_unticketed "

#define CHAN_KEY " WHERE app_id = $1 AND platform = $2 AND channel = $3"

/* Both telemetry ingest paths end with the counters' new totals (CTE cnt) and the app's auto-halt opt-in for
 * unticketed reports (column 7): telemetry.c picks the auto-halt candidates from them. */
#define COUNT_OPT_IN                                                                                                   \
    "SELECT cnt.*, a.count_unticketed FROM cnt JOIN releases r ON r.id = cnt.release_id "                              \
    "JOIN apps a ON a.id = r.app_id"
/* pg_try_advisory_lock(int, int) namespace of patch jobs ("HP" 0x4850 << 8 | 'j'); the migration lock uses the
 * one-bigint form, a separate key space */
#define PJOB_LOCK_NS "4739178"

/*
 * Time series. $2 is 'hour' or 'day' (checked by the handler), $3 the number
 * of buckets ending with the current one, in UTC. Counts are distinct
 * devices: installations is UNIQUE (device, release, status), so a device
 * counts once per status per release however often it retried.
 */
#define SERIES_BUCKETS                                                                                                 \
    "WITH b AS (SELECT t, t + ('1 ' || $2)::interval AS e FROM generate_series("                                       \
    "(date_trunc($2, now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - ($3::int - 1) * ('1 ' || $2)::interval, "         \
    "date_trunc($2, now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', ('1 ' || $2)::interval) AS t) "

static const char *const stmt_sql[Q__COUNT] = {
    [Q_ORG_COUNT] = "SELECT count(*) FROM orgs",
    [Q_ORG_INSERT] = "INSERT INTO orgs (name) VALUES ($1) RETURNING id",
    [Q_ORG_BY_NAME] = "SELECT id FROM orgs WHERE name = $1",
    [Q_USER_INSERT] = "INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id",
    [Q_USER_BY_EMAIL] = "SELECT id, password_hash FROM users WHERE email = $1",
    [Q_MEMBER_INSERT] = "INSERT INTO memberships (user_id, org_id, app_id, role) VALUES ($1, $2, $3, $4)",
    [Q_USER_ROLE] = "SELECT COALESCE(max(CASE role WHEN 'owner' THEN 4 WHEN 'admin' THEN 3 WHEN 'write' THEN 2 "
                    "WHEN 'read' THEN 1 END), 0) FROM memberships "
                    "WHERE user_id = $1 AND org_id = $2 AND (app_id IS NULL OR app_id = $3::bigint)",
    [Q_USER_DEFAULT_ORG] =
        "SELECT org_id FROM memberships WHERE user_id = $1 ORDER BY (app_id IS NOT NULL), id LIMIT 1",
    [Q_APIKEY_INSERT] = "INSERT INTO api_keys (lookup, key_hash, org_id, app_id, role, name, created_by) "
                        "VALUES ($1, decode($2, 'hex'), $3, $4, $5, $6, $7) RETURNING id",
    [Q_APIKEY_BY_LOOKUP] = "SELECT id, encode(key_hash, 'hex'), org_id, app_id, role FROM api_keys "
                           "WHERE lookup = $1 AND revoked_at IS NULL",
    [Q_APIKEY_BY_ID] = "SELECT id, '', org_id, app_id, role FROM api_keys WHERE id = $1 AND revoked_at IS NULL",
    [Q_APP_INSERT] = "INSERT INTO apps (org_id, name) VALUES ($1, $2) RETURNING " APP_COLS,
    [Q_APP_BY_NAME] = "SELECT " APP_COLS "FROM apps WHERE name = $1",
    [Q_APP_BY_ID] = "SELECT " APP_COLS "FROM apps WHERE id = $1",
    [Q_APP_LIST] = "SELECT " APP_COLS "FROM apps WHERE org_id = $1 ORDER BY name",
    [Q_APP_SET_HALT] = "UPDATE apps SET halt_threshold_pct = $2, halt_min_installs = $3 WHERE id = $1",
    [Q_RKEY_INSERT] = "INSERT INTO release_keys (app_id, keyid, public_key, name) VALUES ($1, $2, $3, $4) "
                      "RETURNING extract(epoch from created_at)::bigint",
    [Q_RKEY_BY_KEYID] = "SELECT public_key FROM release_keys WHERE app_id = $1 AND keyid = $2 AND revoked_at IS NULL",
    [Q_RKEY_LIST] = "SELECT keyid, public_key, name, extract(epoch from created_at)::bigint FROM release_keys "
                    "WHERE app_id = $1 AND revoked_at IS NULL ORDER BY id",
    [Q_REL_INSERT] =
        "INSERT INTO releases (id, app_id, platform, channel, version, target_binary, mandatory, "
        "rollout_bp, notes, sha256, size, bundle_sig, bundle_keyid, bundle_url, promoted_from, created_by, "
        "legacy_signature, content_sha256, content_sig, codepush_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
        "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    [Q_REL_BY_ID] = "SELECT " REL_COLS "WHERE r.id = $1",
    [Q_REL_LIST] = "SELECT " REL_COLS "WHERE r.app_id = $1 AND ($2::text IS NULL OR r.platform = $2) "
                   "AND ($3::text IS NULL OR r.channel = $3) AND ($4::bigint IS NULL OR r.seq < $4) "
                   "ORDER BY r.seq DESC LIMIT $5",
    [Q_REL_SET_STATE] = "UPDATE releases SET state = $2, updated_at = now() WHERE id = $1",
    [Q_REL_SET_ROLLOUT] = "UPDATE releases SET rollout_bp = $2, updated_at = now() WHERE id = $1",
    [Q_REL_FOR_MANIFEST] = "SELECT " REL_COLS "WHERE r.app_id = $1 AND r.platform = $2 AND r.channel = $3 "
                           "AND r.state IN ('active', 'halted', 'rolled_back') ORDER BY r.seq",
    [Q_CHAN_ENSURE] = "INSERT INTO channels (app_id, platform, channel) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    [Q_CHAN_LOCK] = "SELECT sequence, etag, manifest_dirty FROM channels" CHAN_KEY " FOR UPDATE",
    /* SPEC.md section 7: max(prev + 1, clock in ms), so a database restored from an older backup still
     * issues sequences above every manifest it published before. */
    [Q_CHAN_BUMP] = "UPDATE channels SET sequence = GREATEST(sequence + 1, "
                    "(extract(epoch from clock_timestamp()) * 1000)::bigint), manifest_dirty = true, "
                    "retired = false" CHAN_KEY " RETURNING sequence",
    [Q_CHAN_RETIRE] = "UPDATE channels SET sequence = GREATEST(sequence + 1, "
                      "(extract(epoch from clock_timestamp()) * 1000)::bigint), manifest_dirty = true, "
                      "retired = true" CHAN_KEY " RETURNING sequence",
    [Q_CHAN_RETIRED] = "SELECT retired FROM channels" CHAN_KEY,
    [Q_REL_ARCHIVE_CHANNEL] = "UPDATE releases SET state = 'archived', updated_at = now() WHERE app_id = $1 AND "
                              "platform = $2 AND channel = $3 AND state IN ('active', 'halted', 'rolled_back') "
                              "RETURNING id",
    [Q_CHAN_PUBLISHED] = "UPDATE channels SET sequence = $4, etag = $5, manifest_dirty = false, published_at = now(), "
                         "expires_at = to_timestamp($6)" CHAN_KEY,
    [Q_CHAN_ALL] = "SELECT c.app_id, a.name, c.platform, c.channel, c.sequence, c.etag, c.manifest_dirty "
                   "FROM channels c JOIN apps a ON a.id = c.app_id ORDER BY c.app_id, c.platform, c.channel",
    [Q_CHAN_EXPIRING] = "SELECT c.app_id, a.name, c.platform, c.channel FROM channels c JOIN apps a ON a.id = c.app_id "
                        "WHERE c.expires_at IS NOT NULL AND c.expires_at < now() + make_interval(secs => $1::bigint)",
    [Q_CHAN_DIRTY_ALL] =
        "SELECT c.app_id, a.name, c.platform, c.channel FROM channels c JOIN apps a ON a.id = c.app_id "
        "WHERE c.manifest_dirty",
    [Q_AUDIT_INSERT] = "INSERT INTO audit_events (actor, org_id, app_id, release_id, action, detail) "
                       "VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
    [Q_AUDIT_LIST] = "SELECT id, extract(epoch from at)::bigint, actor, release_id, action, detail::text "
                     "FROM audit_events WHERE app_id = $1 AND ($2::text IS NULL OR release_id = $2) "
                     "ORDER BY id DESC LIMIT $3",
    [Q_DEV_UPSERT] =
        "INSERT INTO devices (app_id, device_id, platform, binary_version, os) "
        "SELECT a.id, t.d, t.p, t.b, t.o FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) "
        "AS t(d, ap, p, b, o) JOIN apps a ON a.name = t.ap "
        "ON CONFLICT (app_id, device_id) DO UPDATE SET platform = EXCLUDED.platform, "
        "binary_version = EXCLUDED.binary_version, os = EXCLUDED.os, last_seen = now()",
    /*
     * One statement per batch: insert the events (a retry hits the UNIQUE key
     * and is skipped; a 'downloading' row only takes a higher progress), then
     * add the rows really inserted (xmax = 0) to the per-release counters and
     * return the new totals for the auto-halt check.
     */
    /*
     * merge the batch COPY put in the session's staging table (telemetry.c);
     * `rel`: the batch's releases, locked FOR KEY SHARE as installations'
     * foreign key did per row, once per release (migration 0136)
     */
    [Q_INST_INSERT] =
        "WITH rel AS (SELECT r.id, r.app_id, a.name AS ap FROM releases r JOIN apps a ON a.id = r.app_id "
        " WHERE r.id IN (SELECT DISTINCT t.r FROM pg_temp.hp_inst_stage AS t) FOR KEY SHARE OF r), "
        "ins AS ("
        " INSERT INTO installations (device_id, release_id, status, app_id, channel, event_id, progress, "
        " binary_version, ts, ticketed) "
        " SELECT t.d, t.r, t.s, r.app_id, t.c, t.e, t.pg, t.b, COALESCE(to_timestamp(t.ts), now()), t.tk "
        " FROM pg_temp.hp_inst_stage AS t JOIN rel r ON r.id = t.r AND r.ap = t.ap "
        " ON CONFLICT (device_id, release_id, status) DO UPDATE SET "
        " progress = CASE WHEN installations.status = 'downloading' THEN EXCLUDED.progress "
        " ELSE installations.progress END, ticketed = installations.ticketed OR EXCLUDED.ticketed "
        " WHERE (installations.status = 'downloading' "
        " AND EXCLUDED.progress > COALESCE(installations.progress, -1)) "
        " OR (installations.status <> 'downloading' AND EXCLUDED.ticketed AND NOT installations.ticketed) "
        " RETURNING release_id, status, (xmax = 0) AS inserted, ticketed), "
        "agg AS (SELECT release_id, count(*) FILTER (WHERE inserted AND status = 'downloading') AS d, "
        " count(*) FILTER (WHERE inserted AND status = 'applied') AS ap, "
        " count(*) FILTER (WHERE inserted AND status = 'failed') AS f, "
        " count(*) FILTER (WHERE inserted AND status = 'rolled_back') AS rb, "
        /* a returned non-downloading row is new or was just upgraded to ticketed: counted once either way */
        " count(*) FILTER (WHERE ticketed AND status = 'applied') AS tap, "
        " count(*) FILTER (WHERE ticketed AND status = 'failed') AS tf, "
        " count(*) FILTER (WHERE ticketed AND status = 'rolled_back') AS trb "
        " FROM ins GROUP BY release_id), "
        "cnt AS (INSERT INTO release_counters AS rc (release_id, downloading, applied, failed, rolled_back, t_applied, "
        "t_failed, t_rolled_back) "
        "SELECT release_id, d, ap, f, rb, tap, tf, trb FROM agg "
        "ON CONFLICT (release_id) DO UPDATE SET downloading = rc.downloading + EXCLUDED.downloading, "
        "applied = rc.applied + EXCLUDED.applied, failed = rc.failed + EXCLUDED.failed, "
        "rolled_back = rc.rolled_back + EXCLUDED.rolled_back, t_applied = rc.t_applied + EXCLUDED.t_applied, "
        "t_failed = rc.t_failed + EXCLUDED.t_failed, t_rolled_back = rc.t_rolled_back + EXCLUDED.t_rolled_back "
        "RETURNING release_id, downloading, applied, failed, rolled_back, t_failed, t_rolled_back) " COUNT_OPT_IN,
    /*
     * The fast path of an installation batch (telemetry.c): resolve the
     * batch's (app, release) pairs to the release's app in the batch's
     * transaction (with that transaction's now() for events without a ts),
     * COPY the rows straight into installations, then add them to the
     * counters, the ticketed ones to t_* as well. A retried row (or a report
     * re-sent with a ticket) makes the COPY fail on the UNIQUE key and the
     * batch is merged through the staging table (Q_INST_INSERT) instead.
     * installations has no foreign key to releases (migration 0136): the
     * release rows found are locked FOR KEY SHARE to the batch's commit, so
     * a release cannot be deleted under rows being written (the lock the FK
     * took per row, taken once per release).
     * Both return the same columns (telemetry.c reads t_failed, t_rolled_back).
     */
    /* now() in microseconds since 2000-01-01 UTC: the binary COPY form of a timestamptz (telemetry.c) */
    [Q_INST_RELEASES] = "SELECT t.i, r.app_id, ((extract(epoch FROM now()) - 946684800) * 1000000)::bigint "
                        "FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(ap, r, i) "
                        "JOIN apps a ON a.name = t.ap JOIN releases r ON r.id = t.r AND r.app_id = a.id "
                        "FOR KEY SHARE OF r",
    [Q_INST_COUNT] =
        "WITH cnt AS (INSERT INTO release_counters AS rc (release_id, downloading, applied, failed, rolled_back, "
        "t_applied, t_failed, t_rolled_back) "
        "SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], "
        "$6::bigint[], $7::bigint[], $8::bigint[]) "
        "ON CONFLICT (release_id) DO UPDATE SET downloading = rc.downloading + EXCLUDED.downloading, "
        "applied = rc.applied + EXCLUDED.applied, failed = rc.failed + EXCLUDED.failed, "
        "rolled_back = rc.rolled_back + EXCLUDED.rolled_back, t_applied = rc.t_applied + EXCLUDED.t_applied, "
        "t_failed = rc.t_failed + EXCLUDED.t_failed, t_rolled_back = rc.t_rolled_back + EXCLUDED.t_rolled_back "
        "RETURNING release_id, downloading, applied, failed, rolled_back, t_failed, t_rolled_back) " COUNT_OPT_IN,
    /*
     * only ticketed reports (distinct devices with a valid edge ticket) count: docs/security.md; an app that
     * opted in (apps.count_unticketed, for clients that cannot carry tickets) counts every distinct device.
     * Columns 5..7: the counted applied, failed, rolled_back; 11: whether unticketed ones were counted.
     */
    [Q_HALT_CANDIDATES] =
        "SELECT r.id, r.app_id, a.name, r.platform, r.channel, k.ap, k.f, k.rb, "
        "COALESCE(a.halt_threshold_pct, $2::int), COALESCE(a.halt_min_installs, $3::int), a.org_id, "
        "a.count_unticketed "
        "FROM release_counters c JOIN releases r ON r.id = c.release_id JOIN apps a ON a.id = r.app_id "
        "CROSS JOIN LATERAL (SELECT CASE WHEN a.count_unticketed THEN c.applied ELSE c.t_applied END AS ap, "
        "CASE WHEN a.count_unticketed THEN c.failed ELSE c.t_failed END AS f, "
        "CASE WHEN a.count_unticketed THEN c.rolled_back ELSE c.t_rolled_back END AS rb) k "
        "WHERE c.release_id = ANY($1::text[]) AND r.state = 'active' "
        "AND (k.ap + k.f) >= COALESCE(a.halt_min_installs, $3::int) "
        "AND (k.f + k.rb) * 100 >= COALESCE(a.halt_threshold_pct, $2::int) * (k.ap + k.f)",
    [Q_STATS_COUNTERS] = "SELECT downloading, applied, failed, rolled_back, t_applied, t_failed, t_rolled_back "
                         "FROM release_counters WHERE release_id = $1",
    [Q_STATS_ACTIVE] = "SELECT count(*) FROM installations i WHERE i.release_id = $1 AND i.status = 'applied' "
                       "AND NOT EXISTS (SELECT 1 FROM installations j WHERE j.release_id = i.release_id "
                       "AND j.device_id = i.device_id AND j.status IN ('failed', 'rolled_back'))",
    [Q_STATS_VERSIONS] = "SELECT binary_version, count(DISTINCT device_id) FROM installations WHERE release_id = $1 "
                         "GROUP BY binary_version ORDER BY 2 DESC, 1 LIMIT 50",
    [Q_RKEY_REVOKE] = "UPDATE release_keys SET revoked_at = now() WHERE app_id = $1 AND keyid = $2 "
                      "AND revoked_at IS NULL",
    [Q_APIKEY_SCOPE] = "SELECT id, org_id, app_id, role FROM api_keys WHERE lookup = $1 AND revoked_at IS NULL",
    [Q_APIKEY_REVOKE] = "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
    [Q_CHAN_LIST] = "SELECT platform, channel, sequence, etag, manifest_dirty, "
                    "extract(epoch from published_at)::bigint, extract(epoch from expires_at)::bigint "
                    "FROM channels WHERE app_id = $1 ORDER BY platform, channel",
    /* ---- dashboard ---- */
    [Q_SESS_INSERT] = "INSERT INTO sessions (token_hash, csrf_token, user_id, expires_at, ip) "
                      "VALUES (decode($1, 'hex'), $2, $3, now() + make_interval(secs => $4::bigint), $5) "
                      "RETURNING extract(epoch from expires_at)::bigint",
    [Q_SESS_BY_HASH] = "SELECT s.user_id, s.csrf_token, extract(epoch from s.expires_at)::bigint, u.email "
                       "FROM sessions s JOIN users u ON u.id = s.user_id "
                       "WHERE s.token_hash = decode($1, 'hex') AND s.expires_at > now()",
    [Q_SESS_DELETE] = "DELETE FROM sessions WHERE token_hash = decode($1, 'hex')",
    [Q_SESS_PURGE] = "DELETE FROM sessions WHERE expires_at < now()",
    [Q_USER_BY_ID] = "SELECT id, email FROM users WHERE id = $1",
    [Q_USER_MEMBERSHIPS] =
        "SELECT o.name, a.name, m.role FROM memberships m JOIN orgs o ON o.id = m.org_id "
        "LEFT JOIN apps a ON a.id = m.app_id WHERE m.user_id = $1 ORDER BY o.name, a.name NULLS FIRST",
    [Q_SERIES_RELEASE] = SERIES_BUCKETS
    "SELECT extract(epoch from b.t)::bigint, "
    "count(DISTINCT i.device_id) FILTER (WHERE i.status = 'downloading'), "
    "count(DISTINCT i.device_id) FILTER (WHERE i.status = 'applied'), "
    "count(DISTINCT i.device_id) FILTER (WHERE i.status = 'failed'), "
    "count(DISTINCT i.device_id) FILTER (WHERE i.status = 'rolled_back'), "
    "(SELECT count(*) FROM installations a WHERE a.release_id = $1 AND a.status = 'applied' AND a.ts < b.e "
    " AND NOT EXISTS (SELECT 1 FROM installations x WHERE x.release_id = a.release_id "
    " AND x.device_id = a.device_id AND x.status IN ('failed', 'rolled_back') AND x.ts < b.e)) "
    "FROM b LEFT JOIN installations i ON i.release_id = $1 AND i.ts >= b.t AND i.ts < b.e "
    "GROUP BY b.t, b.e ORDER BY b.t",
    /* per bucket end: each device's current version (its latest applied release it has not failed or rolled back) */
    [Q_SERIES_VERSIONS] = SERIES_BUCKETS
    "SELECT extract(epoch from b.t)::bigint, x.version, count(*) FROM b CROSS JOIN LATERAL ("
    " SELECT DISTINCT ON (i.device_id) i.device_id, r.version FROM installations i "
    " JOIN releases r ON r.id = i.release_id WHERE i.app_id = $1 AND i.status = 'applied' AND i.ts < b.e "
    " AND ($4::text IS NULL OR r.platform = $4) AND NOT EXISTS (SELECT 1 FROM installations y "
    " WHERE y.device_id = i.device_id AND y.release_id = i.release_id AND y.status IN ('failed', 'rolled_back') "
    " AND y.ts < b.e) ORDER BY i.device_id, i.ts DESC, i.id DESC) x "
    "GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2",
    /* every release of an app: its counters and the devices whose current release it is */
    [Q_APP_ADOPTION] =
        "WITH cur AS (SELECT DISTINCT ON (i.device_id) i.device_id, i.release_id FROM installations i "
        " WHERE i.app_id = $1 AND i.status = 'applied' AND NOT EXISTS (SELECT 1 FROM installations y "
        " WHERE y.device_id = i.device_id AND y.release_id = i.release_id AND y.status IN ('failed', 'rolled_back')) "
        " ORDER BY i.device_id, i.ts DESC, i.id DESC), per AS (SELECT release_id, count(*) AS n FROM cur GROUP BY 1) "
        "SELECT r.id, r.platform, COALESCE(c.applied, 0), COALESCE(c.failed, 0), COALESCE(c.rolled_back, 0), "
        "COALESCE(c.downloading, 0), COALESCE(per.n, 0) FROM releases r "
        "LEFT JOIN release_counters c ON c.release_id = r.id LEFT JOIN per ON per.release_id = r.id "
        "WHERE r.app_id = $1 ORDER BY r.seq DESC",
    [Q_DEV_GET] = "SELECT device_id, platform, binary_version, os, extract(epoch from first_seen)::bigint, "
                  "extract(epoch from last_seen)::bigint FROM devices WHERE app_id = $1 AND device_id = $2",
    [Q_DEV_HISTORY] = "SELECT extract(epoch from i.ts)::bigint, extract(epoch from i.received_at)::bigint, "
                      "i.release_id, r.version, r.channel, r.platform, i.status, i.progress, i.binary_version "
                      "FROM installations i JOIN releases r ON r.id = i.release_id "
                      "WHERE i.app_id = $1 AND i.device_id = $2 ORDER BY i.ts DESC, i.id DESC LIMIT $3",
    [Q_APIKEY_LIST] = "SELECT k.lookup, k.name, k.role, k.created_by, extract(epoch from k.created_at)::bigint, "
                      "a.name FROM api_keys k LEFT JOIN apps a ON a.id = k.app_id "
                      "WHERE k.org_id = $1 AND (k.app_id IS NULL OR k.app_id = $2) AND k.revoked_at IS NULL "
                      "ORDER BY k.id",
    /* seed compatibility (issue 13) */
    [Q_APP_SET_COMPAT] =
        "UPDATE apps SET legacy_signature = $2, device_model = $3, count_unticketed = $4 WHERE id = $1",
    /* the app whose device_model names the model, else (the edge's convention) the app named like the model */
    [Q_APP_BY_MODEL] = "SELECT " APP_COLS "FROM apps WHERE device_model = $1 OR (name = $1 AND device_model IS NULL "
                       "AND NOT EXISTS (SELECT 1 FROM apps WHERE device_model = $1))",
    [Q_RKEY_PUBLIC_ALL] = "SELECT keyid, public_key FROM release_keys WHERE app_id = $1 AND revoked_at IS NULL "
                          "ORDER BY id",
    /* $2: a JSON array of device ids or NULL, stored sorted by bytes and unique (the manifest's rule) */
    [Q_REL_SET_TARGET] = "UPDATE releases SET target_device_ids = CASE WHEN $2::json IS NULL THEN NULL ELSE "
                         "ARRAY(SELECT DISTINCT x COLLATE \"C\" FROM json_array_elements_text($2::json) AS x "
                         "ORDER BY 1) END, target_device_list = $3, updated_at = now() WHERE id = $1",
    /* ESP admin (h_esp.c): platform "firmware" (docs/compatibility.md); the model is the app's device_model or
     * its name; $1 the caller's org, $2 an app scope or NULL */
    [Q_ESP_DEVICES] = "SELECT d.device_id, COALESCE(a.device_model, a.name), d.binary_version, "
                      "extract(epoch from d.first_seen)::bigint, extract(epoch from d.last_seen)::bigint "
                      "FROM devices d JOIN apps a ON a.id = d.app_id WHERE d.platform = 'firmware' AND a.org_id = $1 "
                      "AND ($2::bigint IS NULL OR a.id = $2) ORDER BY d.last_seen DESC LIMIT $3",
    [Q_ESP_STATUS] = "SELECT i.device_id, r.version, i.status, extract(epoch from i.received_at)::bigint, "
                     "COALESCE(a.device_model, a.name), i.progress FROM installations i "
                     "JOIN releases r ON r.id = i.release_id JOIN apps a ON a.id = r.app_id "
                     "WHERE r.platform = 'firmware' AND a.org_id = $1 AND ($2::bigint IS NULL OR a.id = $2) "
                     "AND ($3::text IS NULL OR i.device_id = $3) ORDER BY i.received_at DESC LIMIT $4",
    [Q_ESP_METRICS] = "SELECT (SELECT count(*) FROM devices d JOIN apps a ON a.id = d.app_id "
                      "  WHERE d.platform = 'firmware' AND a.org_id = $1), "
                      "(SELECT COALESCE(json_object_agg(m, n), '{}') FROM (SELECT COALESCE(a.device_model, a.name) "
                      "  AS m, count(*) AS n FROM devices d JOIN apps a ON a.id = d.app_id "
                      "  WHERE d.platform = 'firmware' AND a.org_id = $1 GROUP BY 1) x), "
                      "(SELECT COALESCE(json_object_agg(st, n), '{}') FROM (SELECT i.status AS st, count(*) AS n "
                      "  FROM installations i JOIN releases r ON r.id = i.release_id JOIN apps a ON a.id = r.app_id "
                      "  WHERE r.platform = 'firmware' AND a.org_id = $1 "
                      "  AND i.received_at > now() - interval '24 hours' GROUP BY i.status) y), "
                      "(SELECT count(*) FROM releases r JOIN apps a ON a.id = r.app_id WHERE r.platform = 'firmware' "
                      "  AND a.org_id = $1 AND r.state = 'active' AND r.rollout_bp > 0)",
    /* CodePush deployment keys (h_codepush.c, migration 0134): hashes only, never the key */
    [Q_CPKEY_INSERT] = "INSERT INTO codepush_keys (app_id, platform, channel, key_sha256, last4, name, created_by) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, extract(epoch from created_at)::bigint",
    [Q_CPKEY_LIST] = "SELECT id, platform, channel, key_sha256, last4, name, created_by, "
                     "extract(epoch from created_at)::bigint FROM codepush_keys WHERE app_id = $1 "
                     "AND ($2::text IS NULL OR platform = $2) AND ($3::text IS NULL OR channel = $3) "
                     "AND revoked_at IS NULL ORDER BY id",
    /* what the manifest lists: sorted by bytes (SPEC.md section 16), as the manifest model keeps them */
    [Q_CPKEY_CHANNEL] = "SELECT key_sha256 FROM codepush_keys" CHAN_KEY " AND revoked_at IS NULL "
                        "ORDER BY key_sha256 COLLATE \"C\"",
    /* $2: the key's id (decimal) or its SHA-256 hex */
    [Q_CPKEY_FIND] = "SELECT id, platform, channel, key_sha256, revoked_at IS NOT NULL FROM codepush_keys "
                     "WHERE app_id = $1 AND (key_sha256 = $2 OR id::text = $2)",
    [Q_CPKEY_REVOKE] = "UPDATE codepush_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
    /* a key change: a new sequence like Q_CHAN_BUMP, but a retired channel stays retired */
    [Q_CHAN_TOUCH] =
        "UPDATE channels SET sequence = GREATEST(sequence + 1, "
        "(extract(epoch from clock_timestamp()) * 1000)::bigint), manifest_dirty = true" CHAN_KEY " RETURNING sequence",
    /*
     * Patch jobs (patchjob.c). A worker owns a job while it holds the session
     * advisory lock (PJOB_LOCK_NS, hashtext(release id)) on its connection: a
     * killed publisher's locks are released with its connections, so the job
     * is simply pending again. State changes re-check 'pending' under the lock.
     */
    [Q_PJOB_INSERT] = "INSERT INTO patch_jobs (release_id) VALUES ($1) ON CONFLICT DO NOTHING",
    [Q_PJOB_DUE] = "SELECT release_id FROM patch_jobs WHERE state = 'pending' AND run_after <= now() "
                   "ORDER BY run_after, created_at LIMIT 16",
    [Q_PJOB_LOCK] = "SELECT pg_try_advisory_lock(" PJOB_LOCK_NS ", hashtext($1))",
    [Q_PJOB_UNLOCK] = "SELECT pg_advisory_unlock(" PJOB_LOCK_NS ", hashtext($1))",
    [Q_PJOB_START] = "UPDATE patch_jobs SET attempts = attempts + 1, updated_at = now() "
                     "WHERE release_id = $1 AND state = 'pending' AND run_after <= now() RETURNING attempts",
    /* $2 delay (s) before the next attempt, $3 the attempt cap, $4 the error */
    [Q_PJOB_RETRY] = "UPDATE patch_jobs SET state = CASE WHEN attempts >= $3::int THEN 'failed' ELSE 'pending' END, "
                     "run_after = now() + make_interval(secs => $2::bigint), last_error = $4, updated_at = now() "
                     "WHERE release_id = $1 AND state = 'pending' RETURNING state",
    [Q_PJOB_DONE] = "UPDATE patch_jobs SET state = 'done', patches = $2, last_error = NULL, updated_at = now() "
                    "WHERE release_id = $1 AND state = 'pending'",
    [Q_PJOB_GET] = "SELECT state, attempts, patches, last_error FROM patch_jobs WHERE release_id = $1",
    [Q_PATCH_INSERT] = "INSERT INTO release_patches (release_id, base, url, sha256, size, base_label) "
                       "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (release_id, base) DO NOTHING",
    /* earlier bundles of the release's channel, newest first (the job keeps the first N distinct ones) */
    [Q_PATCH_BASES] = "SELECT b.id, b.version, b.sha256, b.bundle_url FROM releases b JOIN releases r ON r.id = $1 "
                      "WHERE b.app_id = r.app_id AND b.platform = r.platform AND b.channel = r.channel "
                      "AND b.seq < r.seq AND b.sha256 <> r.sha256 AND b.state IN ('active', 'halted', 'rolled_back') "
                      "ORDER BY b.seq DESC LIMIT 64",
    [Q_PATCH_FOR_CHANNEL] = "SELECT p.release_id, p.base, p.url, p.sha256, p.size FROM release_patches p "
                            "JOIN releases r ON r.id = p.release_id "
                            "WHERE r.app_id = $1 AND r.platform = $2 AND r.channel = $3 "
                            "AND r.state IN ('active', 'halted', 'rolled_back') "
                            "ORDER BY p.release_id, p.base COLLATE \"C\"",
};

static int stmt_nparams[Q__COUNT];

struct pub_db {
    char *url;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC: a connection was put back */
    struct pub_dbconn *conns;
    int *free_list;
    int n, nfree;
    long wait_ms;          /* how long pub_db_get waits for a free connection */
    atomic_ulong timeouts; /* pub_db_get calls that found none free for wait_ms */
};

/*
 * Connections this thread holds (pub_db_get adds one, pub_db_put takes it
 * back). A thread asking for a second while it holds one could wait for
 * itself: with a pool of one, or when every thread of a busy pool does the
 * same, nobody puts one back. pub_db_get refuses that at once, so the
 * mistake shows as a 503 and a log line in the first test that takes the
 * path, whatever the pool size.
 */
static _Thread_local int held_here;

static void count_params(void)
{
    for (int s = 0; s < Q__COUNT; s++) {
        int max = 0;
        for (const char *p = stmt_sql[s]; *p; p++) {
            if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
                int v = atoi(p + 1);
                if (v > max)
                    max = v;
            }
        }
        stmt_nparams[s] = max;
    }
}

static PGconn *connect_prepared(const char *url, struct cmn_errbuf *eb)
{
    PGconn *pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK) {
        const char *m = PQerrorMessage(pg);
        size_t ml = strcspn(m, "\n");
        cmn_errf(eb, CMN_E_DB, "cannot connect to the database: %.*s", (int)ml, m);
        PQfinish(pg);
        return NULL;
    }
    PGresult *r = PQexec(pg, "SET application_name = 'hotpatch-publisher'");
    PQclear(r);
    /*
     * The session's telemetry staging table (telemetry.c COPYs a batch into
     * it, Q_INST_INSERT merges it): TEMP, so every connection has its own and
     * nothing is WAL-logged; emptied by every commit.
     */
    r = PQexec(pg, "CREATE TEMP TABLE hp_inst_stage (d text, r text, s text, c text, e text, pg int, b text, "
                   "ts bigint, ap text, tk boolean) ON COMMIT DELETE ROWS");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *m = PQresultErrorMessage(r);
        cmn_errf(eb, CMN_E_DB, "cannot create the telemetry staging table: %.*s", (int)strcspn(m, "\n"), m);
        PQclear(r);
        PQfinish(pg);
        return NULL;
    }
    PQclear(r);
    for (int s = 0; s < Q__COUNT; s++) {
        char name[16];
        snprintf(name, sizeof(name), "q%d", s);
        r = PQprepare(pg, name, stmt_sql[s], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            const char *m = PQresultErrorMessage(r);
            size_t ml = strcspn(m, "\n");
            cmn_errf(eb, CMN_E_DB, "cannot prepare statement %d: %.*s", s, (int)ml, m);
            PQclear(r);
            PQfinish(pg);
            return NULL;
        }
        PQclear(r);
    }
    return pg;
}

enum cmn_err pub_db_open(const char *url, int n, long wait_ms, struct pub_db **out, struct cmn_errbuf *eb)
{
    count_params();
    struct pub_db *db = calloc(1, sizeof(*db));
    if (!db)
        return CMN_E_NOMEM;
    db->url = strdup(url);
    db->conns = calloc((size_t)n, sizeof(*db->conns));
    db->free_list = calloc((size_t)n, sizeof(int));
    if (!db->url || !db->conns || !db->free_list) {
        pub_db_free(db);
        return CMN_E_NOMEM;
    }
    pthread_mutex_init(&db->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&db->cv, &ca);
    pthread_condattr_destroy(&ca);
    db->n = n;
    db->wait_ms = wait_ms;
    for (int i = 0; i < n; i++) {
        db->conns[i].db = db;
        db->conns[i].pg = connect_prepared(url, eb);
        if (!db->conns[i].pg) {
            pub_db_free(db);
            return CMN_E_DB;
        }
        db->free_list[db->nfree++] = i;
    }
    *out = db;
    return CMN_OK;
}

void pub_db_free(struct pub_db *db)
{
    if (!db)
        return;
    for (int i = 0; db->conns && i < db->n; i++)
        if (db->conns[i].pg)
            PQfinish(db->conns[i].pg);
    free(db->conns);
    free(db->free_list);
    free(db->url);
    free(db);
}

struct pub_dbconn *pub_db_get(struct pub_db *db, enum cmn_err *why)
{
    if (held_here) {
        cmn_error("database: a thread holding a pooled connection asked for a second one (refused: it could wait "
                  "for itself; docs/publisher.md \"Database connections\")");
        if (why)
            *why = CMN_E_BUSY;
        return NULL;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += db->wait_ms / 1000;
    until.tv_nsec += (db->wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&db->mu);
    int rc = 0;
    while (db->nfree == 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&db->cv, &db->mu, &until);
    if (db->nfree == 0) {
        pthread_mutex_unlock(&db->mu);
        atomic_fetch_add(&db->timeouts, 1);
        cmn_warn("database: all %d pooled connections stayed in use for %ld ms (HOTPATCH_DB_POOL, HOTPATCH_DB_WAIT)",
                 db->n, db->wait_ms);
        if (why)
            *why = CMN_E_BUSY;
        return NULL;
    }
    int idx = db->free_list[--db->nfree];
    pthread_mutex_unlock(&db->mu);
    held_here++;
    struct pub_dbconn *c = &db->conns[idx];
    /*
     * An idle connection the server dropped (restart, pg_terminate_backend,
     * idle timeout) only shows it when read: consume what is pending so a
     * dead connection is replaced here instead of failing the request.
     */
    if (c->pg && !c->broken && (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK))
        c->broken = 1;
    if (c->broken || !c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        if (c->pg)
            PQfinish(c->pg);
        struct cmn_errbuf eb = {0};
        c->pg = connect_prepared(db->url, &eb);
        c->broken = 0;
        if (!c->pg) {
            cmn_warn("database: %s", eb.msg);
            c->broken = 1;
            pub_db_put(db, c);
            if (why)
                *why = CMN_E_DB;
            return NULL;
        }
    }
    return c;
}

enum cmn_err pub_db_errf(enum cmn_err why, struct cmn_errbuf *eb)
{
    if (why == CMN_E_BUSY)
        return cmn_errf(eb, why,
                        "every database connection stayed in use (HOTPATCH_DB_POOL, HOTPATCH_DB_WAIT): "
                        "try again");
    return cmn_errf(eb, CMN_E_DB, "database unavailable");
}

unsigned long pub_db_timeouts(struct pub_db *db)
{
    return atomic_load(&db->timeouts);
}

void pub_db_put(struct pub_db *db, struct pub_dbconn *c)
{
    if (!c)
        return;
    held_here--;
    if (c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        /* a handler left a transaction open: never hand it to the next one */
        PGresult *r = PQexec(c->pg, "ROLLBACK");
        PQclear(r);
        if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
            c->broken = 1;
    }
    pthread_mutex_lock(&db->mu);
    db->free_list[db->nfree++] = (int)(c - db->conns);
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

PGresult *pub_q(struct pub_dbconn *c, enum pub_stmt s, const char *const *params)
{
    char name[16];
    snprintf(name, sizeof(name), "q%d", (int)s);
    int idle = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    PGresult *r = PQexecPrepared(c->pg, name, stmt_nparams[s], params, NULL, NULL, 0);
    if ((!r || !pub_res_ok(r)) && idle && PQstatus(c->pg) != CONNECTION_OK && c->db) {
        /*
         * The server dropped the connection while it sat in the pool. Outside
         * a transaction nothing is lost by reconnecting and running the
         * statement again; inside one the caller must see the failure.
         */
        PQclear(r);
        r = NULL;
        PQfinish(c->pg);
        c->pg = connect_prepared(c->db->url, NULL);
        if (c->pg) {
            cmn_info("database: reconnected after a dropped connection");
            r = PQexecPrepared(c->pg, name, stmt_nparams[s], params, NULL, NULL, 0);
        } else {
            c->broken = 1; /* pg is NULL: every libpq call below fails cleanly, the pool reconnects */
        }
    }
    if (!r)
        r = PQmakeEmptyPGresult(c->pg, PGRES_FATAL_ERROR);
    if (!pub_res_ok(r)) {
        if (PQstatus(c->pg) != CONNECTION_OK)
            c->broken = 1;
        const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        /* unique violations are expected answers (409), not failures worth a warning */
        if (!st || strcmp(st, "23505") != 0) {
            const char *m = PQresultErrorMessage(r);
            cmn_warn("database: statement %d failed: %.*s", (int)s, (int)strcspn(m ? m : "", "\n"), m ? m : "");
        }
    }
    return r;
}

int pub_res_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

int pub_res_state(const PGresult *r, const char *sqlstate)
{
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return st && strcmp(st, sqlstate) == 0;
}

PGresult *pub_q_around(struct pub_dbconn *c, const char *before, enum pub_stmt s, const char *const *params,
                       const char *after)
{
    char name[16];
    snprintf(name, sizeof(name), "q%d", (int)s);
    PGconn *pg = c->pg;
    PGresult *res = NULL;
    int good = PQenterPipelineMode(pg);
    int sent = good && (!before || PQsendQueryParams(pg, before, 0, NULL, NULL, NULL, NULL, 0)) &&
               PQsendQueryPrepared(pg, name, stmt_nparams[s], params, NULL, NULL, 0) &&
               (!after || PQsendQueryParams(pg, after, 0, NULL, NULL, NULL, NULL, 0)) && PQpipelineSync(pg);
    good = sent;
    if (sent) {
        /* each command's results end with NULL; then the sync point (PGRES_PIPELINE_SYNC) */
        int ncmd = (before != NULL) + 1 + (after != NULL), mine = before != NULL;
        for (int k = 0; k < ncmd; k++) {
            PGresult *r;
            while ((r = PQgetResult(pg)) != NULL) {
                if (k == mine && !res) {
                    res = r;
                    continue;
                }
                if (!pub_res_ok(r)) {
                    const char *m = PQresultErrorMessage(r);
                    if (PQresultStatus(r) != PGRES_PIPELINE_ABORTED)
                        cmn_warn("database: '%s' failed: %.*s", k < mine ? before : after, (int)strcspn(m, "\n"), m);
                    good = 0;
                }
                PQclear(r);
            }
        }
        PGresult *r = PQgetResult(pg);
        if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC)
            good = 0;
        PQclear(r);
    }
    if (PQpipelineStatus(pg) != PQ_PIPELINE_OFF && !PQexitPipelineMode(pg)) {
        good = 0;
        c->broken = 1; /* results left unread: the connection cannot be used again */
    }
    if (PQstatus(pg) != CONNECTION_OK)
        c->broken = 1;
    if (res && (!good && pub_res_ok(res))) {
        PQclear(res);
        res = NULL;
    }
    return res ? res : PQmakeEmptyPGresult(pg, PGRES_FATAL_ERROR);
}

enum cmn_err pub_exec_simple(struct pub_dbconn *c, const char *sql)
{
    PGresult *r = PQexec(c->pg, sql);
    int okay = r && pub_res_ok(r);
    if (!okay) {
        if (PQstatus(c->pg) != CONNECTION_OK)
            c->broken = 1;
        const char *m = r ? PQresultErrorMessage(r) : "no result";
        cmn_warn("database: '%s' failed: %.*s", sql, (int)strcspn(m, "\n"), m);
    }
    PQclear(r);
    return okay ? CMN_OK : CMN_E_DB;
}

enum cmn_err pub_tx_begin(struct pub_dbconn *c)
{
    return pub_exec_simple(c, "BEGIN");
}

enum cmn_err pub_tx_commit(struct pub_dbconn *c)
{
    return pub_exec_simple(c, "COMMIT");
}

void pub_tx_rollback(struct pub_dbconn *c)
{
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        PGresult *r = PQexec(c->pg, "ROLLBACK");
        PQclear(r);
    }
}

#define MIGRATION_LOCK "7207316210" /* pg_advisory_lock key: "hotpatch" */

static enum cmn_err simple(PGconn *pg, const char *sql, struct cmn_errbuf *eb)
{
    PGresult *r = PQexec(pg, sql);
    if (!r || !pub_res_ok(r)) {
        const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(pg);
        enum cmn_err rc = cmn_errf(eb, CMN_E_DB, "migration: %.*s", (int)strcspn(m, "\n"), m);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    return CMN_OK;
}

static void quiet_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

enum cmn_err pub_db_migrate(PGconn *pg, int *applied, struct cmn_errbuf *eb)
{
    int n_applied = 0;
    PQsetNoticeProcessor(pg, quiet_notice, NULL); /* "already exists, skipping" is not news */
    enum cmn_err rc = simple(pg, "SELECT pg_advisory_lock(" MIGRATION_LOCK ")", eb);
    if (rc)
        return rc;
    rc = simple(pg,
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())",
                eb);
    if (rc)
        goto out;
    for (size_t i = 0; i < pub_n_migrations; i++) {
        const struct pub_migration *m = &pub_migrations[i];
        char ver[16];
        snprintf(ver, sizeof(ver), "%d", m->version);
        const char *p[2] = {ver, m->name};
        PGresult *r = PQexecParams(pg, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL, p, NULL, NULL, 0);
        if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
            PQclear(r);
            rc = cmn_errf(eb, CMN_E_DB, "migration: cannot read schema_migrations");
            goto out;
        }
        int have = PQntuples(r) > 0;
        PQclear(r);
        if (have)
            continue;
        rc = simple(pg, "BEGIN", eb);
        if (rc)
            goto out;
        rc = simple(pg, m->sql, eb);
        if (!rc) {
            r = PQexecParams(pg, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, NULL, p, NULL,
                             NULL, 0);
            if (!r || !pub_res_ok(r))
                rc = cmn_errf(eb, CMN_E_DB, "migration: cannot record version %d", m->version);
            PQclear(r);
        }
        if (!rc)
            rc = simple(pg, "COMMIT", eb);
        if (rc) {
            PQclear(PQexec(pg, "ROLLBACK"));
            struct cmn_errbuf tmp = {0};
            cmn_errf(&tmp, rc, "migration %s failed: %s", m->name, eb ? eb->msg : "");
            if (eb)
                memcpy(eb->msg, tmp.msg, sizeof(eb->msg));
            goto out;
        }
        cmn_info("applied migration %s", m->name);
        n_applied++;
    }
out:
    PQclear(PQexec(pg, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")"));
    if (!rc && applied)
        *applied = n_applied;
    return rc;
}

enum cmn_err pub_pgarr_add(struct cmn_buf *b, const char *s, int first)
{
    enum cmn_err rc = CMN_OK;
    if (!first)
        rc = cmn_buf_add(b, ",", 1);
    if (rc)
        return rc;
    if (!s)
        return cmn_buf_add(b, "NULL", 4);
    rc = cmn_buf_add(b, "\"", 1);
    while (!rc && *s) {
        size_t run = strcspn(s, "\"\\");
        if (run)
            rc = cmn_buf_add(b, s, run);
        s += run;
        if (!rc && *s) {
            char esc[2] = {'\\', *s};
            rc = cmn_buf_add(b, esc, 2);
            s++;
        }
    }
    if (!rc)
        rc = cmn_buf_add(b, "\"", 1);
    return rc;
}

const char *pub_cell(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return "";
    return PQgetvalue(r, row, col);
}

int64_t pub_cell_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}
