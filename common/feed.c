/*
 * feed.c - the change feed object (feed/index.json, see feed.h): parse,
 * render, merge an entry, and the writers' edit of it (the conditional
 * read-merge-write loop itself is cmn_storage_update's).
 *
 * The feed is a hint for edges, so the parser is strict (a document it does
 * not fully understand is "corrupt" and the edge falls back to a listing)
 * and bounded (entries, bytes). The merge rule keeps the entry with the
 * higher manifest sequence, so writers that finish their feed update out of
 * order never move an entry backwards.
 */
#include "common/compat.h"

#include <inttypes.h>
#include <jansson.h>

#include "common/crypto.h"
#include "common/feed.h"
#include "common/log.h"
#include "common/sorted.h"
#include "common/storage.h"

#define FEED_FORMAT "hotpatch-feed"
#define FEED_VERSION 1
#define FEED_WRITE_ATTEMPTS 16

void cmn_feed_init(struct cmn_feed *f)
{
    memset(f, 0, sizeof(*f));
}

void cmn_feed_release(struct cmn_feed *f)
{
    free(f->v);
    memset(f, 0, sizeof(*f));
}

/* [A-Za-z0-9._-]{1,64}, not starting or ending with '.', no "..": the storage name rule. */
static int id_ok(const char *s, size_t n)
{
    if (n == 0 || n > CMN_ID_MAX || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return 0;
        if (c == '.' && i + 1 < n && s[i + 1] == '.')
            return 0;
    }
    return 1;
}

int cmn_feed_key_split(const char *key, char app[CMN_ID_MAX + 1], char platform[CMN_ID_MAX + 1],
                       char channel[CMN_ID_MAX + 1])
{
    char *outs[3] = {app, platform, channel};
    const char *p = key;
    for (int i = 0; i < 3; i++) {
        const char *end = i < 2 ? strchr(p, '/') : p + strlen(p);
        if (!end)
            return 0;
        size_t n = (size_t)(end - p);
        if (!id_ok(p, n))
            return 0;
        memcpy(outs[i], p, n);
        outs[i][n] = '\0';
        p = end + 1;
    }
    return 1;
}

int cmn_feed_key_from_storage(const char *storage_key, char out[CMN_FEED_KEY_MAX])
{
    static const char pre[] = "manifests/", suf[] = ".json";
    size_t n = strlen(storage_key);
    if (n <= sizeof(pre) - 1 + sizeof(suf) - 1 || strncmp(storage_key, pre, sizeof(pre) - 1) != 0 ||
        strcmp(storage_key + n - (sizeof(suf) - 1), suf) != 0)
        return 0;
    size_t k = n - (sizeof(pre) - 1) - (sizeof(suf) - 1);
    if (k >= CMN_FEED_KEY_MAX)
        return 0;
    char tmp[CMN_FEED_KEY_MAX], a[CMN_ID_MAX + 1], p[CMN_ID_MAX + 1], c[CMN_ID_MAX + 1];
    memcpy(tmp, storage_key + sizeof(pre) - 1, k);
    tmp[k] = '\0';
    if (!cmn_feed_key_split(tmp, a, p, c))
        return 0;
    memcpy(out, tmp, k + 1);
    return 1;
}

static int etag_ok(const char *e, size_t n)
{
    if (n == 0 || n >= CMN_ETAG_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)e[i];
        if (c <= 0x20 || c >= 0x7F || c == '"')
            return 0;
    }
    return 1;
}

/* Index of key, or -(insertion point)-1. */
static long find_pos(const struct cmn_feed *f, const char *key)
{
    return cmn_sorted_find(f->v, f->n, sizeof(*f->v), offsetof(struct cmn_feed_entry, key), key);
}

const struct cmn_feed_entry *cmn_feed_find(const struct cmn_feed *f, const char *key)
{
    long i = find_pos(f, key);
    return i >= 0 ? &f->v[i] : NULL;
}

