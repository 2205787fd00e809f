/*
 * root.c - the app's signed root of trust (root.h, manifests/SPEC.md section
 * 15): strict envelope and payload parsing, threshold signature counting over
 * the exact payload bytes, the N -> N+1 acceptance rule, the forward walk,
 * sealing and co-signing for the CLI, and manifest opening in terms of a root
 * (so a manifest signed by a revoked key is refused with that key named).
 *
 * Order matters in cmn_root_accept: the trusted root's threshold is checked
 * over the exact payload bytes before those bytes are parsed at all, so an
 * unauthorised document never reaches the JSON parser beyond its envelope.
 * The same strictness as manifests applies: unknown members are errors.
 */
#include "common/compat.h"

#include "common/cjson.h"
#include "common/root.h"

/* ---- envelope ---- */

struct env {
    json_t *j;
    const char *payload; /* borrowed from j */
    size_t plen;
    size_t nsig;
    char keyid[CMN_ROOT_MAX_SIGNATURES][CMN_KEYID_HEX];
    uint8_t sig[CMN_ROOT_MAX_SIGNATURES][CMN_SIG_BYTES];
};

static int lowerhex16(const char *s, size_t n)
{
    if (n != CMN_KEYID_HEX - 1)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Exactly these members. */
static enum cmn_err only_fields(const json_t *o, const char *const *req, size_t nreq, const char *where,
                                struct cmn_errbuf *eb)
{
    const char *k;
    json_t *v;
    if (!json_is_object(o))
        return cmn_errf(eb, CMN_E_PARSE, "%s must be a json object", where);
    json_object_foreach((json_t *)o, k, v)
    {
        size_t i = 0;
        while (i < nreq && strcmp(k, req[i]) != 0)
            i++;
        if (i == nreq)
            return cmn_errf(eb, CMN_E_PARSE, "%s: unknown field '%.64s'", where, k);
    }
    for (size_t i = 0; i < nreq; i++)
        if (!json_object_get(o, req[i]))
            return cmn_errf(eb, CMN_E_PARSE, "%s: missing field '%s'", where, req[i]);
    return CMN_OK;
}

/* Parse an envelope of `ptype` (0 signatures allowed here; the callers count them). */
static enum cmn_err env_parse(const void *doc, size_t len, const char *ptype, size_t max, struct env *e,
                              struct cmn_errbuf *eb)
{
    static const char *const fields[] = {"payload", "payload_type", "signatures"};
    enum cmn_err rc;
    memset(e, 0, sizeof(*e));
    if (!doc && len)
        return cmn_errf(eb, CMN_E_INVAL, "no document");
    if (len > max)
        return cmn_errf(eb, CMN_E_TOOBIG, "document of %zu bytes exceeds the limit of %zu", len, max);
    if ((rc = cmn_cjson_parse(doc ? doc : "", len, max, &e->j, eb)))
        return rc;
    if ((rc = only_fields(e->j, fields, 3, "envelope", eb)))
        return rc;
    const json_t *pt = json_object_get(e->j, "payload_type");
    if (!json_is_string(pt) || strcmp(json_string_value(pt), ptype) != 0)
        return cmn_errf(eb, CMN_E_PARSE, "envelope: 'payload_type' must be '%s'", ptype);
    const json_t *pl = json_object_get(e->j, "payload");
    if (!json_is_string(pl))
        return cmn_errf(eb, CMN_E_PARSE, "envelope: 'payload' must be a string");
    e->payload = json_string_value(pl);
    e->plen = json_string_length(pl);
    const json_t *sigs = json_object_get(e->j, "signatures");
    if (!json_is_array(sigs) || json_array_size(sigs) > CMN_ROOT_MAX_SIGNATURES)
        return cmn_errf(eb, CMN_E_PARSE, "envelope: 'signatures' must be an array of at most %d entries",
                        CMN_ROOT_MAX_SIGNATURES);
    for (size_t i = 0; i < json_array_size(sigs); i++) {
        static const char *const sf[] = {"keyid", "sig"};
        const json_t *s = json_array_get(sigs, i);
        char where[32];
        snprintf(where, sizeof(where), "signature %zu", i);
        if ((rc = only_fields(s, sf, 2, where, eb)))
            return rc;
        const json_t *k = json_object_get(s, "keyid"), *g = json_object_get(s, "sig");
        if (!json_is_string(k) || !lowerhex16(json_string_value(k), json_string_length(k)))
            return cmn_errf(eb, CMN_E_PARSE, "%s: 'keyid' must be 16 lower-case hex characters", where);
        uint8_t tmp[CMN_SIG_BYTES + 1];
        size_t n = 0;
        if (!json_is_string(g) ||
            cmn_base64_decode(json_string_value(g), json_string_length(g), tmp, sizeof(tmp), &n) != CMN_OK ||
            n != CMN_SIG_BYTES)
            return cmn_errf(eb, CMN_E_PARSE, "%s: 'sig' must be base64 of a 64-byte ed25519 signature", where);
        memcpy(e->keyid[i], json_string_value(k), CMN_KEYID_HEX);
        memcpy(e->sig[i], tmp, CMN_SIG_BYTES);
        for (size_t j = 0; j < i; j++)
            if (strcmp(e->keyid[j], e->keyid[i]) == 0)
                return cmn_errf(eb, CMN_E_PARSE, "envelope: key id %s signs twice", e->keyid[i]);
        e->nsig = i + 1;
    }
    return CMN_OK;
}

static void env_release(struct env *e)
{
    json_decref(e->j);
    e->j = NULL;
}

/* Distinct keys of keys[0..n) with a verifying signature over CMN_SIGCTX_ROOT || payload. */
static unsigned count_valid(const struct env *e, const struct cmn_key *keys, size_t n)
{
    unsigned c = 0;
    for (size_t k = 0; k < n; k++) {
        struct cmn_key id;
        memset(&id, 0, sizeof(id));
        memcpy(id.pk, keys[k].pk, CMN_PK_BYTES);
        cmn_key_compute_id(&id); /* derived, never taken from the struct */
        for (size_t i = 0; i < e->nsig; i++) {
            if (strcmp(id.keyid, e->keyid[i]) != 0)
                continue;
            if (cmn_verify(&id, CMN_SIGCTX_ROOT, e->payload, e->plen, e->sig[i]) == CMN_OK)
                c++;
            break;
        }
    }
    return c;
}

/* ---- model ---- */

void cmn_root_free(struct cmn_root *r)
{
    if (!r)
        return;
    free(r->env);
    cmn_wipe(r, sizeof(*r));
    free(r);
}

struct cmn_root *cmn_root_new(const char *app)
{
    struct cmn_root *r = calloc(1, sizeof(*r));
    if (r && app)
        snprintf(r->app, sizeof(r->app), "%s", app);
    return r;
}

static int key_cmp(const void *a, const void *b)
{
    char x[CMN_PK_B64], y[CMN_PK_B64];
    cmn_key_public_b64(a, x);
    cmn_key_public_b64(b, y);
    return strcmp(x, y);
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

void cmn_root_sort(struct cmn_root *r)
{
    qsort(r->root_keys, r->n_root_keys, sizeof(r->root_keys[0]), key_cmp);
    qsort(r->manifest_keys, r->n_manifest_keys, sizeof(r->manifest_keys[0]), key_cmp);
    qsort(r->release_keys, r->n_release_keys, sizeof(r->release_keys[0]), key_cmp);
    qsort(r->revoked, r->n_revoked, sizeof(r->revoked[0]), id_cmp);
}

static int in_keys(const struct cmn_key *keys, size_t n, const char *keyid)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].keyid, keyid) == 0)
            return 1;
    return 0;
}

