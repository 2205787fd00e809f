/*
 * jsonreq.c - decoding of the publisher's JSON request bodies: strict parse
 * (common/cjson: no duplicate keys, no floats, capped size and depth), typed
 * field getters that name the offending field, release metadata and
 * telemetry batches. Everything here is pure (no I/O) so that the fuzz target
 * tests/fuzz/pub_json.c can drive it directly.
 */
#include "common/compat.h"

#include "common/cjson.h"
#include "common/ident.h"
#include "common/semver.h"
#include "pub.h"

int pub_valid_id(const char *s)
{
    return cmn_id_valid(s);
}

enum cmn_err pub_json_body(const char *p, size_t n, size_t cap, json_t **out, struct cmn_errbuf *eb)
{
    if (n == 0)
        return cmn_errf(eb, CMN_E_PARSE, "empty request body (want a JSON object)");
    json_t *doc = NULL;
    enum cmn_err rc = cmn_cjson_parse(p, n, cap, &doc, eb);
    if (rc)
        return rc;
    if (!json_is_object(doc)) {
        json_decref(doc);
        return cmn_errf(eb, CMN_E_PARSE, "request body must be a JSON object");
    }
    *out = doc;
    return CMN_OK;
}

enum cmn_err pub_jstr(json_t *o, const char *key, int required, size_t maxlen, const char **out, struct cmn_errbuf *eb)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            return cmn_errf(eb, CMN_E_INVAL, "missing field '%s'", key);
        *out = NULL;
        return CMN_OK;
    }
    if (!json_is_string(v))
        return cmn_errf(eb, CMN_E_INVAL, "field '%s' must be a string", key);
    if (json_string_length(v) > maxlen)
        return cmn_errf(eb, CMN_E_INVAL, "field '%s' longer than %zu bytes", key, maxlen);
    if (required && json_string_length(v) == 0)
        return cmn_errf(eb, CMN_E_INVAL, "field '%s' must not be empty", key);
    *out = json_string_value(v);
    return CMN_OK;
}

enum cmn_err pub_jint(json_t *o, const char *key, int required, long long min, long long max, long long *out,
                      struct cmn_errbuf *eb)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            return cmn_errf(eb, CMN_E_INVAL, "missing field '%s'", key);
        return CMN_OK; /* *out keeps the caller's default */
    }
    if (!json_is_integer(v))
        return cmn_errf(eb, CMN_E_INVAL, "field '%s' must be an integer", key);
    long long x = json_integer_value(v);
    if (x < min || x > max)
        return cmn_errf(eb, CMN_E_INVAL, "field '%s' must be between %lld and %lld", key, min, max);
    *out = x;
    return CMN_OK;
}

enum cmn_err pub_jbool(json_t *o, const char *key, int required, int *out, struct cmn_errbuf *eb)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            return cmn_errf(eb, CMN_E_INVAL, "missing field '%s'", key);
        return CMN_OK;
    }
    if (!json_is_boolean(v))
        return cmn_errf(eb, CMN_E_INVAL, "field '%s' must be true or false", key);
    *out = json_is_true(v);
    return CMN_OK;
}

enum cmn_err pub_jkeys(json_t *o, const char *const *allowed, struct cmn_errbuf *eb)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        int found = 0;
        for (const char *const *a = allowed; *a; a++)
            if (!strcmp(*a, k)) {
                found = 1;
                break;
            }
        if (!found)
            return cmn_errf(eb, CMN_E_INVAL, "unknown field '%.64s'", k);
    }
    return CMN_OK;
}

static int is_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

void pub_relmeta_release(struct pub_relmeta *m)
{
    json_decref(m->doc);
    memset(m, 0, sizeof(*m));
}