int cmn_feed_set(struct cmn_feed *f, const char *key, uint64_t sequence, const char *etag, uint64_t rev)
{
    char a[CMN_ID_MAX + 1], p[CMN_ID_MAX + 1], c[CMN_ID_MAX + 1];
    if (!key || strlen(key) >= CMN_FEED_KEY_MAX || !cmn_feed_key_split(key, a, p, c) || !etag ||
        !etag_ok(etag, strlen(etag)))
        return -1;
    long i = find_pos(f, key);
    struct cmn_feed_entry *e;
    if (i >= 0) {
        e = &f->v[i];
        if (e->sequence > sequence)
            return 0; /* a newer manifest is already recorded */
        if (e->sequence == sequence && strcmp(e->etag, etag) == 0)
            return 0;
    } else {
        if (f->n >= CMN_FEED_MAX_ENTRIES)
            return -1;
        size_t at = (size_t)(-i - 1);
        struct cmn_feed_entry *nv = cmn_sorted_open_slot(f->v, &f->n, &f->cap, sizeof(*f->v), at, 64);
        if (!nv)
            return -1;
        f->v = nv;
        e = &f->v[at];
        snprintf(e->key, sizeof(e->key), "%s", key);
    }
    e->sequence = sequence;
    e->rev = rev;
    snprintf(e->etag, sizeof(e->etag), "%s", etag);
    return 1;
}

static int get_u64(json_t *o, const char *name, uint64_t *out)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

enum cmn_err cmn_feed_parse(const char *doc, size_t len, struct cmn_feed *out, struct cmn_errbuf *eb)
{
    json_error_t je;
    struct cmn_feed f;
    enum cmn_err rc = CMN_OK;
    cmn_feed_init(&f);
    if (len > CMN_FEED_MAX_BYTES)
        return cmn_errf(eb, CMN_E_TOOBIG, "feed is larger than %zu bytes", CMN_FEED_MAX_BYTES);
    json_t *root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return cmn_errf(eb, CMN_E_PARSE, "feed: %s (line %d)", je.text, je.line);
    json_t *fmt = json_object_get(root, "format"), *ver = json_object_get(root, "version");
    json_t *arr = json_object_get(root, "manifests");
    uint64_t upd = 0;
    if (!json_is_object(root) || json_object_size(root) != 5 || !json_is_string(fmt) ||
        strcmp(json_string_value(fmt), FEED_FORMAT) != 0) {
        rc = cmn_errf(eb, CMN_E_PARSE, "feed: not a %s document", FEED_FORMAT);
        goto out;
    }
    if (!json_is_integer(ver) || json_integer_value(ver) != FEED_VERSION) {
        rc = cmn_errf(eb, CMN_E_PARSE, "feed: unsupported version");
        goto out;
    }
    if (!get_u64(root, "rev", &f.rev) || !get_u64(root, "updated_at", &upd) || upd > INT64_MAX || !json_is_array(arr)) {
        rc = cmn_errf(eb, CMN_E_PARSE, "feed: bad rev, updated_at or manifests");
        goto out;
    }
    f.updated_at = (int64_t)upd;
    size_t n = json_array_size(arr);
    if (n > CMN_FEED_MAX_ENTRIES) {
        rc = cmn_errf(eb, CMN_E_TOOBIG, "feed: more than %d entries", CMN_FEED_MAX_ENTRIES);
        goto out;
    }
    f.v = calloc(n ? n : 1, sizeof(*f.v));
    if (!f.v) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    f.cap = n ? n : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i), *k = json_object_get(e, "key"), *et = json_object_get(e, "etag");
        struct cmn_feed_entry *d = &f.v[i];
        char a[CMN_ID_MAX + 1], p[CMN_ID_MAX + 1], c[CMN_ID_MAX + 1];
        if (!json_is_object(e) || json_object_size(e) != 4 || !json_is_string(k) || !json_is_string(et) ||
            !get_u64(e, "sequence", &d->sequence) || !get_u64(e, "rev", &d->rev)) {
            rc = cmn_errf(eb, CMN_E_PARSE, "feed: entry %zu is malformed", i);
            goto out;
        }
        size_t kl = json_string_length(k), el = json_string_length(et);
        if (kl >= CMN_FEED_KEY_MAX || memchr(json_string_value(k), '\0', kl) ||
            !cmn_feed_key_split(json_string_value(k), a, p, c)) {
            rc = cmn_errf(eb, CMN_E_PARSE, "feed: entry %zu has a bad key", i);
            goto out;
        }
        if (!etag_ok(json_string_value(et), el) || memchr(json_string_value(et), '\0', el)) {
            rc = cmn_errf(eb, CMN_E_PARSE, "feed: entry %zu has a bad etag", i);
            goto out;
        }
        if (d->rev > f.rev) {
            rc = cmn_errf(eb, CMN_E_PARSE, "feed: entry %zu is newer than the feed", i);
            goto out;
        }
        memcpy(d->key, json_string_value(k), kl + 1);
        memcpy(d->etag, json_string_value(et), el + 1);
        if (i > 0 && strcmp(f.v[i - 1].key, d->key) >= 0) {
            rc = cmn_errf(eb, CMN_E_PARSE, "feed: entries are not sorted by key (or repeat) at %zu", i);
            goto out;
        }
        f.n++;
    }