static enum cmn_err check_keys(const struct cmn_key *keys, size_t n, size_t lo, const char *name, struct cmn_errbuf *eb)
{
    if (n < lo || n > CMN_ROOT_MAX_KEYS)
        return cmn_errf(eb, CMN_E_PARSE, "field '%s' must list %zu to %d public keys", name, lo, CMN_ROOT_MAX_KEYS);
    for (size_t i = 1; i < n; i++)
        if (key_cmp(&keys[i - 1], &keys[i]) >= 0)
            return cmn_errf(eb, CMN_E_PARSE, "field '%s' must be sorted and unique (at %zu)", name, i);
    return CMN_OK;
}

enum cmn_err cmn_root_validate(const struct cmn_root *r, struct cmn_errbuf *eb)
{
    enum cmn_err rc;
    if (!r)
        return cmn_errf(eb, CMN_E_INVAL, "no root");
    if (!cmn_id_valid(r->app))
        return cmn_errf(eb, CMN_E_PARSE, "field 'app' must be 1-%d characters of [A-Za-z0-9._-], not starting with '.'",
                        CMN_ID_MAX);
    if (r->version < 1 || r->version > (uint64_t)CMN_CJSON_MAX_INT)
        return cmn_errf(eb, CMN_E_PARSE, "field 'version' must be between 1 and 2^53-1");
    if (r->issued_at < 0 || r->issued_at > CMN_CJSON_MAX_INT)
        return cmn_errf(eb, CMN_E_PARSE, "field 'issued_at' must be unix seconds >= 0");
    if (r->expires_at <= r->issued_at || r->expires_at > CMN_CJSON_MAX_INT)
        return cmn_errf(eb, CMN_E_PARSE, "field 'expires_at' must be later than 'issued_at'");
    if ((rc = check_keys(r->root_keys, r->n_root_keys, 1, "root_keys", eb)) ||
        (rc = check_keys(r->manifest_keys, r->n_manifest_keys, 1, "manifest_keys", eb)) ||
        (rc = check_keys(r->release_keys, r->n_release_keys, 0, "release_keys", eb)))
        return rc;
    if (r->threshold < 1 || r->threshold > r->n_root_keys)
        return cmn_errf(eb, CMN_E_PARSE, "field 'threshold' must be between 1 and the number of root keys (%zu)",
                        r->n_root_keys);
    /* The root keys stay offline: one that also signs manifests online would defeat the point. */
    for (size_t i = 0; i < r->n_manifest_keys; i++)
        if (in_keys(r->root_keys, r->n_root_keys, r->manifest_keys[i].keyid))
            return cmn_errf(eb, CMN_E_PARSE, "key %s is both a root key and a manifest key", r->manifest_keys[i].keyid);
    if (r->n_revoked > CMN_ROOT_MAX_REVOKED)
        return cmn_errf(eb, CMN_E_TOOBIG, "more than %d revoked keys", CMN_ROOT_MAX_REVOKED);
    for (size_t i = 0; i < r->n_revoked; i++) {
        const char *k = r->revoked[i];
        if (!lowerhex16(k, strnlen(k, CMN_KEYID_HEX)))
            return cmn_errf(eb, CMN_E_PARSE, "revoked key %zu must be a 16 lower-case hex key id", i);
        if (i > 0 && strcmp(r->revoked[i - 1], k) >= 0)
            return cmn_errf(eb, CMN_E_PARSE, "field 'revoked_keys' must be sorted and unique (at %zu)", i);
        if (in_keys(r->root_keys, r->n_root_keys, k) || in_keys(r->manifest_keys, r->n_manifest_keys, k) ||
            in_keys(r->release_keys, r->n_release_keys, k))
            return cmn_errf(eb, CMN_E_PARSE, "revoked key %s is still listed as trusted", k);
    }
    return CMN_OK;
}

