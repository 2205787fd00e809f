/*
 * storage_update.c - the one conditional read-modify-write loop over a
 * storage object (storage.h, cmn_storage_update): read with the ETag, let the
 * caller's callback edit the bytes, put them back If-Match that ETag (or
 * If-None-Match when absent), and on a lost race back off and start over.
 * The change feed, the embedded-bundle registry and the CLI's serverless
 * manifest edits all go through it, so the retry bound and the backoff are
 * the same everywhere.
 */
#include "common/compat.h"

#include <time.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/storage.h"

#define BACKOFF_MIN_MS 10u
#define BACKOFF_MAX_MS 500u

unsigned cmn_storage_backoff_ms(int attempt, unsigned min_ms, unsigned max_ms)
{
    uint32_t r;
    unsigned spread = 20u << (attempt < 0 ? 0 : attempt < 5 ? attempt : 5);
    cmn_random(&r, sizeof(r));
    unsigned ms = min_ms + r % (spread + 1);
    return ms > max_ms ? max_ms : ms;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static const struct cmn_storage_update_opts no_update_opts;

enum cmn_err cmn_storage_update(struct cmn_storage *st, const char *key, cmn_storage_edit_fn edit, void *ctx,
                                const struct cmn_storage_update_opts *o, struct cmn_storage_update_result *res,
                                struct cmn_errbuf *eb)
{
    struct cmn_buf cur, out;
    enum cmn_err rc = cmn_storage_key_check(key, eb);
    if (rc)
        return rc;
    if (!st || !edit)
        return cmn_errf(eb, CMN_E_INVAL, "update of '%s' without a store or an edit callback", key);
    if (!o)
        o = &no_update_opts;
    size_t cap = o->max_size ? o->max_size : CMN_STORAGE_UPDATE_MAX_BYTES;
    int max_attempts = o->max_attempts > 0 ? o->max_attempts : CMN_STORAGE_UPDATE_ATTEMPTS;
    unsigned bmin = o->backoff_min_ms ? o->backoff_min_ms : BACKOFF_MIN_MS;
    unsigned bmax = o->backoff_max_ms ? o->backoff_max_ms : BACKOFF_MAX_MS;
    /* "feed 'feed/index.json'" or just "'key'" in every message */
    const char *what = o->what ? o->what : "", *sp = o->what ? " " : "";
    cmn_buf_init(&cur, cap);
    cmn_buf_init(&out, cap);
    for (int attempt = 0; attempt < max_attempts; attempt++) {
        char etag[CMN_ETAG_MAX] = "", newetag[CMN_ETAG_MAX] = "";
        struct cmn_errbuf e2 = {{0}};
        struct cmn_get_opts go = {.max_size = cap};
        struct cmn_put_opts po = {.content_type = o->content_type, .cache_control = o->cache_control};
        cmn_buf_reset(&cur);
        cmn_buf_reset(&out);
        rc = cmn_storage_get(st, key, &go, &cur, etag, &e2);
        int absent = rc == CMN_E_NOTFOUND;
        if (rc && !absent) {
            rc = cmn_errf(eb, rc, "cannot read %s%s'%s': %s", what, sp, key, cmn_errmsg(&e2, rc));
            goto out;
        }
        const char *body = cur.ptr ? cur.ptr : ""; /* an empty object is present, not absent */
        struct cmn_storage_edit ed = {.key = key,
                                      .cur = absent ? NULL : body,
                                      .cur_len = absent ? 0 : cur.len,
                                      .etag = absent ? "" : etag,
                                      .attempt = attempt,
                                      .out = &out,
                                      .keep = 0};
        if ((rc = edit(ctx, &ed, eb)))
            goto out; /* the callback's own code and message; nothing was written */
        if (ed.keep) {
            if (res) {
                res->written = 0;
                res->attempts = attempt + 1;
                memcpy(res->etag, etag, sizeof(etag));
            }
            goto out;
        }
        if (absent)
            po.if_none_match = 1;
        else
            po.if_match = etag;
        rc = cmn_storage_put(st, key, out.ptr ? out.ptr : "", out.len, &po, newetag, &e2);
        if (rc == CMN_E_CONFLICT) {
            cmn_debug("%s%s'%s' changed under us (attempt %d): re-reading", what, sp, key, attempt + 1);
            if (attempt + 1 < max_attempts)
                sleep_ms(cmn_storage_backoff_ms(attempt, bmin, bmax));
            continue;
        }
        if (rc) {
            rc = cmn_errf(eb, rc, "cannot write %s%s'%s': %s", what, sp, key, cmn_errmsg(&e2, rc));
            goto out;
        }
        if (res) {
            res->written = 1;
            res->attempts = attempt + 1;
            memcpy(res->etag, newetag, sizeof(newetag));
        }
        goto out;
    }
    rc = cmn_errf(eb, CMN_E_CONFLICT, "%s%s'%s' kept changing under us (%d attempts)", what, sp, key, max_attempts);
out:
    cmn_buf_release(&cur);
    cmn_buf_release(&out);
    return rc;
}