out:
    json_decref(root);
    if (rc) {
        cmn_feed_release(&f);
        return rc;
    }
    cmn_feed_release(out);
    *out = f;
    return CMN_OK;
}

enum cmn_err cmn_feed_render(const struct cmn_feed *f, struct cmn_buf *out)
{
    /* Keys, etags and numbers need no JSON escaping (checked on every way in). */
    enum cmn_err rc = cmn_buf_addf(out,
                                   "{\"format\":\"" FEED_FORMAT "\",\"version\":%d,\"rev\":%" PRIu64
                                   ",\"updated_at\":%" PRId64 ",\"manifests\":[",
                                   FEED_VERSION, f->rev, f->updated_at);
    for (size_t i = 0; i < f->n && !rc; i++) {
        const struct cmn_feed_entry *e = &f->v[i];
        rc = cmn_buf_addf(out, "%s{\"key\":\"%s\",\"sequence\":%" PRIu64 ",\"etag\":\"%s\",\"rev\":%" PRIu64 "}",
                          i ? "," : "", e->key, e->sequence, e->etag, e->rev);
    }
    if (!rc)
        rc = cmn_buf_addstr(out, "]}\n");
    return rc;
}

struct rebuild_ctx {
    struct cmn_feed *f;
    int failed;
};

static int rebuild_one(void *ctx, const char *key, const char *etag, uint64_t size)
{
    struct rebuild_ctx *r = ctx;
    char fk[CMN_FEED_KEY_MAX];
    char full[CMN_STORAGE_KEY_MAX];
    (void)size;
    /* accept keys relative to the prefix as well as full ones */
    snprintf(full, sizeof(full), "%s%s", strncmp(key, "manifests/", 10) == 0 ? "" : "manifests/", key);
    if (!etag || !etag[0] || !cmn_feed_key_from_storage(full, fk))
        return 0;
    if (cmn_feed_set(r->f, fk, 0, etag, r->f->rev) < 0)
        r->failed = 1;
    return r->failed;
}

/* Replace *f by entries for every manifest a listing of manifests/ shows (sequence unknown: 0). */
static enum cmn_err feed_from_listing(struct cmn_storage *st, struct cmn_feed *f, struct cmn_errbuf *eb)
{
    struct rebuild_ctx rctx = {f, 0};
    struct cmn_errbuf e2 = {{0}};
    cmn_feed_release(f);
    enum cmn_err rc = cmn_storage_list(st, "manifests/", rebuild_one, &rctx, &e2);
    if (rc == CMN_E_NOTFOUND)
        rc = CMN_OK; /* an empty file:// tree may lack the folder */
    if (!rc && rctx.failed)
        rc = CMN_E_NOMEM;
    if (rc)
        return cmn_errf(eb, rc, "cannot list manifests: %s", cmn_errmsg(&e2, rc));
    return CMN_OK;
}

/* One record, applied to the freshly read feed on every attempt of cmn_storage_update. */
struct record_edit {
    struct cmn_storage *st;
    const char *key; /* app/platform/channel */
    uint64_t sequence;
    const char *etag;
    int64_t now;
};

