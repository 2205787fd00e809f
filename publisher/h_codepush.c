/*
 * h_codepush.c - handlers for CodePush deployment keys (issue 13,
 * docs/compatibility.md "CodePush"): make (or import), list and revoke the
 * keys a channel answers. A key "<app>~<platform>~<channel>~<32 hex>"
 * (common/codepush.h) is returned once, by the POST that makes it; the
 * database keeps its SHA-256 and last four characters only. Every change
 * commits with a new channel sequence and re-publishes the channel's signed
 * manifest, whose codepush_keys member (manifests/SPEC.md section 16,
 * publish.c) is all the edge trusts, so edges see a key or its revocation at
 * their next sync.
 */
#include "common/compat.h"

#include "common/codepush.h"
#include "common/log.h"
#include "common/manifest.h"
#include "pub_handlers.h"

#define LAST4 4

static int lowerhex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    return strspn(s, "0123456789abcdef") == n;
}

static json_t *cpkey_json(const PGresult *q, int i)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "id", (json_int_t)pub_cell_i64(q, i, 0), "platform",
                     pub_cell(q, i, 1), "channel", pub_cell(q, i, 2), "sha256", pub_cell(q, i, 3), "last4",
                     pub_cell(q, i, 4), "name", pub_cell(q, i, 5), "created_by", pub_cell(q, i, 6), "created_at",
                     (json_int_t)pub_cell_i64(q, i, 7));
}

/* After the commit: publish the channel; the reply's "manifest" object (like a release's). */
static json_t *publish(struct pub_srv *s, struct pub_dbconn *c, const struct pub_chan *ch, int64_t seq)
{
    struct cmn_errbuf eb = {0};
    int64_t pubseq = 0;
    enum cmn_err rc = pub_publish(s, c, ch, 0, &pubseq, &eb);
    json_t *man = json_pack("{s:I,s:b}", "sequence", (json_int_t)seq, "published", rc == CMN_OK);
    if (rc) {
        cmn_warn("deployment key change on %s/%s/%s committed, but the manifest publish failed (will retry): %s",
                 ch->app, ch->platform, ch->channel, cmn_errmsg(&eb, rc));
        json_object_set_new(man, "error", json_string(eb.msg[0] ? eb.msg : "manifest publish failed"));
    } else {
        json_object_set_new(man, "published_sequence", json_integer(pubseq));
    }
    return man;
}