enum cmn_err pub_relmeta_parse(const char *p, size_t n, struct pub_relmeta *m, struct cmn_errbuf *eb)
{
    static const char *const allowed[] = {
        "app",         "platform",      "channel", "version",          "target_binary",
        "mandatory",   "rollout_bp",    "notes",   "sha256",           "size",
        "bundle_sig",  "bundle_keyid",  "percent", "legacy_signature", "content_sha256",
        "content_sig", "codepush_hash", NULL};
    memset(m, 0, sizeof(*m));
    enum cmn_err rc = pub_json_body(p, n, 64u << 10, &m->doc, eb);
    if (rc)
        return rc;
    json_t *o = m->doc;
    m->rollout_bp = 10000;
    long long pct = -1;
    if ((rc = pub_jkeys(o, allowed, eb)) || (rc = pub_jstr(o, "app", 1, 64, &m->app, eb)) ||
        (rc = pub_jstr(o, "platform", 1, 64, &m->platform, eb)) ||
        (rc = pub_jstr(o, "channel", 1, 64, &m->channel, eb)) ||
        (rc = pub_jstr(o, "version", 1, 64, &m->version, eb)) ||
        (rc = pub_jstr(o, "target_binary", 0, 128, &m->target_binary, eb)) ||
        (rc = pub_jbool(o, "mandatory", 0, &m->mandatory, eb)) ||
        (rc = pub_jint(o, "rollout_bp", 0, 0, 10000, &m->rollout_bp, eb)) ||
        (rc = pub_jint(o, "percent", 0, 0, 100, &pct, eb)) || (rc = pub_jstr(o, "notes", 0, 4096, &m->notes, eb)) ||
        (rc = pub_jstr(o, "sha256", 1, 64, &m->sha256, eb)) ||
        (rc = pub_jint(o, "size", 1, 1, CMN_CJSON_MAX_INT, &m->size, eb)) ||
        (rc = pub_jstr(o, "bundle_sig", 1, 128, &m->bundle_sig, eb)) ||
        (rc = pub_jstr(o, "bundle_keyid", 1, 16, &m->bundle_keyid, eb)) ||
        (rc = pub_jstr(o, "legacy_signature", 0, 128, &m->legacy_signature, eb)) ||
        (rc = pub_jstr(o, "content_sha256", 0, 64, &m->content_sha256, eb)) ||
        (rc = pub_jstr(o, "content_sig", 0, 128, &m->content_sig, eb)) ||
        (rc = pub_jstr(o, "codepush_hash", 0, 64, &m->codepush_hash, eb)))
        goto fail;
    if (pct >= 0)
        m->rollout_bp = pct * 100;
    if (!pub_valid_id(m->app) || !pub_valid_id(m->platform) || !pub_valid_id(m->channel)) {
        rc = cmn_errf(eb, CMN_E_INVAL, "app, platform and channel must match [A-Za-z0-9._-]{1,64}");
        goto fail;
    }
    if (!pub_valid_id(m->version)) {
        rc = cmn_errf(eb, CMN_E_INVAL, "version must match [A-Za-z0-9._-]{1,64}");
        goto fail;
    }
    if (!m->target_binary)
        m->target_binary = "*";
    struct cmn_semver_range range;
    if (cmn_semver_range_parse(m->target_binary, &range)) {
        rc = cmn_errf(eb, CMN_E_INVAL, "target_binary '%.64s' is not a version range", m->target_binary);
        goto fail;
    }
    if (!is_hex(m->sha256, 64)) {
        rc = cmn_errf(eb, CMN_E_INVAL, "sha256 must be 64 lower-case hex characters");
        goto fail;
    }
    if (!is_hex(m->bundle_keyid, 16)) {
        rc = cmn_errf(eb, CMN_E_INVAL, "bundle_keyid must be 16 lower-case hex characters");
        goto fail;
    }
    if (m->codepush_hash && !is_hex(m->codepush_hash, 64)) {
        rc = cmn_errf(eb, CMN_E_INVAL, "codepush_hash must be 64 lower-case hex characters");
        goto fail;
    }
    /* SPEC.md section 14: together or not at all; the upload handler checks both against the zip */
    if (!m->content_sha256 != !m->content_sig) {
        rc = cmn_errf(eb, CMN_E_INVAL, "content_sha256 and content_sig come together");
        goto fail;
    }
    if (m->content_sha256 && !is_hex(m->content_sha256, 64)) {
        rc = cmn_errf(eb, CMN_E_INVAL, "content_sha256 must be 64 lower-case hex characters");
        goto fail;
    }
    return CMN_OK;
fail:
    pub_relmeta_release(m);
    return rc;
}