static enum cmn_err record_edit(void *ctx, struct cmn_storage_edit *ed, struct cmn_errbuf *eb)
{
    struct record_edit *re = ctx;
    struct cmn_feed f;
    enum cmn_err rc;
    int rebuild = !ed->cur;
    cmn_feed_init(&f);
    if (ed->cur) {
        struct cmn_errbuf e2 = {{0}};
        if (cmn_feed_parse(ed->cur, ed->cur_len, &f, &e2) != CMN_OK) {
            cmn_warn("feed '%s' is unreadable (%s): rebuilding it from a listing", CMN_FEED_KEY, e2.msg);
            rebuild = 1;
        }
    }
    if (rebuild && (rc = feed_from_listing(re->st, &f, eb)))
        goto out;
    int set = cmn_feed_set(&f, re->key, re->sequence, re->etag, f.rev + 1);
    if (set < 0) {
        rc = cmn_errf(eb, CMN_E_INVAL, "feed: cannot record '%s' (etag '%s')", re->key, re->etag);
        goto out;
    }
    if (set == 0 && !rebuild) {
        ed->keep = 1; /* a newer write is already recorded: nothing to do */
        rc = CMN_OK;
        goto out;
    }
    f.rev++;
    f.updated_at = re->now;
    rc = cmn_feed_render(&f, ed->out);
out:
    cmn_feed_release(&f);
    return rc;
}

enum cmn_err cmn_feed_record(struct cmn_storage *st, const char *app, const char *platform, const char *channel,
                             uint64_t sequence, const char *etag, int64_t now, struct cmn_errbuf *eb)
{
    char key[CMN_FEED_KEY_MAX];
    if (snprintf(key, sizeof(key), "%s/%s/%s", app, platform, channel) >= (int)sizeof(key))
        return cmn_errf(eb, CMN_E_INVAL, "feed: key too long");
    struct record_edit re = {st, key, sequence, etag, now};
    struct cmn_storage_update_opts uo = {.what = "feed",
                                         .max_size = CMN_FEED_MAX_BYTES,
                                         .max_attempts = FEED_WRITE_ATTEMPTS,
                                         .content_type = "application/json",
                                         .cache_control = "no-cache"};
    return cmn_storage_update(st, CMN_FEED_KEY, record_edit, &re, &uo, NULL, eb);
}

/* ---- snapshot ---- */

#define SNAP_MAGIC "hotpatch-snapshot 1 "