/* ---- payload ---- */

static json_t *keys_json(const struct cmn_key *keys, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        char b64[CMN_PK_B64];
        cmn_key_public_b64(&keys[i], b64);
        if (json_array_append_new(a, json_string(b64))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int put(json_t *o, const char *k, json_t *v)
{
    return v && json_object_set_new(o, k, v) == 0 ? 0 : -1;
}

enum cmn_err cmn_root_render_payload(const struct cmn_root *r, struct cmn_buf *out, struct cmn_errbuf *eb)
{
    enum cmn_err rc = cmn_root_validate(r, eb);
    if (rc)
        return rc;
    json_t *o = json_object(), *rv = json_array();
    int bad = !o || !rv;
    for (size_t i = 0; !bad && i < r->n_revoked; i++)
        bad |= json_array_append_new(rv, json_string(r->revoked[i])) ? 1 : 0;
    if (!bad) {
        bad |= put(o, "revoked_keys", rv);
        rv = NULL;
        bad |= put(o, "schema", json_integer(CMN_ROOT_SCHEMA));
        bad |= put(o, "app", json_string(r->app));
        bad |= put(o, "version", json_integer((json_int_t)r->version));
        bad |= put(o, "issued_at", json_integer((json_int_t)r->issued_at));
        bad |= put(o, "expires_at", json_integer((json_int_t)r->expires_at));
        bad |= put(o, "threshold", json_integer((json_int_t)r->threshold));
        bad |= put(o, "root_keys", keys_json(r->root_keys, r->n_root_keys));
        bad |= put(o, "manifest_keys", keys_json(r->manifest_keys, r->n_manifest_keys));
        bad |= put(o, "release_keys", keys_json(r->release_keys, r->n_release_keys));
    }
    json_decref(rv);
    if (bad) {
        json_decref(o);
        return cmn_errf(eb, CMN_E_NOMEM, "cannot build the root payload");
    }
    rc = cmn_cjson_render(o, out);
    json_decref(o);
    return rc ? cmn_errf(eb, rc, "cannot render the root payload") : CMN_OK;
}

static enum cmn_err get_int(const json_t *o, const char *name, int64_t lo, int64_t *dst, struct cmn_errbuf *eb)
{
    const json_t *v = json_object_get(o, name);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > CMN_CJSON_MAX_INT)
        return cmn_errf(eb, CMN_E_PARSE, "root: field '%s' must be an integer between %lld and 2^53-1", name,
                        (long long)lo);
    *dst = (int64_t)json_integer_value(v);
    return CMN_OK;
}

static enum cmn_err get_keys(const json_t *o, const char *name, struct cmn_key *keys, size_t *n, struct cmn_errbuf *eb)
{
    const json_t *a = json_object_get(o, name);
    if (!json_is_array(a) || json_array_size(a) > CMN_ROOT_MAX_KEYS)
        return cmn_errf(eb, CMN_E_PARSE, "root: field '%s' must be an array of at most %d public keys", name,
                        CMN_ROOT_MAX_KEYS);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *s = json_array_get(a, i);
        struct cmn_errbuf e2 = {{0}};
        char back[CMN_PK_B64];
        if (!json_is_string(s) || json_string_length(s) != CMN_PK_B64 - 1 ||
            cmn_key_from_public_b64(json_string_value(s), &keys[i], &e2) != CMN_OK)
            return cmn_errf(eb, CMN_E_PARSE, "root: %s[%zu] must be a base64 ed25519 public key", name, i);
        cmn_key_public_b64(&keys[i], back);
        if (strcmp(back, json_string_value(s)) != 0) /* one spelling per key: the sort order depends on it */
            return cmn_errf(eb, CMN_E_PARSE, "root: %s[%zu] is not canonical base64", name, i);
        *n = i + 1;
    }
    return CMN_OK;
}