enum cmn_err pub_seed_meta_parse(const char *p, size_t n, struct pub_seed_meta *m, struct cmn_errbuf *eb)
{
    static const char *const allowed[] = {
        "version",       "platform", "channel",    "hash", "mandatory", "rollout_percentage",
        "target_binary", "notes",    "bundle_sig", "app",  NULL};
    memset(m, 0, sizeof(*m));
    m->rollout_pct = 100;
    enum cmn_err rc = pub_json_body(p, n, 64u << 10, &m->doc, eb);
    if (rc)
        return rc;
    json_t *o = m->doc;
    if ((rc = pub_jkeys(o, allowed, eb)) || (rc = pub_jstr(o, "version", 1, 64, &m->version, eb)) ||
        (rc = pub_jstr(o, "platform", 1, 64, &m->platform, eb)) ||
        (rc = pub_jstr(o, "channel", 0, 64, &m->channel, eb)) || (rc = pub_jstr(o, "hash", 1, 64, &m->hash, eb)) ||
        (rc = pub_jbool(o, "mandatory", 0, &m->mandatory, eb)) ||
        (rc = pub_jint(o, "rollout_percentage", 0, 0, 100, &m->rollout_pct, eb)) ||
        (rc = pub_jstr(o, "target_binary", 0, 128, &m->target_binary, eb)) ||
        (rc = pub_jstr(o, "notes", 0, 4096, &m->notes, eb)) ||
        (rc = pub_jstr(o, "bundle_sig", 0, 128, &m->bundle_sig, eb)) || (rc = pub_jstr(o, "app", 0, 64, &m->app, eb)))
        goto fail;
    if (m->app && !pub_valid_id(m->app)) {
        rc = cmn_errf(eb, CMN_E_INVAL, "app must match [A-Za-z0-9._-]{1,64}");
        goto fail;
    }
    return CMN_OK;
fail:
    pub_seed_meta_release(m);
    return rc;
}

void pub_seed_meta_release(struct pub_seed_meta *m)
{
    json_decref(m->doc);
    memset(m, 0, sizeof(*m));
}

int pub_seed_sig_parse(const char *p, size_t n, char out[CMN_SIG_B64])
{
    uint8_t raw[CMN_SIG_BYTES + 1];
    size_t k = 0;
    if (n == CMN_SIG_BYTES) { /* raw bytes: base64 text of a signature is 88 characters, never 64 */
        memcpy(raw, p, CMN_SIG_BYTES);
        cmn_base64_encode(raw, CMN_SIG_BYTES, out);
        return 0;
    }
    while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    if (n >= CMN_SIG_B64 || cmn_base64_decode(p, n, raw, sizeof(raw), &k) != CMN_OK || k != CMN_SIG_BYTES)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

void pub_batch_release(struct pub_batch *b)
{
    json_decref(b->doc);
    free(b->arena);
    free(b->ev);
    free(b->dev);
    memset(b, 0, sizeof(*b));
}

static json_t *batch_array(const char *p, size_t n, size_t cap, size_t max_events, const char *field,
                           struct pub_batch *b, struct cmn_errbuf *eb, enum cmn_err *rc)
{
    memset(b, 0, sizeof(*b));
    *rc = pub_json_body(p, n, cap, &b->doc, eb);
    if (*rc)
        return NULL;
    json_t *arr = json_object_get(b->doc, field);
    if (!json_is_array(arr)) {
        *rc = cmn_errf(eb, CMN_E_INVAL, "field '%s' must be an array", field);
        return NULL;
    }
    if (json_array_size(arr) > max_events) {
        *rc = cmn_errf(eb, CMN_E_TOOBIG, "batch of %zu entries exceeds the limit of %zu", json_array_size(arr),
                       max_events);
        return NULL;
    }
    return arr;
}

/* Optional string field of an event: NULL when absent; -1 when present with a bad type / size. */
static int ev_str(json_t *o, const char *key, size_t maxlen, const char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > maxlen)
        return -1;
    *out = json_string_value(v);
    return 0;
}