/* A decimal number without sign or leading zeros, at most 19 digits, at p[0..n). */
static int parse_dec(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 19 || (n > 1 && p[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return 1;
}

/* The line at r->off (without its '\n'); 0 when there is no complete line. */
static int next_line(struct cmn_snapshot_reader *r, const char **line, size_t *n)
{
    if (r->off >= r->len)
        return 0;
    const char *s = r->p + r->off;
    size_t left = r->len - r->off;
    const char *nl = memchr(s, '\n', left < 1024 ? left : 1024);
    if (!nl)
        return 0;
    *line = s;
    *n = (size_t)(nl - s);
    r->off += *n + 1;
    return 1;
}

enum cmn_err cmn_snapshot_begin(struct cmn_snapshot_reader *r, const void *buf, size_t len, struct cmn_errbuf *eb)
{
    const char *line;
    size_t n;
    uint64_t t;
    memset(r, 0, sizeof(*r));
    r->p = buf;
    r->len = len;
    if (!buf || !next_line(r, &line, &n) || n <= sizeof(SNAP_MAGIC) - 1 ||
        memcmp(line, SNAP_MAGIC, sizeof(SNAP_MAGIC) - 1) != 0 ||
        !parse_dec(line + sizeof(SNAP_MAGIC) - 1, n - (sizeof(SNAP_MAGIC) - 1), &t) || t > INT64_MAX)
        return cmn_errf(eb, CMN_E_PARSE, "snapshot: not a version-1 snapshot");
    r->created_at = (int64_t)t;
    return CMN_OK;
}

enum cmn_err cmn_snapshot_next(struct cmn_snapshot_reader *r, struct cmn_snapshot_item *it, struct cmn_errbuf *eb)
{
    const char *line, *f[5];
    size_t n, fl[5], nf = 0;
    uint64_t count, len;
    char a[CMN_ID_MAX + 1], p[CMN_ID_MAX + 1], c[CMN_ID_MAX + 1];
    if (r->done)
        return CMN_E_NOTFOUND;
    if (!next_line(r, &line, &n))
        return cmn_errf(eb, CMN_E_PARSE, "snapshot: truncated after %" PRIu64 " envelopes", r->seen);
    /* fields separated by exactly one space */
    for (size_t i = 0, start = 0; i <= n; i++) {
        if (i == n || line[i] == ' ') {
            if (nf == 5 || i == start)
                return cmn_errf(eb, CMN_E_PARSE, "snapshot: malformed line after %" PRIu64 " envelopes", r->seen);
            f[nf] = line + start;
            fl[nf++] = i - start;
            start = i + 1;
        }
    }
    if (nf == 2 && fl[0] == 3 && memcmp(f[0], "end", 3) == 0) {
        if (!parse_dec(f[1], fl[1], &count) || count != r->seen)
            return cmn_errf(eb, CMN_E_PARSE, "snapshot: trailer count does not match %" PRIu64 " envelopes", r->seen);
        if (r->off != r->len)
            return cmn_errf(eb, CMN_E_PARSE, "snapshot: bytes after the trailer");
        r->done = 1;
        return CMN_E_NOTFOUND;
    }
    if (nf != 5 || fl[0] != 1 || f[0][0] != 'm' || fl[1] >= CMN_FEED_KEY_MAX ||
        !parse_dec(f[2], fl[2], &it->sequence) || !etag_ok(f[3], fl[3]) || !parse_dec(f[4], fl[4], &len))
        return cmn_errf(eb, CMN_E_PARSE, "snapshot: malformed entry line after %" PRIu64 " envelopes", r->seen);
    memcpy(it->key, f[1], fl[1]);
    it->key[fl[1]] = '\0';
    if (!cmn_feed_key_split(it->key, a, p, c))
        return cmn_errf(eb, CMN_E_PARSE, "snapshot: bad key after %" PRIu64 " envelopes", r->seen);
    memcpy(it->etag, f[3], fl[3]);
    it->etag[fl[3]] = '\0';
    if (len == 0 || len > CMN_MANIFEST_MAX_BYTES)
        return cmn_errf(eb, len ? CMN_E_TOOBIG : CMN_E_PARSE, "snapshot: envelope of '%s' has a bad length", it->key);
    if (len + 1 > r->len - r->off || r->p[r->off + len] != '\n')
        return cmn_errf(eb, CMN_E_PARSE, "snapshot: envelope of '%s' is truncated", it->key);
    it->env = r->p + r->off;
    it->env_len = (size_t)len;
    r->off += (size_t)len + 1;
    r->seen++;
    return CMN_OK;
}

enum cmn_err cmn_snapshot_add_header(struct cmn_buf *out, int64_t created_at)
{
    return cmn_buf_addf(out, SNAP_MAGIC "%" PRId64 "\n", created_at < 0 ? (int64_t)0 : created_at);
}

enum cmn_err cmn_snapshot_add(struct cmn_buf *out, const char *key, uint64_t sequence, const char *etag,
                              const void *env, size_t env_len)
{
    char a[CMN_ID_MAX + 1], p[CMN_ID_MAX + 1], c[CMN_ID_MAX + 1];
    if (strlen(key) >= CMN_FEED_KEY_MAX || !cmn_feed_key_split(key, a, p, c) || !etag_ok(etag, strlen(etag)) ||
        env_len == 0 || env_len > CMN_MANIFEST_MAX_BYTES)
        return CMN_E_INVAL;
    enum cmn_err rc = cmn_buf_addf(out, "m %s %" PRIu64 " %s %zu\n", key, sequence, etag, env_len);
    if (!rc)
        rc = cmn_buf_add(out, env, env_len);
    if (!rc)
        rc = cmn_buf_add(out, "\n", 1);
    return rc;
}

enum cmn_err cmn_snapshot_add_trailer(struct cmn_buf *out, uint64_t count)
{
    return cmn_buf_addf(out, "end %" PRIu64 "\n", count);
}

static int item_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cmn_snapshot_item *)a)->key, ((const struct cmn_snapshot_item *)b)->key);
}