static enum cmn_err parse_payload(const char *p, size_t n, struct cmn_root *r, struct cmn_errbuf *eb)
{
    static const char *const fields[] = {"app",          "expires_at", "issued_at", "manifest_keys", "release_keys",
                                         "revoked_keys", "root_keys",  "schema",    "threshold",     "version"};
    json_t *o = NULL;
    struct cmn_buf canon;
    int64_t x;
    enum cmn_err rc;
    cmn_buf_init(&canon, CMN_ROOT_MAX_BYTES);
    if ((rc = cmn_cjson_parse(p, n, CMN_ROOT_MAX_BYTES, &o, eb)))
        goto out;
    rc = cmn_cjson_render(o, &canon);
    if (rc || canon.len != n || memcmp(canon.ptr, p, n) != 0) {
        rc = cmn_errf(eb, CMN_E_PARSE, "root payload is not in canonical form");
        goto out;
    }
    const json_t *sch = json_object_get(o, "schema");
    if (!json_is_object(o) || !json_is_integer(sch)) {
        rc = cmn_errf(eb, CMN_E_PARSE, "root: field 'schema' must be an integer");
        goto out;
    }
    if (json_integer_value(sch) != CMN_ROOT_SCHEMA) {
        rc = cmn_errf(eb, CMN_E_UNSUPPORTED, "root schema %lld is not supported (expected %d)",
                      (long long)json_integer_value(sch), CMN_ROOT_SCHEMA);
        goto out;
    }
    if ((rc = only_fields(o, fields, CMN_ARRAY_SIZE(fields), "root", eb)))
        goto out;
    const json_t *app = json_object_get(o, "app");
    if (!json_is_string(app) || !cmn_id_valid_n(json_string_value(app), json_string_length(app))) {
        rc = cmn_errf(eb, CMN_E_PARSE, "root: field 'app' must be an identifier");
        goto out;
    }
    memcpy(r->app, json_string_value(app), json_string_length(app) + 1);
    if ((rc = get_int(o, "version", 1, &x, eb)))
        goto out;
    r->version = (uint64_t)x;
    if ((rc = get_int(o, "issued_at", 0, &r->issued_at, eb)) || (rc = get_int(o, "expires_at", 0, &r->expires_at, eb)))
        goto out;
    if ((rc = get_int(o, "threshold", 1, &x, eb)))
        goto out;
    r->threshold = x > CMN_ROOT_MAX_KEYS ? CMN_ROOT_MAX_KEYS + 1 : (unsigned)x;
    if ((rc = get_keys(o, "root_keys", r->root_keys, &r->n_root_keys, eb)) ||
        (rc = get_keys(o, "manifest_keys", r->manifest_keys, &r->n_manifest_keys, eb)) ||
        (rc = get_keys(o, "release_keys", r->release_keys, &r->n_release_keys, eb)))
        goto out;
    const json_t *rv = json_object_get(o, "revoked_keys");
    if (!json_is_array(rv) || json_array_size(rv) > CMN_ROOT_MAX_REVOKED) {
        rc = cmn_errf(eb, CMN_E_PARSE, "root: field 'revoked_keys' must be an array of at most %d key ids",
                      CMN_ROOT_MAX_REVOKED);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(rv); i++) {
        const json_t *s = json_array_get(rv, i);
        if (!json_is_string(s) || !lowerhex16(json_string_value(s), json_string_length(s))) {
            rc = cmn_errf(eb, CMN_E_PARSE, "root: revoked_keys[%zu] must be a 16 lower-case hex key id", i);
            goto out;
        }
        memcpy(r->revoked[i], json_string_value(s), CMN_KEYID_HEX);
        r->n_revoked = i + 1;
    }
    rc = cmn_root_validate(r, eb);
out:
    json_decref(o);
    cmn_buf_release(&canon);
    return rc;
}

