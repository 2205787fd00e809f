/*
 * codepush.c - the CodePush acquisition API, so that unmodified
 * react-native-code-push apps (and anything built on the `code-push`
 * AcquisitionManager) update from HotPatch after changing serverUrl and the
 * deployment key. A dialect of the one check pipeline (req.c run_check):
 *
 *   GET /v0.1/public/codepush/update_check?deployment_key=&app_version=
 *       &package_hash=&label=&client_unique_id=&is_companion=
 *
 * prepare: the deployment key names its channel (common/codepush.h); the
 *   app version is widened to x.y.z ("1.0" is a common Android versionName).
 * admit:   the channel's SIGNED manifest must list the key's SHA-256 in
 *   codepush_keys, else 404 (a key nobody issued, or a revoked one).
 * current: the installed release is the one whose codepush_hash equals the
 *   client's package_hash, else the one labelled `label`.
 * answer:  {"update_info": {...}} exactly as AcquisitionManager reads it.
 *
 *   POST /v0.1/public/codepush/report_status/deploy    (cp_report below)
 *   POST /v0.1/public/codepush/report_status/download
 *
 * Cohorts, targeting, mandatory-across-skips and rollbacks are cmn_decide's,
 * with client_unique_id as the device id. What the protocol cannot say:
 * "revert to the binary" (a rolled-back release with nothing older to go
 * to): answered is_available false with should_run_binary_version true,
 * which stock clients ignore (docs/compatibility.md).
 */
#include "common/compat.h"

#include "check_int.h"
#include "common/codepush.h"

#define CP_PREFIX "/v0.1/public/codepush/"

/* Copy s[0..n) into the request arena; NULL when it does not fit. */
static const char *arena_put(struct edge_ctx *c, const char *s, size_t n)
{
    if (n + 1 > sizeof(c->arena) - c->arena_used)
        return NULL;
    char *p = c->arena + c->arena_used;
    memcpy(p, s, n);
    p[n] = '\0';
    c->arena_used += n + 1;
    return p;
}

static int cp_prepare(struct edge_ctx *c, struct param *ps, struct edge_resp *rs)
{
    char id[3][CMN_ID_MAX + 1];
    struct param *k = &ps[Q_KEY];
    if (!k->val) {
        json_error(rs, 400, "bad_request", "missing parameter 'deployment_key'");
        return -1;
    }
    if (cmn_codepush_key_parse(k->val, k->len, id[0], id[1], id[2]) != 0) {
        json_error(rs, 400, "bad_request", "parameter 'deployment_key' is not a HotPatch deployment key");
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(id[i]);
        ps[Q_APP + i].val = arena_put(c, id[i], n);
        ps[Q_APP + i].len = n;
        if (!ps[Q_APP + i].val) {
            json_error(rs, 400, "bad_request", "parameters too long");
            return -1;
        }
    }
    /* "1" / "1.2" -> "1.0.0" / "1.2.0": CodePush apps report their versionName as is. */
    struct param *b = &ps[Q_BINARY];
    if (b->val && b->len && b->len <= 32) {
        size_t dots = 0, i;
        for (i = 0; i < b->len && ((b->val[i] >= '0' && b->val[i] <= '9') || b->val[i] == '.'); i++)
            dots += b->val[i] == '.';
        if (i == b->len && dots < 2 && b->val[0] != '.' && b->val[b->len - 1] != '.') {
            char t[48];
            int n = snprintf(t, sizeof(t), "%s%s", b->val, dots ? ".0" : ".0.0");
            const char *w = arena_put(c, t, (size_t)n);
            if (w) {
                b->val = w;
                b->len = (size_t)n;
            }
        }
    }
    if (ps[Q_HASH].val && ps[Q_HASH].len > 128) {
        json_error(rs, 400, "bad_request", "parameter 'package_hash' is too long");
        return -1;
    }
    return 0;
}

static int cp_admit(struct edge_ctx *c, const struct param *ps, struct edge_resp *rs, enum edge_outcome *oc)
{
    char h[CMN_SHA256_HEX];
    cmn_codepush_key_hash(ps[Q_KEY].val, ps[Q_KEY].len, h);
    if (cmn_manifest_codepush_key_find(&c->view->m, h) < 0) {
        json_error(rs, 404, "not_found", "unknown deployment key");
        return -1;
    }
    return 0;
}