#define SNAP_BATCH 256
#define SNAP_PARALLEL 16

/* Verify env as the manifest of `key`; its sequence on success. */
static int snap_verify(const struct cmn_keyring *kr, const char *key, const char *env, size_t len, int64_t now,
                       uint64_t *seq)
{
    char a[CMN_ID_MAX + 1], p[CMN_ID_MAX + 1], c[CMN_ID_MAX + 1];
    struct cmn_manifest *m = NULL;
    if (!cmn_feed_key_split(key, a, p, c))
        return 0;
    struct cmn_manifest_expect ex = {.app = a, .platform = p, .channel = c};
    if (cmn_manifest_open(env, len, kr, &ex, now, 0, &m, NULL) != CMN_OK)
        return 0;
    *seq = m->sequence;
    cmn_manifest_free(m);
    return 1;
}

enum cmn_err cmn_snapshot_write(struct cmn_storage *st, const struct cmn_keyring *keyring, int64_t now,
                                struct cmn_snapshot_stats *stats, struct cmn_errbuf *eb)
{
    struct cmn_feed f;
    struct cmn_buf fdoc, old, out;
    struct cmn_snapshot_item *olds = NULL;
    struct cmn_get_item *batch = NULL;
    size_t nold = 0, capold = 0, count = 0;
    struct cmn_errbuf e2 = {{0}};
    enum cmn_err rc;
    struct cmn_snapshot_stats sst;
    memset(&sst, 0, sizeof(sst));
    cmn_feed_init(&f);
    cmn_buf_init(&fdoc, CMN_FEED_MAX_BYTES);
    cmn_buf_init(&old, CMN_SNAPSHOT_MAX_BYTES);
    cmn_buf_init(&out, CMN_SNAPSHOT_MAX_BYTES);

    /* 1. which manifests: the feed, else a listing */
    rc = cmn_storage_get(st, CMN_FEED_KEY, NULL, &fdoc, NULL, &e2);
    if (rc == CMN_OK && cmn_feed_parse(fdoc.ptr ? fdoc.ptr : "", fdoc.len, &f, NULL) == CMN_OK) {
        /* use it */
    } else if (rc == CMN_OK || rc == CMN_E_NOTFOUND) {
        if ((rc = feed_from_listing(st, &f, eb)))
            goto out;
    } else {
        rc = cmn_errf(eb, rc, "cannot read '%s': %s", CMN_FEED_KEY, cmn_errmsg(&e2, rc));
        goto out;
    }
    cmn_buf_release(&fdoc);

    /* 2. the previous snapshot, to reuse unchanged envelopes (any problem: reuse nothing) */
    e2.msg[0] = '\0';
    if (cmn_storage_get(st, CMN_SNAPSHOT_KEY, NULL, &old, NULL, &e2) == CMN_OK) {
        struct cmn_snapshot_reader rd;
        struct cmn_snapshot_item it;
        enum cmn_err prc = cmn_snapshot_begin(&rd, old.ptr, old.len, NULL);
        while (!prc && (prc = cmn_snapshot_next(&rd, &it, NULL)) == CMN_OK) {
            if (nold == capold) {
                size_t nc = capold ? capold * 2 : 256;
                struct cmn_snapshot_item *nv = realloc(olds, nc * sizeof(*nv));
                if (!nv) {
                    rc = CMN_E_NOMEM;
                    goto out;
                }
                olds = nv;
                capold = nc;
            }
            olds[nold++] = it;
        }
        if (prc != CMN_E_NOTFOUND)
            nold = 0; /* damaged: fetch everything */
        else
            qsort(olds, nold, sizeof(*olds), item_cmp);
    }