void pub_h_cpkey_add(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    json_t *b = pub_h_body(s, r, 0, out);
    if (!b)
        return;
    PGresult *a = NULL;
    char key[CMN_CODEPUSH_KEY_MAX + 1] = "";
    static const char *const allowed[] = {"platform", "channel", "name", "key", NULL};
    const char *platform = NULL, *channel = NULL, *name = NULL, *given = NULL;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "platform", 1, 64, &platform, &eb)) ||
        (rc = pub_jstr(b, "channel", 1, 64, &channel, &eb)) || (rc = pub_jstr(b, "name", 0, 128, &name, &eb)) ||
        (rc = pub_jstr(b, "key", 0, CMN_CODEPUSH_KEY_MAX, &given, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    if (!pub_valid_id(platform) || !pub_valid_id(channel)) {
        pub_err(out, 400, "bad_request", "platform and channel must match [A-Za-z0-9._-]{1,64}");
        goto done;
    }
    a = pub_h_app(c, r, r->segs[2], out);
    if (!a)
        goto done;
    if (given) {
        /* import a key apps already ship (made in serverless mode, or by another publisher) */
        char k3[3][CMN_ID_MAX + 1];
        if (cmn_codepush_key_parse(given, strlen(given), k3[0], k3[1], k3[2]) != 0) {
            pub_err(out, 400, "bad_request",
                    "'key' is not a HotPatch deployment key (<app>~<platform>~<channel>~<32 lower-case hex>)");
            goto done;
        }
        if (strcmp(k3[0], r->segs[2]) || strcmp(k3[1], platform) || strcmp(k3[2], channel)) {
            pub_err(out, 400, "bad_request", "'key' names %s/%s channel '%s', not %s/%s channel '%s'", k3[0], k3[1],
                    k3[2], r->segs[2], platform, channel);
            goto done;
        }
        snprintf(key, sizeof(key), "%s", given);
    } else if (cmn_codepush_key_new(r->segs[2], platform, channel, key) != CMN_OK) {
        pub_err(out, 400, "bad_request", "bad app/platform/channel");
        goto done;
    }
    char hash[CMN_SHA256_HEX], aid[24];
    cmn_codepush_key_hash(key, strlen(key), hash);
    const char *last4 = key + strlen(key) - LAST4;
    I64(aid, pub_cell_i64(a, 0, 0));
    struct pub_chan ch = {pub_cell_i64(a, 0, 0), r->segs[2], platform, channel};
    int64_t seq = 0;
    if (pub_h_begin(c, out))
        goto done;
    /* under the channel's row lock: the count below cannot race another add */
    if (pub_chan_touch(c, &ch, &seq)) {
        pub_tx_rollback(c);
        pub_err(out, 503, "database_unavailable", "cannot update the channel");
        goto done;
    }
    const char *cp[] = {aid, platform, channel};
    PGresult *q = pub_q(c, Q_CPKEY_CHANNEL, cp);
    int n = pub_res_ok(q) ? PQntuples(q) : -1;
    PQclear(q);
    if (n < 0 || n >= CMN_MANIFEST_MAX_CODEPUSH_KEYS) {
        pub_tx_rollback(c);
        if (n < 0)
            pub_err(out, 503, "database_unavailable", "cannot read the channel's deployment keys");
        else
            pub_err(out, 409, "too_many_keys", "channel '%s' of %s/%s already has %d deployment keys: revoke one first",
                    channel, r->segs[2], platform, CMN_MANIFEST_MAX_CODEPUSH_KEYS);
        goto done;
    }
    const char *ip[] = {aid, platform, channel, hash, last4, name ? name : "", r->who.actor};
    q = pub_q(c, Q_CPKEY_INSERT, ip);
    if (!pub_res_ok(q)) {
        int dup = pub_res_state(q, "23505");
        PQclear(q);
        pub_tx_rollback(c);
        if (dup)
            pub_err(out, 409, "conflict",
                    "deployment key ...%s is already known to this publisher (active or revoked); a revoked key "
                    "cannot come back: make a new one",
                    last4);
        else
            pub_err(out, 503, "database_unavailable", "cannot store the deployment key");
        goto done;
    }
    int64_t id = pub_cell_i64(q, 0, 0), created = pub_cell_i64(q, 0, 1);
    PQclear(q);
    if (pub_manifest_check(s, c, &ch, &eb) ||
        pub_h_audit(c, r->who.actor, pub_cell_i64(a, 0, 1), ch.app_id, NULL,
                    given ? "deployment_key.import" : "deployment_key.create",
                    json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)id, "platform", platform, "channel", channel,
                              "sha256", hash, "name", name ? name : "")) ||
        pub_tx_commit(c)) {
        pub_tx_rollback(c);
        pub_err(out, 503, "database_unavailable", "%s", eb.msg[0] ? eb.msg : "cannot store the deployment key");
        goto done;
    }
    cmn_info("deployment key %lld (...%s) added to %s/%s/%s by %s", (long long)id, last4, ch.app, platform, channel,
             r->who.actor);
    json_t *man = publish(s, c, &ch, seq);
    pub_json_reply(out, 201,
                   json_pack("{s:{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I},s:o}", "deployment_key", "id", (json_int_t)id,
                             "key", key, "sha256", hash, "last4", last4, "platform", platform, "channel", channel,
                             "name", name ? name : "", "created_by", r->who.actor, "created_at", (json_int_t)created,
                             "manifest", man));
done:
    cmn_wipe(key, sizeof(key));
    PQclear(a);
    json_decref(b);
}

void pub_h_cpkey_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *platform = pub_req_query(r, "platform"), *channel = pub_req_query(r, "channel");
    if ((platform && !pub_valid_id(platform)) || (channel && !pub_valid_id(channel))) {
        pub_err(out, 400, "bad_request", "platform and channel must match [A-Za-z0-9._-]{1,64}");
        return;
    }
    char aid[24];
    if (pub_h_app_id(c, r, r->segs[2], aid, out))
        return;
    const char *p[] = {aid, platform, channel};
    pub_h_list(c, Q_CPKEY_LIST, p, "deployment_keys", cpkey_json, out);
}

