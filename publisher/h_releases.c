/*
 * h_releases.c - handlers for releases: list (cursor pages), get, the
 * lifecycle verbs (rollout/ramp, rollback/abort, halt, resume, conclude,
 * archive, DELETE) and promote. Uploads are in h_upload.c, stats in
 * h_telemetry.c; the rules themselves are in release.c.
 */
#include "common/compat.h"

#include "common/log.h"
#include "pub_handlers.h"

void pub_h_rel_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    pub_h_rel_list_app(s, c, r, pub_req_query(r, "app"), out);
}

void pub_h_rel_list_app(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, const char *app,
                        struct pub_resp *out)
{
    const char *platform = pub_req_query(r, "platform");
    const char *channel = pub_req_query(r, "channel");
    const char *lim = pub_req_query(r, "limit");
    const char *cursor = pub_req_query(r, "cursor");
    if (!app || !*app) {
        pub_err(out, 400, "bad_request", "query parameter 'app' is required");
        return;
    }
    if ((platform && *platform && !pub_valid_id(platform)) || (channel && *channel && !pub_valid_id(channel))) {
        pub_err(out, 400, "bad_request", "bad platform or channel");
        return;
    }
    long limit = 50;
    if (lim) {
        char *end;
        limit = strtol(lim, &end, 10);
        if (*end || limit < 1 || limit > 200) {
            pub_err(out, 400, "bad_request", "limit must be 1..200");
            return;
        }
    }
    long long cur = 0;
    if (cursor && *cursor) {
        char *end;
        cur = strtoll(cursor, &end, 10);
        if (*end || cur < 1) {
            pub_err(out, 400, "bad_request", "bad cursor");
            return;
        }
    }
    PGresult *a = pub_h_app(c, r, app, out);
    if (!a)
        return;
    char aid[24], ls[24], cs[24];
    I64(aid, pub_cell_i64(a, 0, 0));
    PQclear(a);
    I64(ls, limit);
    I64(cs, cur);
    const char *p[] = {aid, platform && *platform ? platform : NULL, channel && *channel ? channel : NULL,
                       cur ? cs : NULL, ls};
    PGresult *q = pub_h_query(c, Q_REL_LIST, p, out);
    if (!q)
        return;
    json_t *arr = pub_h_rows(q, pub_release_json);
    int n = PQntuples(q);
    json_t *next = json_null();
    if (n == limit) {
        char nc[24];
        I64(nc, pub_cell_i64(q, n - 1, 18));
        json_decref(next);
        next = json_string(nc);
    }
    PQclear(q);
    pub_json_reply(out, 200, json_pack("{s:o,s:o}", "releases", arr, "next_cursor", next));
}

void pub_h_rel_get(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    PGresult *rel = pub_h_release(c, r, r->segs[2], NULL, out);
    if (!rel)
        return;
    pub_json_reply(out, 200, json_pack("{s:o}", "release", pub_release_json(rel, 0)));
    PQclear(rel);
}

/* The lifecycle verbs: `rollout` for rollout/ramp, else the verb in the path (DELETE: archive). */
static void rel_change(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, int rollout, struct pub_resp *out)
{
    const char *id = r->segs[2];
    const char *verb = r->nsegs > 3 ? r->segs[3] : "archive";
    json_t *b = pub_h_body(s, r, 1, out);
    if (!b)
        return;
    int action;
    long bp = -1;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    json_t *extra = json_object();
    if (rollout) {
        static const char *const allowed[] = {"rollout_bp", "percent", NULL};
        long long v = -1, pct = -1;
        if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jint(b, "rollout_bp", 0, 0, 10000, &v, &eb)) ||
            (rc = pub_jint(b, "percent", 0, 0, 100, &pct, &eb))) {
            pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
            goto done;
        }
        if ((v < 0) == (pct < 0)) {
            pub_err(out, 400, "bad_request", "give exactly one of 'rollout_bp' (0..10000) or 'percent' (0..100)");
            goto done;
        }
        bp = v >= 0 ? (long)v : (long)pct * 100;
        action = PUB_ACT_ROLLOUT;
    } else {
        static const char *const allowed[] = {"reason", NULL};
        const char *reason = NULL;
        if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "reason", 0, 1024, &reason, &eb))) {
            pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
            goto done;
        }
        if (reason)
            json_object_set_new(extra, "reason", json_string(reason));
        if (!strcmp(verb, "rollback") || !strcmp(verb, "abort"))
            action = PUB_ACT_ROLLBACK;
        else if (!strcmp(verb, "halt"))
            action = PUB_ACT_HALT;
        else if (!strcmp(verb, "resume"))
            action = PUB_ACT_RESUME;
        else if (!strcmp(verb, "conclude"))
            action = PUB_ACT_CONCLUDE;
        else
            action = PUB_ACT_ARCHIVE;
    }
    json_object_set_new(extra, "via", json_string(verb));
    PGresult *rel = pub_h_release(c, r, id, NULL, out);
    if (!rel)
        goto done;
    PQclear(rel);
    json_t *relj = NULL;
    int64_t seq = 0;
    rc = pub_release_action(s, c, id, action, bp, r->who.actor, extra, &relj, &seq, &eb);
    if (rc) {
        pub_err_from(out, rc, &eb);
        goto done;
    }
    pub_json_reply(
        out, 200,
        json_pack("{s:o,s:{s:I}}", "release", relj ? relj : json_null(), "manifest", "sequence", (json_int_t)seq));
done:
    json_decref(extra);
    json_decref(b);
}

void pub_h_rel_rollout(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    rel_change(s, c, r, 1, out);
}

void pub_h_rel_action(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    rel_change(s, c, r, 0, out);
}

void pub_h_rel_promote(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = pub_h_body(s, r, 0, out);
    if (!b)
        return;
    static const char *const allowed[] = {"to_channel", "channel", "rollout_bp", "percent", NULL};
    const char *to = NULL, *to2 = NULL;
    long long bp = -1, pct = -1;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    PGresult *rel = NULL;
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "to_channel", 0, 64, &to, &eb)) ||
        (rc = pub_jstr(b, "channel", 0, 64, &to2, &eb)) || (rc = pub_jint(b, "rollout_bp", 0, 0, 10000, &bp, &eb)) ||
        (rc = pub_jint(b, "percent", 0, 0, 100, &pct, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    if (!to)
        to = to2;
    if (!to || !pub_valid_id(to)) {
        pub_err(out, 400, "bad_request", "'to_channel' must match [A-Za-z0-9._-]{1,64}");
        goto done;
    }
    if (pct >= 0)
        bp = pct * 100;
    int64_t org_id = 0;
    rel = pub_h_release(c, r, r->segs[2], &org_id, out);
    if (!rel)
        goto done;
    json_t *relj = NULL;
    int64_t seq = 0, pubseq = 0;
    rc = pub_release_promote(s, c, rel, to, (long)bp, r->who.actor, org_id, &relj, &seq, &pubseq, &eb);
    if (rc) {
        pub_err_from(out, rc, &eb);
        goto done;
    }
    json_t *man = json_pack("{s:I}", "sequence", (json_int_t)seq);
    if (pubseq)
        json_object_set_new(man, "published_sequence", json_integer(pubseq));
    pub_json_reply(out, 201, json_pack("{s:o,s:o}", "release", relj ? relj : json_null(), "manifest", man));
done:
    PQclear(rel);
    json_decref(b);
}