    /* 3. write, fetching what the old snapshot does not have, in parallel batches */
    if ((rc = cmn_snapshot_add_header(&out, now)))
        goto out;
    batch = calloc(SNAP_BATCH, sizeof(*batch));
    if (!batch) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    char(*bkeys)[CMN_STORAGE_KEY_MAX] = calloc(SNAP_BATCH, CMN_STORAGE_KEY_MAX);
    size_t *bidx = calloc(SNAP_BATCH, sizeof(*bidx));
    if (!bkeys || !bidx) {
        free(bkeys);
        free(bidx);
        rc = CMN_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < f.n && !rc;) {
        size_t nb = 0;
        /* reuse until the batch of fetches is full */
        for (; i < f.n && nb < SNAP_BATCH && !rc; i++) {
            const struct cmn_feed_entry *e = &f.v[i];
            struct cmn_snapshot_item probe;
            snprintf(probe.key, sizeof(probe.key), "%s", e->key);
            const struct cmn_snapshot_item *o = nold ? bsearch(&probe, olds, nold, sizeof(*olds), item_cmp) : NULL;
            uint64_t seq;
            if (o && strcmp(o->etag, e->etag) == 0) {
                if (snap_verify(keyring, o->key, o->env, o->env_len, now, &seq)) {
                    rc = cmn_snapshot_add(&out, o->key, seq, o->etag, o->env, o->env_len);
                    count++;
                    sst.reused++;
                } else {
                    sst.skipped++;
                }
                continue;
            }
            snprintf(bkeys[nb], CMN_STORAGE_KEY_MAX, "manifests/%s.json", e->key);
            memset(&batch[nb], 0, sizeof(batch[nb]));
            batch[nb].key = bkeys[nb];
            batch[nb].max_size = CMN_MANIFEST_MAX_BYTES;
            cmn_buf_init(&batch[nb].out, CMN_MANIFEST_MAX_BYTES);
            bidx[nb] = i;
            nb++;
        }
        if (rc || nb == 0)
            break;
        rc = cmn_storage_get_many(st, batch, nb, SNAP_PARALLEL, eb);
        for (size_t k = 0; k < nb; k++) {
            struct cmn_get_item *g = &batch[k];
            const struct cmn_feed_entry *e = &f.v[bidx[k]];
            uint64_t seq;
            if (!rc && g->rc != CMN_OK && g->rc != CMN_E_NOTFOUND && g->rc != CMN_E_TOOBIG)
                rc = cmn_errf(eb, g->rc, "cannot read '%s': %s", g->key, cmn_errmsg(&g->eb, g->rc));
            if (!rc && g->rc == CMN_OK) {
                sst.fetched++;
                if (snap_verify(keyring, e->key, g->out.ptr, g->out.len, now, &seq)) {
                    rc = cmn_snapshot_add(&out, e->key, seq, g->etag[0] ? g->etag : e->etag, g->out.ptr, g->out.len);
                    count++;
                } else {
                    sst.skipped++;
                }
            } else if (!rc) {
                sst.skipped++;
            }
            cmn_buf_release(&g->out);
        }
    }
    free(bkeys);
    free(bidx);
    if (rc)
        goto out;
    if ((rc = cmn_snapshot_add_trailer(&out, count)))
        goto out;
    cmn_buf_release(&old);
    {
        struct cmn_put_opts po = {.content_type = "application/octet-stream", .cache_control = "no-cache"};
        e2.msg[0] = '\0';
        rc = cmn_storage_put(st, CMN_SNAPSHOT_KEY, out.ptr, out.len, &po, NULL, &e2);
        if (rc) {
            rc = cmn_errf(eb, rc, "cannot write '%s': %s", CMN_SNAPSHOT_KEY, cmn_errmsg(&e2, rc));
            goto out;
        }
    }
    sst.manifests = (unsigned)count;
    sst.bytes = out.len;
    if (stats)
        *stats = sst;
out:
    free(batch);
    free(olds);
    cmn_feed_release(&f);
    cmn_buf_release(&fdoc);
    cmn_buf_release(&old);
    cmn_buf_release(&out);
    return rc;
}