enum cmn_err pub_batch_parse_installs_json(const char *p, size_t n, size_t cap, size_t max_events, struct pub_batch *b,
                                           struct cmn_errbuf *eb)
{
    enum cmn_err rc;
    json_t *arr = batch_array(p, n, cap, max_events, "events", b, eb, &rc);
    if (!arr) {
        pub_batch_release(b);
        return rc;
    }
    size_t cnt = json_array_size(arr);
    b->ev = calloc(cnt ? cnt : 1, sizeof(*b->ev));
    if (!b->ev) {
        pub_batch_release(b);
        return CMN_E_NOMEM;
    }
    for (size_t i = 0; i < cnt; i++) {
        json_t *o = json_array_get(arr, i);
        struct pub_install_ev e = {0};
        e.progress = -1;
        if (!json_is_object(o))
            goto bad;
        if (ev_str(o, "event_id", 128, &e.event_id) || ev_str(o, "device_id", 128, &e.device_id) ||
            ev_str(o, "app", 64, &e.app) || ev_str(o, "platform", 64, &e.platform) ||
            ev_str(o, "channel", 64, &e.channel) || ev_str(o, "release_id", 64, &e.release_id) ||
            ev_str(o, "status", 32, &e.status) || ev_str(o, "binary_version", 64, &e.binary_version))
            goto bad;
        if (!e.device_id || !*e.device_id || !pub_valid_id(e.app) || !pub_valid_id(e.release_id) || !e.status)
            goto bad;
        if (strcmp(e.status, "downloading") && strcmp(e.status, "applied") && strcmp(e.status, "failed") &&
            strcmp(e.status, "rolled_back"))
            goto bad;
        json_t *v = json_object_get(o, "progress");
        if (v && !json_is_null(v)) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100)
                goto bad;
            e.progress = json_integer_value(v);
        }
        v = json_object_get(o, "ts");
        if (v && !json_is_null(v)) {
            /* seconds since the epoch, 2000-01-01 .. 2100-01-01 */
            if (!json_is_integer(v) || json_integer_value(v) < 946684800LL || json_integer_value(v) > 4102444800LL)
                goto bad;
            e.ts = json_integer_value(v);
        }
        /* any string is kept: a malformed ticket only makes the report unticketed (telemetry.c) */
        v = json_object_get(o, "ticket");
        if (json_is_string(v)) {
            e.ticket = json_string_value(v);
            e.ticket_len = json_string_length(v);
        }
        b->ev[b->n++] = e;
        continue;
    bad:
        b->rejected++;
    }
    return CMN_OK;
}

/*
 * The fast path of installation batches (pub.h): a parse of the common shape
 * straight into the events, without jansson's allocation per value (a
 * profile of the bench put ~45% of the publisher's CPU in jansson's parse and
 * its malloc/free). It only ever accepts what the strict jansson path
 * accepts, with the same events: anything outside the subset (escapes,
 * non-ASCII, negative or large or non-integer numbers, nested values, other
 * top-level keys, duplicate keys, too many events) declines, and the jansson
 * path decides. tests/unit/publisher/jsonreq_test.c and tests/fuzz/pub_evbatch.c
 * compare the two on the same inputs.
 */
enum fv_type { FV_NULL, FV_STR, FV_INT, FV_BOOL };
struct fv {
    const char *key;
    enum fv_type type;
    const char *s;
    size_t len;
    long long i;
};
#define FP_MAX_FIELDS 16

struct fp {
    char *s; /* the body's copy, NUL-terminated: the NUL stops every scan */
    size_t i;
};

static void fp_ws(struct fp *f)
{
    while (f->s[f->i] == ' ' || f->s[f->i] == '\t' || f->s[f->i] == '\n' || f->s[f->i] == '\r')
        f->i++;
}

/* A string of printable ASCII without escapes, NUL-terminated in place; NULL to decline. */
static const char *fp_str(struct fp *f, size_t *len)
{
    if (f->s[f->i] != '"')
        return NULL;
    size_t st = ++f->i;
    for (;;) {
        unsigned char c = (unsigned char)f->s[f->i];
        if (c == '"')
            break;
        if (c < 0x20 || c >= 0x80 || c == '\\')
            return NULL; /* also the terminating NUL: an unterminated string */
        f->i++;
    }
    f->s[f->i] = '\0';
    *len = f->i - st;
    f->i++;
    return f->s + st;
}

static int fp_lit(struct fp *f, const char *w)
{
    size_t k = strlen(w);
    if (strncmp(f->s + f->i, w, k))
        return -1;
    f->i += k;
    return 0;
}