/* Parse env's payload into a new root that keeps a copy of the envelope bytes. */
static enum cmn_err root_from_env(const struct env *e, const void *doc, size_t len, struct cmn_root **out,
                                  struct cmn_errbuf *eb)
{
    struct cmn_root *r = calloc(1, sizeof(*r));
    enum cmn_err rc;
    if (!r)
        return cmn_errf(eb, CMN_E_NOMEM, "out of memory");
    if ((rc = parse_payload(e->payload, e->plen, r, eb))) {
        cmn_root_free(r);
        return rc;
    }
    r->env = malloc(len + 1);
    if (!r->env) {
        cmn_root_free(r);
        return cmn_errf(eb, CMN_E_NOMEM, "out of memory");
    }
    memcpy(r->env, doc, len);
    r->env[len] = '\0';
    r->env_len = len;
    *out = r;
    return CMN_OK;
}

/* A threshold of r's own root keys signed e. */
static enum cmn_err self_threshold(const struct cmn_root *r, const struct env *e, struct cmn_errbuf *eb)
{
    unsigned c = count_valid(e, r->root_keys, r->n_root_keys);
    if (c < r->threshold)
        return cmn_errf(eb, CMN_E_SIG,
                        "root version %llu has %u valid signature(s) by its own root keys, below its threshold %u",
                        (unsigned long long)r->version, c, r->threshold);
    return CMN_OK;
}

enum cmn_err cmn_root_open(const void *doc, size_t len, const char *app, struct cmn_root **out, struct cmn_errbuf *eb)
{
    struct env e;
    struct cmn_root *r = NULL;
    enum cmn_err rc = env_parse(doc, len, CMN_ROOT_PAYLOAD_TYPE, CMN_ROOT_MAX_BYTES, &e, eb);
    if (!rc)
        rc = root_from_env(&e, doc, len, &r, eb);
    if (!rc)
        rc = self_threshold(r, &e, eb);
    if (!rc && app && strcmp(app, r->app) != 0)
        rc = cmn_errf(eb, CMN_E_INVAL, "root is for app '%s', expected '%s'", r->app, app);
    env_release(&e);
    if (rc) {
        cmn_root_free(r);
        return rc;
    }
    *out = r;
    return CMN_OK;
}

