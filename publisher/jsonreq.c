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

enum cmn_err pub_batch_parse_installs(const char *p, size_t n, size_t cap, size_t max_events, struct pub_batch *b,
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