static int fp_val(struct fp *f, struct fv *v)
{
    char c = f->s[f->i];
    if (c == '"') {
        v->type = FV_STR;
        return (v->s = fp_str(f, &v->len)) ? 0 : -1;
    }
    if (c >= '0' && c <= '9') {
        /* at most 15 digits: below 2^53-1, cjson's bound; no leading zero, fraction or exponent */
        if (c == '0' && f->s[f->i + 1] >= '0' && f->s[f->i + 1] <= '9')
            return -1;
        long long x = 0;
        int d = 0;
        for (; f->s[f->i] >= '0' && f->s[f->i] <= '9'; f->i++, d++) {
            if (d == 15)
                return -1;
            x = x * 10 + (f->s[f->i] - '0');
        }
        c = f->s[f->i];
        if (c == '.' || c == 'e' || c == 'E')
            return -1;
        v->type = FV_INT;
        v->i = x;
        return 0;
    }
    if (c == 'n') {
        v->type = FV_NULL;
        return fp_lit(f, "null");
    }
    v->type = FV_BOOL;
    return fp_lit(f, c == 't' ? "true" : "false");
}

static const struct fv *fv_get(const struct fv *fv, int nf, const char *key)
{
    for (int k = 0; k < nf; k++)
        if (!strcmp(fv[k].key, key))
            return &fv[k];
    return NULL;
}

/* ev_str on the fast path's fields */
static int fv_str(const struct fv *fv, int nf, const char *key, size_t maxlen, const char **out)
{
    const struct fv *v = fv_get(fv, nf, key);
    *out = NULL;
    if (!v || v->type == FV_NULL)
        return 0;
    if (v->type != FV_STR || v->len > maxlen)
        return -1;
    *out = v->s;
    return 0;
}

/* One event object at f->i: 1 = a valid event in *e, 0 = a malformed entry (counted), -1 = decline. */
static int fp_event(struct fp *f, struct pub_install_ev *e)
{
    struct fv fv[FP_MAX_FIELDS];
    int nf = 0;
    if (f->s[f->i] != '{')
        return -1;
    f->i++;
    fp_ws(f);
    if (f->s[f->i] == '}') {
        f->i++;
    } else {
        for (;;) {
            if (nf == FP_MAX_FIELDS)
                return -1;
            size_t len;
            struct fv *v = &fv[nf];
            if (!(v->key = fp_str(f, &len)))
                return -1;
            for (int k = 0; k < nf; k++)
                if (!strcmp(fv[k].key, v->key))
                    return -1; /* a duplicate key: the jansson path rejects the document */
            fp_ws(f);
            if (f->s[f->i++] != ':')
                return -1;
            fp_ws(f);
            if (fp_val(f, v))
                return -1;
            nf++;
            fp_ws(f);
            char c = f->s[f->i++];
            if (c == '}')
                break;
            if (c != ',')
                return -1;
            fp_ws(f);
        }
    }
    /* the checks of pub_batch_parse_installs_json, in its order */
    memset(e, 0, sizeof(*e));
    e->progress = -1;
    if (fv_str(fv, nf, "event_id", 128, &e->event_id) || fv_str(fv, nf, "device_id", 128, &e->device_id) ||
        fv_str(fv, nf, "app", 64, &e->app) || fv_str(fv, nf, "platform", 64, &e->platform) ||
        fv_str(fv, nf, "channel", 64, &e->channel) || fv_str(fv, nf, "release_id", 64, &e->release_id) ||
        fv_str(fv, nf, "status", 32, &e->status) || fv_str(fv, nf, "binary_version", 64, &e->binary_version))
        return 0;
    if (!e->device_id || !*e->device_id || !pub_valid_id(e->app) || !pub_valid_id(e->release_id) || !e->status)
        return 0;
    if (strcmp(e->status, "downloading") && strcmp(e->status, "applied") && strcmp(e->status, "failed") &&
        strcmp(e->status, "rolled_back"))
        return 0;
    const struct fv *v = fv_get(fv, nf, "progress");
    if (v && v->type != FV_NULL) {
        if (v->type != FV_INT || v->i > 100) /* never negative here */
            return 0;
        e->progress = v->i;
    }
    v = fv_get(fv, nf, "ts");
    if (v && v->type != FV_NULL) {
        if (v->type != FV_INT || v->i < 946684800LL || v->i > 4102444800LL)
            return 0;
        e->ts = v->i;
    }
    v = fv_get(fv, nf, "ticket");
    if (v && v->type == FV_STR) {
        e->ticket = v->s;
        e->ticket_len = v->len;
    }
    return 1;
}

