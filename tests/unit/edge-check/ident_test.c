/*
 * ident_test - the edge's request parameters (/v1/check app, platform,
 * channel, release, skip; percent-decoded, so NUL and control bytes reach
 * the check) and its device-list index names, fed the shared list
 * tests/vectors/identifiers.txt; each must give the verdict of
 * common/ident.h for every name. A valid name answers anything but 400 (no
 * manifest: 404/204); an invalid one a 400 that names the parameter.
 */
#include "common/compat.h"

#include "../../../edge-check/edge.h"
#include "../../lib/idlist.h"
#include "../../lib/test.h"
#include "common/str.h"

static struct idname L[IDLIST_MAX];
static struct edge_index IX;
static struct edge_config CFG;
static struct edge_ctx CTX;
static struct edge_resp *RS;
static char body[1 << 14];

static int check(const char *query)
{
    struct edge_reqin in;
    memset(&in, 0, sizeof(in));
    in.method = (struct cmn_slice){"GET", 3};
    in.path = (struct cmn_slice){"/v1/check", 9};
    in.query = (struct cmn_slice){query, strlen(query)};
    edge_handle(&CTX, &in, RS);
    size_t n = RS->body_len < sizeof(body) - 1 ? RS->body_len : sizeof(body) - 1;
    if (RS->body)
        memcpy(body, RS->body, n);
    body[RS->body ? n : 0] = '\0';
    edge_ctx_end(&CTX);
    return RS->status;
}

/* Percent-encode the raw name (NUL bytes included) into out. */
static void enc(char *out, size_t cap, const struct idname *e)
{
    struct cmn_buf b;
    cmn_buf_init(&b, cap - 1);
    if (cmn_url_encode(&b, e->name, e->len, 0) == CMN_OK && b.ptr)
        memcpy(out, b.ptr, b.len + 1);
    else
        out[0] = '\0';
    cmn_buf_release(&b);
}

static int param_verdict(const char *param, const char *query)
{
    char want[64];
    int st = check(query);
    if (st != 400)
        return 1;
    snprintf(want, sizeof(want), "'%s'", param);
    if (!strstr(body, want))
        diag("400 for another reason: %s", body);
    return strstr(body, want) ? 0 : -1;
}

int main(void)
{
    struct cmn_errbuf eb = {{0}};
    char dir[512], q[2048], e_[600];
    snprintf(dir, sizeof(dir), "%s/idx", test_tmpdir());
    is_int(edge_index_open(&IX, dir, 16 << 20, &eb), CMN_OK, "index opens");
    CFG.poll_ms = 5000;
    struct edge_sync_state ss;
    memset(&ss, 0, sizeof(ss));
    pthread_mutex_init(&ss.mu, NULL);
    RS = malloc(sizeof(*RS));
    is_int(edge_ctx_init(&CTX, &CFG, &IX, &ss), CMN_OK, "context");

    size_t n = idlist_load(L, IDLIST_MAX);
    static const char *const base[] = {"app=demo", "platform=android", "channel=production"};
    for (size_t i = 0; i < n; i++) {
        const struct idname *e = &L[i];
        enc(e_, sizeof(e_), e);
        for (int p = 0; p < 3; p++) {
            const char *name = p == 0 ? "app" : p == 1 ? "platform" : "channel";
            snprintf(q, sizeof(q), "%s=%s&%s&%s&binary_version=1.0.0&device=d1", name, e_, base[(p + 1) % 3],
                     base[(p + 2) % 3]);
            is_int(param_verdict(name, q), e->valid, "%s %s", name, e->shown);
        }
        if (e->len) { /* an empty release means none */
            snprintf(q, sizeof(q),
                     "app=demo&platform=android&channel=production&binary_version=1.0.0&device=d1"
                     "&release=%s",
                     e_);
            is_int(param_verdict("release", q), e->valid, "release %s", e->shown);
            snprintf(q, sizeof(q),
                     "app=demo&platform=android&channel=production&binary_version=1.0.0&device=d1"
                     "&skip=ok1,%s",
                     e_);
            if (!strchr(e->name, ',') && !e->has_nul)
                is_int(param_verdict("skip", q), e->valid, "skip %s", e->shown);
        }
        if (!e->has_nul) {
            MDB_txn *t;
            char *ids[1] = {"dev-1"};
            int okl = 0;
            if (mdb_txn_begin(IX.env, NULL, 0, &t) == 0) {
                okl = edge_index_list_replace(&IX, t, e->name, ids, 1, &eb) == CMN_OK;
                mdb_txn_abort(t);
            }
            is_int(okl, e->valid, "device list name %s", e->shown);
        }
    }
    edge_ctx_release(&CTX);
    free(RS);
    edge_index_close(&IX);
    return done_testing();
}