void pub_h_cpkey_revoke(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *ref = r->segs[4];
    size_t rl = strlen(ref);
    json_t *b = pub_h_body(s, r, 1, out);
    if (!b)
        return;
    PGresult *a = NULL, *k = NULL;
    static const char *const allowed[] = {"platform", "channel", NULL};
    const char *platform = NULL, *channel = NULL;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "platform", 0, 64, &platform, &eb)) ||
        (rc = pub_jstr(b, "channel", 0, 64, &channel, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    /* the key's id, or its SHA-256 (what `hotpatch deployment-key list` shows) */
    if (!(rl >= 1 && rl <= 18 && strspn(ref, "0123456789") == rl) && !lowerhex(ref, CMN_SHA256_HEX - 1)) {
        pub_err(out, 400, "bad_request", "a deployment key is named by its id or its SHA-256 (64 lower-case hex)");
        goto done;
    }
    a = pub_h_app(c, r, r->segs[2], out);
    if (!a)
        goto done;
    char aid[24];
    I64(aid, pub_cell_i64(a, 0, 0));
    const char *fp[] = {aid, ref};
    if (pub_h_begin(c, out))
        goto done;
    k = pub_q(c, Q_CPKEY_FIND, fp);
    if (!pub_res_ok(k)) {
        pub_tx_rollback(c);
        pub_err(out, 503, "database_unavailable", "cannot read the deployment key");
        goto done;
    }
    if (PQntuples(k) != 1 || pub_cell(k, 0, 4)[0] == 't' || (platform && strcmp(platform, pub_cell(k, 0, 1))) ||
        (channel && strcmp(channel, pub_cell(k, 0, 2)))) {
        int revoked = PQntuples(k) == 1 && pub_cell(k, 0, 4)[0] == 't';
        pub_tx_rollback(c);
        if (platform || channel)
            pub_err(out, 404, "not_found", "deployment key %.12s... is not %s on %s/%s channel '%s'", ref,
                    revoked ? "active" : "listed", r->segs[2], platform ? platform : "*", channel ? channel : "*");
        else
            pub_err(out, 404, "not_found", "no %sdeployment key %.12s... for app '%s'", revoked ? "active " : "", ref,
                    r->segs[2]);
        goto done;
    }
    struct pub_chan ch = {pub_cell_i64(a, 0, 0), r->segs[2], pub_cell(k, 0, 1), pub_cell(k, 0, 2)};
    int64_t seq = 0;
    const char *ids = pub_cell(k, 0, 0);
    const char *rp[] = {ids};
    PGresult *q = NULL;
    long n = -1;
    int okay = !pub_chan_touch(c, &ch, &seq);
    if (okay) {
        q = pub_q(c, Q_CPKEY_REVOKE, rp);
        okay = pub_res_ok(q);
        n = okay ? atol(PQcmdTuples(q)) : -1;
        PQclear(q);
    }
    if (n == 0) { /* a concurrent revoke won */
        pub_tx_rollback(c);
        pub_err(out, 404, "not_found", "no active deployment key %.12s... for app '%s'", ref, r->segs[2]);
        goto done;
    }
    if (!okay || pub_manifest_check(s, c, &ch, &eb) ||
        pub_h_audit(c, r->who.actor, pub_cell_i64(a, 0, 1), ch.app_id, NULL, "deployment_key.revoke",
                    json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)pub_cell_i64(k, 0, 0), "platform", ch.platform,
                              "channel", ch.channel, "sha256", pub_cell(k, 0, 3))) ||
        pub_tx_commit(c)) {
        pub_tx_rollback(c);
        pub_err(out, 503, "database_unavailable", "%s", eb.msg[0] ? eb.msg : "cannot revoke the deployment key");
        goto done;
    }
    cmn_info("deployment key %s revoked on %s/%s/%s by %s", ids, ch.app, ch.platform, ch.channel, r->who.actor);
    json_t *man = publish(s, c, &ch, seq);
    pub_json_reply(out, 200,
                   json_pack("{s:{s:I,s:s,s:s,s:s,s:b},s:o}", "deployment_key", "id", (json_int_t)pub_cell_i64(k, 0, 0),
                             "sha256", pub_cell(k, 0, 3), "platform", ch.platform, "channel", ch.channel, "revoked", 1,
                             "manifest", man));
done:
    PQclear(k);
    PQclear(a);
    json_decref(b);
}