enum cmn_err cmn_root_accept(const struct cmn_root *trusted, const void *doc, size_t len, struct cmn_root **out,
                             struct cmn_errbuf *eb)
{
    struct env e;
    struct cmn_root *r = NULL;
    uint64_t want = trusted->version + 1;
    enum cmn_err rc = env_parse(doc, len, CMN_ROOT_PAYLOAD_TYPE, CMN_ROOT_MAX_BYTES, &e, eb);
    if (rc)
        goto out;
    /* 1. the keys we trust vouch for these exact bytes, before anything in them is believed */
    unsigned c = count_valid(&e, trusted->root_keys, trusted->n_root_keys);
    if (c < trusted->threshold) {
        rc = cmn_errf(eb, CMN_E_SIG,
                      "root version %llu has %u valid signature(s) by the keys of root version %llu, below its "
                      "threshold %u",
                      (unsigned long long)want, c, (unsigned long long)trusted->version, trusted->threshold);
        goto out;
    }
    /* 2. then parse them */
    if ((rc = root_from_env(&e, doc, len, &r, eb)))
        goto out;
    if (strcmp(r->app, trusted->app) != 0) {
        rc = cmn_errf(eb, CMN_E_INVAL, "root is for app '%s', expected '%s'", r->app, trusted->app);
        goto out;
    }
    if (r->version <= trusted->version) {
        rc = cmn_errf(eb, CMN_E_REPLAY,
                      "root version %llu is not newer than the trusted version %llu (rollback refused)",
                      (unsigned long long)r->version, (unsigned long long)trusted->version);
        goto out;
    }
    if (r->version != want) {
        rc = cmn_errf(eb, CMN_E_INVAL, "root at version %llu of the chain says it is version %llu",
                      (unsigned long long)want, (unsigned long long)r->version);
        goto out;
    }
    /* 3. and the new keys can sign the next one: a rotation cannot lock itself out */
    rc = self_threshold(r, &e, eb);
out:
    env_release(&e);
    if (rc) {
        cmn_root_free(r);
        return rc;
    }
    *out = r;
    return CMN_OK;
}

enum cmn_err cmn_root_fresh(const struct cmn_root *r, int64_t now, struct cmn_errbuf *eb)
{
    if (now >= r->expires_at)
        return cmn_errf(eb, CMN_E_EXPIRED,
                        "root version %llu of '%s' expired at %lld (now %lld) and no newer root "
                        "is published",
                        (unsigned long long)r->version, r->app, (long long)r->expires_at, (long long)now);
    return CMN_OK;
}

enum cmn_err cmn_root_walk(struct cmn_root **cur, cmn_root_fetch_fn fetch, void *ctx, int64_t now, unsigned *advanced,
                           struct cmn_errbuf *eb)
{
    struct cmn_buf doc;
    enum cmn_err rc = CMN_OK;
    unsigned steps = 0;
    cmn_buf_init(&doc, CMN_ROOT_MAX_BYTES);
    while (steps < CMN_ROOT_MAX_WALK && (*cur)->version < (uint64_t)CMN_CJSON_MAX_INT) {
        struct cmn_root *next = NULL;
        struct cmn_errbuf e2 = {{0}};
        uint64_t v = (*cur)->version + 1;
        doc.len = 0;
        rc = fetch(ctx, v, &doc, &e2);
        if (rc == CMN_E_NOTFOUND) {
            rc = CMN_OK;
            break;
        }
        if (rc) {
            rc = cmn_errf(eb, rc, "cannot fetch root version %llu: %s", (unsigned long long)v, cmn_errmsg(&e2, rc));
            break;
        }
        rc = cmn_root_accept(*cur, doc.ptr ? doc.ptr : "", doc.len, &next, &e2);
        if (rc) {
            rc = cmn_errf(eb, rc, "refused root version %llu: %s", (unsigned long long)v, cmn_errmsg(&e2, rc));
            break;
        }
        cmn_root_free(*cur);
        *cur = next;
        steps++;
    }
    cmn_buf_release(&doc);
    if (advanced)
        *advanced = steps;
    if (!rc)
        rc = cmn_root_fresh(*cur, now, eb);
    return rc;
}

void cmn_root_keyring(const struct cmn_root *r, struct cmn_keyring *ring)
{
    ring->keys = r->manifest_keys;
    ring->n = r->n_manifest_keys;
}

