#include "common/compat.h"

/*
 * root.c - the device's root of trust (manifests/SPEC.md section 17).
 *
 * With HP_OPT_ROOT the app embeds its initial root document instead of (or
 * beside) manifest keys. hp_open() starts from the newer of the embedded root
 * and the one cached in <data>/root.json; every check first walks the chain
 * forward (GET <base>/roots/<app>/<N+1>.json until one is missing), caches
 * the newest accepted root with the same atomic write as state.json, and then
 * trusts exactly that root's manifest keys (and its release keys, when it
 * lists any). A refused successor, or an expired newest root, fails the check:
 * the device keeps what it has installed. Without HP_OPT_ROOT nothing here
 * runs and the configured keys are used as before.
 */

#include <sys/stat.h>

#include "common/root.h"
#include "hp_int.h"

#define ROOT_CACHE "root.json"

hp_status hp__root_set(struct hp_client *c, const char *doc)
{
    struct cmn_root *r = NULL;
    struct cmn_errbuf eb = {{0}};
    if (!doc) {
        CMN_SAFEFREE(c->root_doc);
        return HP_OK;
    }
    /* Refuse a damaged embedded root at configuration time, not at the first check. */
    enum cmn_err rc = cmn_root_open(doc, strlen(doc), NULL, &r, &eb);
    cmn_root_free(r);
    if (rc)
        return hp__failf(c, HP_E_INVAL, "bad root document: %s", cmn_errmsg(&eb, rc));
    char *d = strdup(doc);
    if (!d)
        return hp__failf(c, HP_E_NOMEM, "out of memory");
    free(c->root_doc);
    c->root_doc = d;
    return HP_OK;
}

/* Trust r: its manifest keys replace the configured ones, and its release keys when it lists any. */
static void adopt(struct hp_client *c, struct cmn_root *r)
{
    cmn_root_free(c->root);
    c->root = r;
    for (size_t i = 0; i < c->n_mkeys; i++)
        cmn_key_clear(&c->mkeys[i]);
    c->n_mkeys = 0;
    for (size_t i = 0; i < r->n_manifest_keys && i < HP_MAX_KEYS; i++)
        c->mkeys[c->n_mkeys++] = r->manifest_keys[i];
    if (r->n_release_keys) {
        for (size_t i = 0; i < c->n_rkeys; i++)
            cmn_key_clear(&c->rkeys[i]);
        c->n_rkeys = 0;
        for (size_t i = 0; i < r->n_release_keys && i < HP_MAX_KEYS; i++)
            c->rkeys[c->n_rkeys++] = r->release_keys[i];
    }
}

hp_status hp__root_open(struct hp_client *c)
{
    struct cmn_root *emb = NULL, *cached = NULL;
    struct cmn_errbuf eb = {{0}};
    struct cmn_buf doc;
    if (!c->root_doc)
        return HP_OK;
    enum cmn_err rc = cmn_root_open(c->root_doc, strlen(c->root_doc), c->app, &emb, &eb);
    if (rc)
        return hp__failf(c, HP_E_INVAL, "embedded root: %s", cmn_errmsg(&eb, rc));
    /* The cache holds a root this device accepted by walking the chain; a damaged one is ignored. */
    char *path = hp__path(c->data_dir, ROOT_CACHE);
    cmn_buf_init(&doc, CMN_ROOT_MAX_BYTES);
    if (path && hp__exists(path) && hp__read_file(path, CMN_ROOT_MAX_BYTES, &doc, &eb) == CMN_OK &&
        cmn_root_open(doc.ptr ? doc.ptr : "", doc.len, c->app, &cached, &eb) == CMN_OK &&
        cached->version > emb->version) {
        cmn_root_free(emb);
        emb = cached;
        cached = NULL;
    }
    cmn_root_free(cached);
    cmn_buf_release(&doc);
    free(path);
    adopt(c, emb);
    return HP_OK;
}

struct fetch_ctx {
    struct hp_client *c;
    const char *base;
};

static enum cmn_err fetch(void *ctx, uint64_t version, struct cmn_buf *out, struct cmn_errbuf *eb)
{
    struct fetch_ctx *f = ctx;
    char key[3 * CMN_ID_MAX];
    long status = 0;
    if (cmn_root_storage_key(f->c->app, version, key, sizeof key))
        return cmn_errf(eb, CMN_E_INVAL, "bad app");
    size_t n = strlen(f->base) + strlen(key) + 2;
    char *url = malloc(n);
    if (!url)
        return CMN_E_NOMEM;
    snprintf(url, n, "%s/%s", f->base, key);
    if (strncmp(url, "file://", 7) == 0 && !hp__exists(url + 7)) {
        free(url); /* a file:// read has no 404: a missing file is the end of the chain */
        return CMN_E_NOTFOUND;
    }
    enum cmn_err rc = hp__http_get(f->c, url, out, NULL, &status, eb);
    if (!rc && status == 404)
        rc = CMN_E_NOTFOUND;
    else if (!rc && status != 200)
        rc = cmn_errf(eb, CMN_E_HTTP, "'%s' answered HTTP %ld", url, status);
    free(url);
    return rc;
}

hp_status hp__root_refresh(struct hp_client *c)
{
    struct cmn_errbuf eb = {{0}};
    unsigned advanced = 0;
    struct fetch_ctx f = {c, c->manifest_base ? c->manifest_base : c->bundle_base};
    if (!c->root)
        return HP_OK;
    if (!f.base)
        return hp__failf(c, HP_E_INVAL, "a root of trust needs a manifest or bundle base URL to fetch roots from");
    struct cmn_root *r = c->root;
    c->root = NULL; /* the walk replaces it; adopt() takes it back */
    enum cmn_err rc = cmn_root_walk(&r, fetch, &f, c->now ? c->now : (int64_t)time(NULL), &advanced, &eb);
    adopt(c, r);
    if (advanced) {
        struct cmn_errbuf e2 = {{0}};
        enum cmn_err wrc = hp__write_atomic(c->data_dir, ROOT_CACHE, r->env, r->env_len, 1, &e2);
        if (wrc && !rc)
            return hp__fail(c, wrc, &e2);
    }
    if (rc) {
        hp_status s = hp__fail(c, rc, &eb);
        return s == HP_E_INVAL || s == HP_E_IO ? HP_E_VERIFY : s;
    }
    return HP_OK;
}

enum cmn_err hp__open_manifest(struct hp_client *c, const void *doc, size_t len, const struct cmn_manifest_expect *ex,
                               int64_t now, struct cmn_manifest **out, struct cmn_errbuf *eb)
{
    if (c->root)
        return cmn_root_open_manifest(c->root, doc, len, ex, now, out, eb);
    struct cmn_keyring ring = {c->mkeys, c->n_mkeys};
    return cmn_manifest_open(doc, len, &ring, ex, now, 0, out, eb);
}

unsigned long long hp_root_version(const hp_client *c)
{
    return c && c->root ? (unsigned long long)c->root->version : 0;
}

long long hp_root_expires_at(const hp_client *c)
{
    return c && c->root ? (long long)c->root->expires_at : 0;
}

void hp__root_release(struct hp_client *c)
{
    cmn_root_free(c->root);
    c->root = NULL;
    CMN_SAFEFREE(c->root_doc);
}