int pub_batch_fast_installs(const char *p, size_t n, size_t cap, size_t max_events, struct pub_batch *b)
{
    memset(b, 0, sizeof(*b));
    if (!p || n == 0 || n > cap || memchr(p, '\0', n))
        return -1;
    struct fp f = {malloc(n + 1), 0};
    if (!f.s)
        return -1;
    memcpy(f.s, p, n);
    f.s[n] = '\0';
    b->arena = f.s;
    size_t evcap = 0;
    size_t len;
    const char *k;
    fp_ws(&f);
    if (f.s[f.i++] != '{')
        goto decline;
    fp_ws(&f);
    if (!(k = fp_str(&f, &len)) || strcmp(k, "events"))
        goto decline;
    fp_ws(&f);
    if (f.s[f.i++] != ':')
        goto decline;
    fp_ws(&f);
    if (f.s[f.i++] != '[')
        goto decline;
    fp_ws(&f);
    size_t cnt = 0;
    if (f.s[f.i] == ']') {
        f.i++;
    } else {
        for (;;) {
            if (++cnt > max_events)
                goto decline; /* the jansson path answers CMN_E_TOOBIG */
            if (b->n == evcap) {
                size_t nc = evcap ? evcap * 2 : 64;
                struct pub_install_ev *ne = realloc(b->ev, nc * sizeof(*ne));
                if (!ne)
                    goto decline;
                b->ev = ne;
                evcap = nc;
            }
            int r = fp_event(&f, &b->ev[b->n]);
            if (r < 0)
                goto decline;
            if (r)
                b->n++;
            else
                b->rejected++;
            fp_ws(&f);
            char c = f.s[f.i++];
            if (c == ']')
                break;
            if (c != ',')
                goto decline;
            fp_ws(&f);
        }
    }
    fp_ws(&f);
    if (f.s[f.i++] != '}')
        goto decline;
    fp_ws(&f);
    if (f.i != n)
        goto decline; /* trailing bytes */
    if (!b->ev && !(b->ev = calloc(1, sizeof(*b->ev))))
        goto decline; /* as the jansson path: ev is never NULL */
    return 0;
decline:
    pub_batch_release(b);
    return -1;
}

enum cmn_err pub_batch_parse_installs(const char *p, size_t n, size_t cap, size_t max_events, struct pub_batch *b,
                                      struct cmn_errbuf *eb)
{
    if (pub_batch_fast_installs(p, n, cap, max_events, b) == 0)
        return CMN_OK;
    return pub_batch_parse_installs_json(p, n, cap, max_events, b, eb);
}

enum cmn_err pub_batch_parse_devices(const char *p, size_t n, size_t cap, size_t max_events, struct pub_batch *b,
                                     struct cmn_errbuf *eb)
{
    enum cmn_err rc;
    json_t *arr = batch_array(p, n, cap, max_events, "devices", b, eb, &rc);
    if (!arr) {
        pub_batch_release(b);
        return rc;
    }
    size_t cnt = json_array_size(arr);
    b->dev = calloc(cnt ? cnt : 1, sizeof(*b->dev));
    if (!b->dev) {
        pub_batch_release(b);
        return CMN_E_NOMEM;
    }
    for (size_t i = 0; i < cnt; i++) {
        json_t *o = json_array_get(arr, i);
        struct pub_device_ev d = {0};
        if (!json_is_object(o) || ev_str(o, "device_id", 128, &d.device_id) || ev_str(o, "app", 64, &d.app) ||
            ev_str(o, "platform", 64, &d.platform) || ev_str(o, "binary_version", 64, &d.binary_version) ||
            ev_str(o, "os", 128, &d.os) || !d.device_id || !*d.device_id || !pub_valid_id(d.app)) {
            b->rejected++;
            continue;
        }
        d.order = i;
        b->dev[b->n++] = d;
    }
    return CMN_OK;
}