int cmn_root_is_revoked(const struct cmn_root *r, const char *keyid)
{
    for (size_t i = 0; keyid && i < r->n_revoked; i++)
        if (strcmp(r->revoked[i], keyid) == 0)
            return 1;
    return 0;
}

enum cmn_err cmn_root_open_manifest(const struct cmn_root *r, const void *doc, size_t len,
                                    const struct cmn_manifest_expect *expect, int64_t now, struct cmn_manifest **out,
                                    struct cmn_errbuf *eb)
{
    struct cmn_keyring ring;
    struct cmn_errbuf e2 = {{0}};
    cmn_root_keyring(r, &ring);
    enum cmn_err rc = cmn_manifest_open(doc, len, &ring, expect, now, 0, out, &e2);
    if (rc != CMN_E_UNKNOWN_KEY)
        return rc ? cmn_errf(eb, rc, "%s", cmn_errmsg(&e2, rc)) : CMN_OK;
    /* Say it in terms of the root: which signer, and whether the root took it out of service. */
    struct env e;
    struct cmn_errbuf e3 = {{0}};
    char who[CMN_ROOT_MAX_SIGNATURES * CMN_KEYID_HEX + 1] = "";
    size_t wl = 0;
    if (env_parse(doc, len, CMN_MANIFEST_PAYLOAD_TYPE, CMN_MANIFEST_MAX_BYTES, &e, &e3) == CMN_OK) {
        for (size_t i = 0; i < e.nsig; i++) {
            if (cmn_root_is_revoked(r, e.keyid[i])) {
                rc = cmn_errf(eb, CMN_E_UNKNOWN_KEY, "manifest is signed by key %s, revoked by root version %llu",
                              e.keyid[i], (unsigned long long)r->version);
                env_release(&e);
                return rc;
            }
            wl += (size_t)snprintf(who + wl, sizeof(who) - wl, "%s%s", i ? "," : "", e.keyid[i]);
        }
    }
    env_release(&e);
    return cmn_errf(eb, CMN_E_UNKNOWN_KEY,
                    "manifest is not signed by a manifest key of root version %llu (signed by %s)",
                    (unsigned long long)r->version, who[0] ? who : "?");
}

/* ---- writers ---- */

static enum cmn_err render_env(const char *payload, size_t plen, const char (*ids)[CMN_KEYID_HEX],
                               const uint8_t (*sigs)[CMN_SIG_BYTES], size_t n, struct cmn_buf *out,
                               struct cmn_errbuf *eb)
{
    json_t *e = json_object(), *a = json_array();
    int bad = !e || !a;
    for (size_t i = 0; !bad && i < n; i++) {
        char s64[CMN_SIG_B64];
        json_t *s = json_object();
        cmn_base64_encode(sigs[i], CMN_SIG_BYTES, s64);
        bad |= !s || put(s, "keyid", json_string(ids[i])) || put(s, "sig", json_string(s64));
        bad |= json_array_append_new(a, s) ? 1 : 0;
    }
    if (!bad) {
        bad |= put(e, "signatures", a);
        a = NULL;
        bad |= put(e, "payload", json_stringn(payload, plen));
        bad |= put(e, "payload_type", json_string(CMN_ROOT_PAYLOAD_TYPE));
    }
    enum cmn_err rc = bad ? cmn_errf(eb, CMN_E_NOMEM, "cannot build the root envelope") : cmn_cjson_render(e, out);
    json_decref(a);
    json_decref(e);
    return rc;
}