static const char *cp_current(struct edge_ctx *c, const struct param *ps)
{
    const struct cmn_manifest *m = &c->view->m;
    if (ps[Q_HASH].val && ps[Q_HASH].len)
        for (size_t i = 0; i < m->n_releases; i++)
            if (m->releases[i].codepush_hash[0] && strcmp(m->releases[i].codepush_hash, ps[Q_HASH].val) == 0)
                return m->releases[i].id;
    if (ps[Q_CURRENT].val && ps[Q_CURRENT].len) {
        const char *id = resolve_current(m, ps[Q_CURRENT].val);
        /* a label we never issued is not a release: decide as for the binary's own bundle */
        return cmn_manifest_find(m, id) >= 0 ? id : NULL;
    }
    return NULL;
}

/*
 * No release for this binary: is there a newer active one for another
 * binary? Then the client is told to update the app (update_app_version).
 */
static const struct cmn_release *newer_for_other_binary(const struct cmn_manifest *m, const char *cur,
                                                        const char *binary)
{
    struct cmn_semver v;
    long from = cur ? cmn_manifest_find(m, cur) : -1;
    if (cmn_semver_parse(binary, &v) != CMN_OK)
        return NULL;
    for (size_t i = m->n_releases; i-- > (size_t)(from + 1);) {
        const struct cmn_release *r = &m->releases[i];
        if (r->state == CMN_REL_ACTIVE && r->rollout_bp > 0 && !cmn_semver_range_match(&r->target, &v))
            return r;
    }
    return NULL;
}

static int cp_answer(struct edge_ctx *c, const struct edge_reqin *rq, const struct param *ps,
                     const struct cmn_decision *d, struct edge_resp *rs)
{
    const struct cmn_release *r = d->kind == CMN_DECIDE_UPDATE ? &c->view->rel[d->index] : NULL;
    const struct cmn_release *other = NULL;
    struct sw w;
    if (r && !r->codepush_hash[0])
        r = NULL; /* released before CodePush was enabled: the client could not check what it installs */
    if (d->kind == CMN_DECIDE_NONE)
        other = newer_for_other_binary(&c->view->m, cp_current(c, ps), ps[Q_BINARY].val);
    seed_headers(rs, 200);
    sw_begin(&w, rs);
    sw_str(&w, "{\"update_info\":{\"download_url\":");
    if (r && sw_bundle_url(&w, c->cfg, rq->host, r->bundle_url)) {
        json_error(rs, 400, "bad_request", "invalid Host header (want host[:port])");
        return -1;
    } else if (!r)
        sw_str(&w, "\"\"");
    sw_str(&w, ",\"description\":");
    sw_json(&w, r && r->notes ? r->notes : "");
    sw_str(&w, r ? ",\"is_available\":true" : ",\"is_available\":false");
    sw_str(&w, ",\"is_disabled\":false");
    sw_str(&w, r && d->mandatory ? ",\"is_mandatory\":true" : ",\"is_mandatory\":false");
    sw_str(&w, ",\"label\":");
    sw_json(&w, r ? r->version : "");
    sw_str(&w, ",\"package_hash\":");
    sw_json(&w, r ? r->codepush_hash : "");
    sw_str(&w, ",\"package_size\":");
    sw_u64(&w, r ? r->size : 0);
    sw_str(&w, d->kind == CMN_DECIDE_ROLLBACK ? ",\"should_run_binary_version\":true"
                                              : ",\"should_run_binary_version\":false");
    sw_str(&w, ",\"target_binary_range\":");
    sw_json(&w, r ? r->target_binary : other ? other->target_binary : ps[Q_BINARY].val);
    sw_str(&w, other ? ",\"update_app_version\":true}}" : ",\"update_app_version\":false}}");
    sw_body(&w, rs);
    return 0;
}