enum cmn_err cmn_root_seal(const struct cmn_root *r, const struct cmn_key *keys, size_t n, struct cmn_buf *out,
                           struct cmn_errbuf *eb)
{
    struct cmn_buf payload;
    char ids[CMN_ROOT_MAX_SIGNATURES][CMN_KEYID_HEX];
    uint8_t sigs[CMN_ROOT_MAX_SIGNATURES][CMN_SIG_BYTES];
    enum cmn_err rc;
    if (n > CMN_ROOT_MAX_SIGNATURES)
        return cmn_errf(eb, CMN_E_INVAL, "at most %d signing keys", CMN_ROOT_MAX_SIGNATURES);
    cmn_buf_init(&payload, CMN_ROOT_MAX_BYTES);
    if ((rc = cmn_root_render_payload(r, &payload, eb)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct cmn_key id;
        memset(&id, 0, sizeof(id));
        memcpy(id.pk, keys[i].pk, CMN_PK_BYTES);
        cmn_key_compute_id(&id);
        memcpy(ids[i], id.keyid, CMN_KEYID_HEX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ids[j], ids[i]) == 0) {
                rc = cmn_errf(eb, CMN_E_INVAL, "key %s is given twice", ids[i]);
                goto out;
            }
        if ((rc = cmn_sign(&keys[i], CMN_SIGCTX_ROOT, payload.ptr, payload.len, sigs[i]))) {
            rc = cmn_errf(eb, rc, "cannot sign the root with key %s (no secret?)", ids[i]);
            goto out;
        }
    }
    rc = render_env(payload.ptr, payload.len, (const char(*)[CMN_KEYID_HEX])ids, (const uint8_t(*)[CMN_SIG_BYTES])sigs,
                    n, out, eb);
out:
    cmn_buf_release(&payload);
    return rc;
}

enum cmn_err cmn_root_parse_unverified(const void *doc, size_t len, struct cmn_root **out, struct cmn_errbuf *eb)
{
    struct env e;
    enum cmn_err rc = env_parse(doc, len, CMN_ROOT_PAYLOAD_TYPE, CMN_ROOT_MAX_BYTES, &e, eb);
    if (!rc)
        rc = root_from_env(&e, doc, len, out, eb);
    env_release(&e);
    return rc;
}

enum cmn_err cmn_root_count_signatures(const void *doc, size_t len, const struct cmn_key *keys, size_t n,
                                       unsigned *count, struct cmn_errbuf *eb)
{
    struct env e;
    enum cmn_err rc = env_parse(doc, len, CMN_ROOT_PAYLOAD_TYPE, CMN_ROOT_MAX_BYTES, &e, eb);
    if (!rc)
        *count = count_valid(&e, keys, n);
    env_release(&e);
    return rc;
}

enum cmn_err cmn_root_add_signature(const void *doc, size_t len, const struct cmn_key *key, struct cmn_buf *out,
                                    struct cmn_errbuf *eb)
{
    struct env e;
    struct cmn_root *r = NULL;
    struct cmn_key id;
    enum cmn_err rc = env_parse(doc, len, CMN_ROOT_PAYLOAD_TYPE, CMN_ROOT_MAX_BYTES, &e, eb);
    if (rc)
        goto out;
    if ((rc = root_from_env(&e, doc, len, &r, eb))) /* only a valid, canonical root gets signed */
        goto out;
    memset(&id, 0, sizeof(id));
    memcpy(id.pk, key->pk, CMN_PK_BYTES);
    cmn_key_compute_id(&id);
    for (size_t i = 0; i < e.nsig; i++)
        if (strcmp(e.keyid[i], id.keyid) == 0) {
            rc = cmn_errf(eb, CMN_E_EXISTS, "key %s has already signed this root", id.keyid);
            goto out;
        }
    if (e.nsig == CMN_ROOT_MAX_SIGNATURES) {
        rc = cmn_errf(eb, CMN_E_TOOBIG, "the root already carries %d signatures", CMN_ROOT_MAX_SIGNATURES);
        goto out;
    }
    if ((rc = cmn_sign(key, CMN_SIGCTX_ROOT, e.payload, e.plen, e.sig[e.nsig]))) {
        rc = cmn_errf(eb, rc, "cannot sign the root with key %s (no secret?)", id.keyid);
        goto out;
    }
    memcpy(e.keyid[e.nsig], id.keyid, CMN_KEYID_HEX);
    e.nsig++;
    rc = render_env(e.payload, e.plen, (const char(*)[CMN_KEYID_HEX])e.keyid, (const uint8_t(*)[CMN_SIG_BYTES])e.sig,
                    e.nsig, out, eb);
out:
    cmn_root_free(r);
    env_release(&e);
    return rc;
}

int cmn_root_storage_key(const char *app, uint64_t version, char *out, size_t cap)
{
    int n;
    if (!cmn_id_valid(app))
        return -1;
    if (version)
        n = snprintf(out, cap, "roots/%s/%llu.json", app, (unsigned long long)version);
    else
        n = snprintf(out, cap, "roots/%s/root.json", app);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}