/*
 * POST report_status/deploy and report_status/download: the SDK's reports,
 * translated into one of our installation events and relayed to the
 * publisher (relay.c) like seed 002's update-status. The key is resolved
 * exactly as update_check resolves it (its channel's signed manifest must
 * list its hash), the label is mapped to the newest release of that channel
 * carrying it (whatever its state: a failure report about a release since
 * rolled back is still news). CodePush clients cannot carry edge tickets:
 * their reports are unticketed, stored and shown, and count toward the
 * auto-halt only where the app opted in (count_unticketed, docs/security.md).
 */
static void cp_report(struct edge_ctx *c, const struct edge_reqin *rq, struct edge_resp *rs, int download)
{
    struct edge_cp_report r;
    char msg[320];
    enum edge_outcome oc;
    if (report_admit(c, rq, rs))
        return;
    if (edge_cp_report_parse(rq->body.p, rq->body.n, download, &r, msg, sizeof(msg))) {
        json_error(rs, 400, "bad_request", msg);
        return;
    }
    if (load_view(c, r.app, r.platform, r.channel, r.client, rs, &oc))
        return;
    char h[CMN_SHA256_HEX];
    cmn_codepush_key_hash(r.key, strlen(r.key), h);
    if (cmn_manifest_codepush_key_find(&c->view->m, h) < 0) {
        json_error(rs, 404, "not_found", "unknown deployment key");
        return;
    }
    if (!r.status) {
        /* the binary's own bundle: no release of ours to report about */
        struct sw w;
        seed_headers(rs, 200);
        sw_begin(&w, rs);
        sw_str(&w, "{\"status\":\"ok\",\"recorded\":false}");
        sw_body(&w, rs);
        return;
    }
    const struct cmn_manifest *m = &c->view->m;
    long idx = -1;
    for (size_t i = m->n_releases; i-- > 0 && idx < 0;)
        if (strcmp(m->releases[i].version, r.label) == 0)
            idx = (long)i;
    if (idx < 0) {
        snprintf(msg, sizeof(msg), "no release labelled '%s' on this deployment", r.label);
        json_error(rs, 404, "not_found", msg);
        return;
    }
    struct edge_install ev = {r.client, r.app,      r.platform,   r.channel, m->releases[idx].id,
                              r.status, r.progress, r.app_version};
    char body[EDGE_RELAY_BODY_MAX];
    long n = edge_install_event(&ev, body, sizeof(body));
    if (n < 0) {
        json_error(rs, 500, "internal", "cannot encode the report");
        return;
    }
    report_relay(c, body, (size_t)n, rs);
}

static const struct dialect DIALECT_CODEPUSH = {
    .names = {[Q_KEY] = "deployment_key",
              [Q_BINARY] = "app_version",
              [Q_HASH] = "package_hash",
              [Q_CURRENT] = "label",
              [Q_DEVICE] = "client_unique_id"},
    .current_is_label = 1,
    .answer = cp_answer,
    .prepare = cp_prepare,
    .admit = cp_admit,
    .current = cp_current,
};

int edge_codepush_handle(struct edge_ctx *c, const struct edge_reqin *rq, struct edge_resp *rs, enum edge_endpoint *ep,
                         enum edge_outcome *oc)
{
    static const char pre[] = CP_PREFIX;
    struct cmn_slice p = rq->path;
    if (p.n < sizeof(pre) - 1 || memcmp(p.p, pre, sizeof(pre) - 1) != 0)
        return 0;
    struct cmn_slice rest = {p.p + sizeof(pre) - 1, p.n - (sizeof(pre) - 1)};
    *ep = EDGE_EP_CODEPUSH;
    if (cmn_slice_eq(rest, "update_check")) {
        if (!cmn_slice_eq(rq->method, "GET")) {
            json_error(rs, 405, "method_not_allowed", "use GET");
            add_header_str(rs, "Allow", "GET");
            *oc = EDGE_OUT_BAD;
            return 1;
        }
        *oc = run_check(c, &DIALECT_CODEPUSH, rq, rs);
        return 1;
    }
    if (cmn_slice_eq(rest, "report_status/deploy") || cmn_slice_eq(rest, "report_status/download")) {
        cp_report(c, rq, rs, cmn_slice_eq(rest, "report_status/download")); /* not a check: no outcome */
        return 1;
    }
    json_error(rs, 404, "not_found", "no such CodePush endpoint");
    return 1;
}
