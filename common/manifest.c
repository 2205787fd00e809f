/*
 * manifest.c - the signed channel manifest (manifest.h, manifests/SPEC.md):
 * the in-memory model, validation, canonical rendering, sealing (render +
 * sign + envelope) and opening (strict envelope parse, signature check over
 * the exact payload bytes, canonical-form check, then payload parse and
 * validation). The update decision lives in decide.c.
 *
 * Strictness is a security property here, not pedantry: every field of the
 * envelope, payload and release entries is known and required to have one
 * type, and unknown fields are rejected. A verifier that ignored unknown
 * fields would let an older client silently skip a restriction (say, a new
 * targeting rule) that a newer publisher meant it to enforce; rejecting them
 * makes a format change an explicit schema bump instead.
 */
#include "common/compat.h"

#include "common/cjson.h"
#include "common/cohort.h"
#include "common/manifest.h"

#define MAX_SIGNATURES 16
#define VERSION_MAX 64
#define URL_MAX 2048
#define DEVICE_ID_MAX 128

static const char *const state_names[] = {
    [CMN_REL_ACTIVE] = "active",
    [CMN_REL_HALTED] = "halted",
    [CMN_REL_ROLLED_BACK] = "rolled_back",
    [CMN_REL_DISABLED] = "disabled",
};

const char *cmn_release_state_name(enum cmn_release_state s)
{
    if ((unsigned)s >= CMN_ARRAY_SIZE(state_names))
        return "unknown";
    return state_names[s];
}

int cmn_release_state_parse(const char *s)
{
    if (!s)
        return -1;
    for (size_t i = 0; i < CMN_ARRAY_SIZE(state_names); i++)
        if (strcmp(s, state_names[i]) == 0)
            return (int)i;
    return -1;
}

/* ---- model ---- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void cmn_release_clear(struct cmn_release *r)
{
    if (!r)
        return;
    free(r->id);
    free(r->version);
    free(r->target_binary);
    free(r->bundle_url);
    free(r->bundle_sig);
    free(r->notes);
    for (size_t i = 0; r->device_ids && i < r->n_device_ids; i++)
        free(r->device_ids[i]);
    free(r->device_ids);
    free(r->device_list);
    free(r->content_sig);
    for (size_t i = 0; r->patches && i < r->n_patches; i++)
        free(r->patches[i].url);
    free(r->patches);
    free(r->legacy_signature);
    memset(r, 0, sizeof(*r));
}

void cmn_manifest_free(struct cmn_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_releases; i++)
        cmn_release_clear(&m->releases[i]);
    free(m->releases);
    free(m->app);
    free(m->platform);
    free(m->channel);
    free(m->codepush_keys);
    free(m->signed_by);
    free(m);
}

struct cmn_manifest *cmn_manifest_new(const char *app, const char *platform, const char *channel)
{
    struct cmn_manifest *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->schema = CMN_MANIFEST_SCHEMA;
    m->app = strdup(app ? app : "");
    m->platform = strdup(platform ? platform : "");
    m->channel = strdup(channel ? channel : "");
    if (!m->app || !m->platform || !m->channel) {
        cmn_manifest_free(m);
        return NULL;
    }
    return m;
}

/* Deep copy of a release; `dst` is zeroed first. */
static enum cmn_err release_copy(struct cmn_release *dst, const struct cmn_release *r)
{
    memset(dst, 0, sizeof(*dst));
    *dst = *r;
    dst->id = dst->version = dst->target_binary = dst->bundle_url = dst->bundle_sig = NULL;
    dst->notes = dst->device_list = NULL;
    dst->device_ids = NULL;
    dst->n_device_ids = 0;
    dst->content_sig = NULL;
    dst->legacy_signature = NULL;
    dst->patches = NULL;
    dst->n_patches = 0;
    dst->id = dup_or_null(r->id);
    dst->version = dup_or_null(r->version);
    dst->target_binary = dup_or_null(r->target_binary);
    dst->bundle_url = dup_or_null(r->bundle_url);
    dst->bundle_sig = dup_or_null(r->bundle_sig);
    dst->notes = dup_or_null(r->notes);
    dst->device_list = dup_or_null(r->device_list);
    if ((r->id && !dst->id) || (r->version && !dst->version) || (r->target_binary && !dst->target_binary) ||
        (r->bundle_url && !dst->bundle_url) || (r->bundle_sig && !dst->bundle_sig) || (r->notes && !dst->notes) ||
        (r->device_list && !dst->device_list))
        goto nomem;
    dst->content_sig = dup_or_null(r->content_sig);
    if (r->content_sig && !dst->content_sig)
        goto nomem;
    dst->legacy_signature = dup_or_null(r->legacy_signature);
    if (r->legacy_signature && !dst->legacy_signature)
        goto nomem;
    if (r->patches) {
        dst->patches = calloc(r->n_patches ? r->n_patches : 1, sizeof(*dst->patches));
        if (!dst->patches)
            goto nomem;
        for (size_t i = 0; i < r->n_patches; i++) {
            dst->patches[i] = r->patches[i];
            dst->patches[i].url = dup_or_null(r->patches[i].url);
            dst->n_patches = i + 1;
            if (r->patches[i].url && !dst->patches[i].url)
                goto nomem;
        }
    }
    if (r->device_ids) {
        if (r->n_device_ids > CMN_MANIFEST_MAX_INLINE_DEVICES) {
            cmn_release_clear(dst);
            return CMN_E_TOOBIG;
        }
        dst->device_ids = calloc(r->n_device_ids ? r->n_device_ids : 1, sizeof(char *));
        if (!dst->device_ids)
            goto nomem;
        for (size_t i = 0; i < r->n_device_ids; i++) {
            dst->device_ids[i] = dup_or_null(r->device_ids[i]);
            dst->n_device_ids = i + 1;
            if (r->device_ids[i] && !dst->device_ids[i])
                goto nomem;
        }
        dst->n_device_ids = r->n_device_ids;
    }
    /* The compiled range always follows the text, whatever the caller left in `target`. */
    if (!dst->target_binary || cmn_semver_range_parse(dst->target_binary, &dst->target) != CMN_OK)
        memset(&dst->target, 0, sizeof(dst->target));
    return CMN_OK;
nomem:
    cmn_release_clear(dst);
    return CMN_E_NOMEM;
}

enum cmn_err cmn_manifest_add_release(struct cmn_manifest *m, const struct cmn_release *r)
{
    if (m->n_releases >= CMN_MANIFEST_MAX_RELEASES)
        return CMN_E_TOOBIG;
    struct cmn_release *nr = realloc(m->releases, (m->n_releases + 1) * sizeof(*nr));
    if (!nr)
        return CMN_E_NOMEM;
    m->releases = nr;
    enum cmn_err rc = release_copy(&m->releases[m->n_releases], r);
    if (rc)
        return rc;
    m->n_releases++;
    return CMN_OK;
}

long cmn_manifest_find(const struct cmn_manifest *m, const char *release_id)
{
    if (!m || !release_id)
        return -1;
    for (size_t i = 0; i < m->n_releases; i++)
        if (m->releases[i].id && strcmp(m->releases[i].id, release_id) == 0)
            return (long)i;
    return -1;
}

/* ---- validation ---- */

static int lowerhex_ok(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF); `ctl` rejects C0 controls and DEL. */
static int utf8_ok(const char *s, int ctl)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (c < 0x80) {
            if (ctl && (c < 0x20 || c == 0x7f))
                return 0;
            p++;
            continue;
        }
        int n;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07;
        else
            return 0;
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

/*
 * bundle_url: "https://host/..." or a path relative to the storage root with
 * no "..", ".", or empty segment, no leading '/', no backslash, no scheme,
 * printable ASCII only. The SDK joins it to its base URL; these rules keep
 * it inside that base.
 */
static int url_ok(const char *u)
{
    size_t n = u ? strlen(u) : 0;
    if (n == 0 || n > URL_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f || u[i] == '\\')
            return 0;
    if (strncmp(u, "https://", 8) == 0)
        return n > 8 && u[8] != '/';
    if (u[0] == '/' || strstr(u, "://") || strchr(u, ':'))
        return 0;
    const char *seg = u;
    for (;;) {
        size_t l = strcspn(seg, "/?#");
        if (l == 0 || (l == 1 && seg[0] == '.') || (l == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        seg += l;
        if (*seg != '/')
            break;
        seg++;
    }
    return 1;
}

static int sig_b64_ok(const char *s)
{
    uint8_t sig[CMN_SIG_BYTES + 1];
    size_t n = 0;
    return s && strlen(s) == CMN_SIG_B64 - 1 && cmn_base64_decode(s, strlen(s), sig, sizeof(sig), &n) == CMN_OK &&
           n == CMN_SIG_BYTES;
}

static enum cmn_err validate_release(const struct cmn_release *r, size_t idx, struct cmn_errbuf *eb)
{
#define BAD(...) cmn_errf(eb, CMN_E_PARSE, __VA_ARGS__)
    if (!cmn_id_valid(r->id))
        return BAD("release %zu: field 'id' must be 1-%d characters of [A-Za-z0-9._-], not starting with '.'", idx,
                   CMN_ID_MAX);
    if (!r->version || !r->version[0] || strlen(r->version) > VERSION_MAX || !utf8_ok(r->version, 1))
        return BAD("release %zu: field 'version' must be 1-%d bytes of printable utf-8", idx, VERSION_MAX);
    struct cmn_semver_range range;
    if (!r->target_binary || cmn_semver_range_parse(r->target_binary, &range) != CMN_OK)
        return BAD("release %zu: field 'target_binary' is not a valid version range", idx);
    if (!url_ok(r->bundle_url))
        return BAD("release %zu: field 'bundle_url' must be https:// or a relative path without '..', "
                   "leading '/' or scheme",
                   idx);
    if (!lowerhex_ok(r->sha256, 64))
        return BAD("release %zu: field 'sha256' must be 64 lower-case hex characters", idx);
    if (r->size == 0 || r->size > (uint64_t)CMN_CJSON_MAX_INT)
        return BAD("release %zu: field 'size' must be between 1 and 2^53-1", idx);
    if (!sig_b64_ok(r->bundle_sig))
        return BAD("release %zu: field 'bundle_sig' must be base64 of a 64-byte signature", idx);
    if (!lowerhex_ok(r->bundle_keyid, CMN_KEYID_HEX - 1))
        return BAD("release %zu: field 'bundle_keyid' must be 16 lower-case hex characters", idx);
    if (r->mandatory != 0 && r->mandatory != 1)
        return BAD("release %zu: field 'mandatory' must be a boolean", idx);
    if (r->rollout_bp > CMN_BP_MAX)
        return BAD("release %zu: field 'rollout_bp' must be between 0 and 10000", idx);
    if ((unsigned)r->state >= CMN_ARRAY_SIZE(state_names))
        return BAD("release %zu: field 'state' must be active, halted, rolled_back or disabled", idx);
    if (r->created_at < 0 || r->created_at > CMN_CJSON_MAX_INT)
        return BAD("release %zu: field 'created_at' must be unix seconds >= 0", idx);
    if (r->notes && (strlen(r->notes) > CMN_NOTES_MAX || !utf8_ok(r->notes, 0)))
        return BAD("release %zu: field 'notes' must be at most %d bytes of utf-8", idx, CMN_NOTES_MAX);
    if (r->device_ids) {
        if (r->n_device_ids == 0)
            return BAD("release %zu: targeting 'device_ids' must not be empty (use state 'disabled' instead)", idx);
        if (r->n_device_ids > CMN_MANIFEST_MAX_INLINE_DEVICES)
            return cmn_errf(eb, CMN_E_TOOBIG, "release %zu: more than %d inline device ids", idx,
                            CMN_MANIFEST_MAX_INLINE_DEVICES);
        for (size_t i = 0; i < r->n_device_ids; i++) {
            const char *d = r->device_ids[i];
            if (!d || !d[0] || strlen(d) > DEVICE_ID_MAX || !utf8_ok(d, 1))
                return BAD("release %zu: device id %zu must be 1-%d bytes of printable utf-8", idx, i, DEVICE_ID_MAX);
            if (i > 0 && strcmp(r->device_ids[i - 1], d) >= 0)
                return BAD("release %zu: targeting 'device_ids' must be sorted and unique (at %zu)", idx, i);
        }
    } else if (r->n_device_ids) {
        return BAD("release %zu: device id count without a device id list", idx);
    }
    if (r->device_list && !cmn_id_valid(r->device_list))
        return BAD(
            "release %zu: targeting 'device_list' must be 1-%d characters of [A-Za-z0-9._-], not starting with '.'",
            idx, CMN_ID_MAX);
    if (r->content_sig) {
        if (!lowerhex_ok(r->content_sha256, 64))
            return BAD("release %zu: field 'content_sha256' must be 64 lower-case hex characters", idx);
        if (!sig_b64_ok(r->content_sig))
            return BAD("release %zu: field 'content_sig' must be base64 of a 64-byte signature", idx);
    } else if (r->content_sha256[0]) {
        return BAD("release %zu: 'content_sha256' needs 'content_sig'", idx);
    }
    if (r->legacy_signature && !sig_b64_ok(r->legacy_signature))
        return BAD("release %zu: field 'legacy_signature' must be base64 of a 64-byte signature", idx);
    if (r->patches) {
        if (!r->content_sig)
            return BAD("release %zu: 'patches' needs 'content_sha256' and 'content_sig'", idx);
        if (r->n_patches == 0 || r->n_patches > CMN_MANIFEST_MAX_PATCHES)
            return BAD("release %zu: 'patches' must list 1 to %d patches", idx, CMN_MANIFEST_MAX_PATCHES);
        for (size_t i = 0; i < r->n_patches; i++) {
            const struct cmn_patch_ref *p = &r->patches[i];
            if (!lowerhex_ok(p->base, 64) || !lowerhex_ok(p->sha256, 64))
                return BAD("release %zu: patch %zu: 'base' and 'sha256' must be 64 lower-case hex characters", idx, i);
            if (!url_ok(p->url))
                return BAD("release %zu: patch %zu: 'url' must be https:// or a relative path without '..', "
                           "leading '/' or scheme",
                           idx, i);
            if (p->size == 0 || p->size > (uint64_t)CMN_CJSON_MAX_INT)
                return BAD("release %zu: patch %zu: 'size' must be between 1 and 2^53-1", idx, i);
            if (i > 0 && strcmp(r->patches[i - 1].base, p->base) >= 0)
                return BAD("release %zu: 'patches' must be sorted by 'base' and unique (at %zu)", idx, i);
        }
    } else if (r->n_patches) {
        return BAD("release %zu: patch count without a patch list", idx);
    }
    if (r->codepush_hash[0] && !lowerhex_ok(r->codepush_hash, 64))
        return BAD("release %zu: field 'codepush_hash' must be 64 lower-case hex characters", idx);
    return CMN_OK;
#undef BAD
}

enum cmn_err cmn_manifest_validate(const struct cmn_manifest *m, struct cmn_errbuf *eb)
{
    if (!m)
        return cmn_errf(eb, CMN_E_INVAL, "no manifest");
    if (m->schema != CMN_MANIFEST_SCHEMA)
        return cmn_errf(eb, CMN_E_UNSUPPORTED, "manifest schema %d is not supported (expected %d)", m->schema,
                        CMN_MANIFEST_SCHEMA);
    if (!cmn_id_valid(m->app))
        return cmn_errf(eb, CMN_E_PARSE, "field 'app' must be 1-%d characters of [A-Za-z0-9._-], not starting with '.'",
                        CMN_ID_MAX);
    if (!cmn_id_valid(m->platform))
        return cmn_errf(eb, CMN_E_PARSE,
                        "field 'platform' must be 1-%d characters of [A-Za-z0-9._-], not starting with '.'",
                        CMN_ID_MAX);
    if (!cmn_id_valid(m->channel))
        return cmn_errf(eb, CMN_E_PARSE,
                        "field 'channel' must be 1-%d characters of [A-Za-z0-9._-], not starting with '.'", CMN_ID_MAX);
    if (m->sequence < 1 || m->sequence > (uint64_t)CMN_CJSON_MAX_INT)
        return cmn_errf(eb, CMN_E_PARSE, "field 'sequence' must be between 1 and 2^53-1");
    if (m->issued_at < 0 || m->issued_at > CMN_CJSON_MAX_INT)
        return cmn_errf(eb, CMN_E_PARSE, "field 'issued_at' must be unix seconds >= 0");
    if (m->expires_at <= m->issued_at || m->expires_at > CMN_CJSON_MAX_INT)
        return cmn_errf(eb, CMN_E_PARSE, "field 'expires_at' must be later than 'issued_at'");
    if (m->n_releases > CMN_MANIFEST_MAX_RELEASES)
        return cmn_errf(eb, CMN_E_TOOBIG, "more than %d releases", CMN_MANIFEST_MAX_RELEASES);
    if (m->n_releases && !m->releases)
        return cmn_errf(eb, CMN_E_INVAL, "release count without releases");
    if (m->retired && m->n_releases)
        return cmn_errf(eb, CMN_E_PARSE, "a retired channel (tombstone) lists no releases");
    if (m->codepush_keys || m->n_codepush_keys) {
        if (!m->codepush_keys || m->n_codepush_keys == 0 || m->n_codepush_keys > CMN_MANIFEST_MAX_CODEPUSH_KEYS)
            return cmn_errf(eb, CMN_E_PARSE, "field 'codepush_keys' must list 1-%d key hashes",
                            CMN_MANIFEST_MAX_CODEPUSH_KEYS);
        for (size_t i = 0; i < m->n_codepush_keys; i++) {
            if (!lowerhex_ok(m->codepush_keys[i], 64))
                return cmn_errf(eb, CMN_E_PARSE, "codepush key %zu must be 64 lower-case hex characters", i);
            if (i > 0 && strcmp(m->codepush_keys[i - 1], m->codepush_keys[i]) >= 0)
                return cmn_errf(eb, CMN_E_PARSE, "field 'codepush_keys' must be sorted and unique (at %zu)", i);
        }
    }
    for (size_t i = 0; i < m->n_releases; i++) {
        enum cmn_err rc = validate_release(&m->releases[i], i, eb);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->releases[j].id, m->releases[i].id) == 0)
                return cmn_errf(eb, CMN_E_PARSE, "release %zu: id '%s' repeats release %zu", i, m->releases[i].id, j);
    }
    return CMN_OK;
}

/* ---- rendering ---- */

/* json_object_set_new that fails cleanly when `v` could not be built. */
static int put(json_t *o, const char *k, json_t *v)
{
    return v && json_object_set_new(o, k, v) == 0 ? 0 : -1;
}

static json_t *str(const char *s)
{
    return json_stringn(s, strlen(s)); /* validates utf-8 */
}

static json_t *release_json(const struct cmn_release *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = 0;
    bad |= put(o, "id", str(r->id));
    bad |= put(o, "version", str(r->version));
    bad |= put(o, "target_binary", str(r->target_binary));
    bad |= put(o, "bundle_url", str(r->bundle_url));
    bad |= put(o, "sha256", str(r->sha256));
    bad |= put(o, "size", json_integer((json_int_t)r->size));
    bad |= put(o, "bundle_sig", str(r->bundle_sig));
    bad |= put(o, "bundle_keyid", str(r->bundle_keyid));
    bad |= put(o, "mandatory", json_boolean(r->mandatory));
    bad |= put(o, "rollout_bp", json_integer((json_int_t)r->rollout_bp));
    bad |= put(o, "state", str(cmn_release_state_name(r->state)));
    bad |= put(o, "created_at", json_integer((json_int_t)r->created_at));
    if (r->notes)
        bad |= put(o, "notes", str(r->notes));
    if (r->device_ids || r->device_list) {
        json_t *t = json_object();
        bad |= put(o, "targeting", t);
        if (t && r->device_ids) {
            json_t *a = json_array();
            bad |= put(t, "device_ids", a);
            for (size_t i = 0; a && i < r->n_device_ids; i++)
                bad |= json_array_append_new(a, str(r->device_ids[i])) ? 1 : 0;
        }
        if (t && r->device_list)
            bad |= put(t, "device_list", str(r->device_list));
    }
    if (r->content_sig) {
        bad |= put(o, "content_sha256", str(r->content_sha256));
        bad |= put(o, "content_sig", str(r->content_sig));
    }
    if (r->legacy_signature)
        bad |= put(o, "legacy_signature", str(r->legacy_signature));
    if (r->patches) {
        json_t *a = json_array();
        bad |= put(o, "patches", a);
        for (size_t i = 0; a && i < r->n_patches; i++) {
            const struct cmn_patch_ref *p = &r->patches[i];
            json_t *po = json_object();
            bad |= json_array_append_new(a, po) ? 1 : 0;
            if (po) {
                bad |= put(po, "base", str(p->base));
                bad |= put(po, "url", str(p->url));
                bad |= put(po, "sha256", str(p->sha256));
                bad |= put(po, "size", json_integer((json_int_t)p->size));
            }
        }
    }
    if (r->codepush_hash[0])
        bad |= put(o, "codepush_hash", str(r->codepush_hash));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *payload_json(const struct cmn_manifest *m)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = 0;
    bad |= put(o, "schema", json_integer(m->schema));
    bad |= put(o, "app", str(m->app));
    bad |= put(o, "platform", str(m->platform));
    bad |= put(o, "channel", str(m->channel));
    bad |= put(o, "sequence", json_integer((json_int_t)m->sequence));
    bad |= put(o, "issued_at", json_integer((json_int_t)m->issued_at));
    bad |= put(o, "expires_at", json_integer((json_int_t)m->expires_at));
    if (m->retired)
        bad |= put(o, "retired", json_true());
    if (m->codepush_keys) {
        json_t *k = json_array();
        bad |= put(o, "codepush_keys", k);
        for (size_t i = 0; k && i < m->n_codepush_keys; i++)
            bad |= json_array_append_new(k, str(m->codepush_keys[i])) ? 1 : 0;
    }
    json_t *a = json_array();
    bad |= put(o, "releases", a);
    for (size_t i = 0; a && i < m->n_releases; i++)
        bad |= json_array_append_new(a, release_json(&m->releases[i])) ? 1 : 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

enum cmn_err cmn_manifest_render_payload(const struct cmn_manifest *m, struct cmn_buf *out, struct cmn_errbuf *eb)
{
    enum cmn_err rc = cmn_manifest_validate(m, eb);
    if (rc)
        return rc;
    json_t *o = payload_json(m);
    if (!o)
        return cmn_errf(eb, CMN_E_NOMEM, "cannot build the manifest payload");
    rc = cmn_cjson_render(o, out);
    json_decref(o);
    if (rc == CMN_E_TOOBIG)
        return cmn_errf(eb, rc, "manifest payload exceeds the output limit");
    if (rc)
        return cmn_errf(eb, rc, "cannot render the manifest payload");
    return CMN_OK;
}

enum cmn_err cmn_manifest_seal(const struct cmn_manifest *m, const struct cmn_key *key, struct cmn_buf *out,
                               struct cmn_errbuf *eb)
{
    if (!key)
        return cmn_errf(eb, CMN_E_INVAL, "sealing needs a secret key");
    return cmn_manifest_seal_keys(m, key, 1, out, eb);
}

enum cmn_err cmn_manifest_seal_keys(const struct cmn_manifest *m, const struct cmn_key *keys, size_t n,
                                    struct cmn_buf *out, struct cmn_errbuf *eb)
{
    struct cmn_buf payload, env;
    json_t *e = NULL, *sigs = NULL;
    enum cmn_err rc;
    uint8_t sig[CMN_SIG_BYTES];
    char sig64[CMN_SIG_B64];
    char ids[CMN_MANIFEST_MAX_SIGNATURES][CMN_KEYID_HEX];

    cmn_buf_init(&payload, CMN_MANIFEST_MAX_BYTES);
    cmn_buf_init(&env, CMN_MANIFEST_MAX_BYTES);
    if (!keys || n == 0 || n > CMN_MANIFEST_MAX_SIGNATURES) {
        rc = cmn_errf(eb, CMN_E_INVAL, "sealing needs 1-%d secret keys", CMN_MANIFEST_MAX_SIGNATURES);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!keys[i].has_secret) {
            rc = cmn_errf(eb, CMN_E_INVAL, "sealing needs a secret key");
            goto out;
        }
        /* The key id is derived from the public key, never taken from the struct. */
        struct cmn_key idk;
        memset(&idk, 0, sizeof(idk));
        memcpy(idk.pk, keys[i].pk, CMN_PK_BYTES);
        cmn_key_compute_id(&idk);
        memcpy(ids[i], idk.keyid, CMN_KEYID_HEX);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(ids[j], ids[i]) == 0) {
                rc = cmn_errf(eb, CMN_E_INVAL, "key %s is given twice", ids[i]);
                goto out;
            }
        }
    }
    rc = cmn_manifest_render_payload(m, &payload, eb);
    if (rc)
        goto out;

    e = json_object();
    sigs = json_array();
    int bad = !e || !sigs;
    for (size_t i = 0; !bad && i < n; i++) {
        rc = cmn_sign(&keys[i], CMN_SIGCTX_MANIFEST, payload.ptr, payload.len, sig);
        if (rc) {
            rc = cmn_errf(eb, rc, "cannot sign the manifest");
            goto out;
        }
        cmn_base64_encode(sig, sizeof(sig), sig64);
        json_t *s0 = json_object();
        bad |= !s0;
        if (!bad) {
            bad |= put(s0, "keyid", str(ids[i]));
            bad |= put(s0, "sig", str(sig64));
        }
        bad |= json_array_append_new(sigs, s0) ? 1 : 0;
    }
    if (!bad) {
        bad |= put(e, "signatures", sigs);
        sigs = NULL;
        bad |= put(e, "payload", json_stringn(payload.ptr, payload.len));
        bad |= put(e, "payload_type", str(CMN_MANIFEST_PAYLOAD_TYPE));
    }
    if (bad) {
        rc = cmn_errf(eb, CMN_E_NOMEM, "cannot build the manifest envelope");
        goto out;
    }
    rc = cmn_cjson_render(e, &env);
    if (rc) {
        rc = cmn_errf(eb, rc, rc == CMN_E_TOOBIG ? "signed manifest exceeds %u bytes" : "cannot render envelope (%u)",
                      CMN_MANIFEST_MAX_BYTES);
        goto out;
    }
    rc = cmn_buf_add(out, env.ptr, env.len);
    if (rc)
        rc = cmn_errf(eb, rc, "signed manifest does not fit the output buffer");
out:
    json_decref(sigs);
    json_decref(e);
    cmn_buf_release(&payload);
    cmn_buf_release(&env);
    cmn_wipe(sig, sizeof(sig));
    return rc;
}

/* ---- opening ---- */

/*
 * Check that object `o` has exactly the required fields plus optionally the
 * optional ones. `where` prefixes the message ("payload", "release 3").
 */
static enum cmn_err check_fields(const json_t *o, const char *const *req, size_t nreq, const char *const *opt,
                                 size_t nopt, const char *where, struct cmn_errbuf *eb)
{
    if (!json_is_object(o))
        return cmn_errf(eb, CMN_E_PARSE, "%s must be a json object", where);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        int known = 0;
        for (size_t i = 0; !known && i < nreq; i++)
            known = strcmp(k, req[i]) == 0;
        for (size_t i = 0; !known && i < nopt; i++)
            known = strcmp(k, opt[i]) == 0;
        if (!known)
            return cmn_errf(eb, CMN_E_PARSE, "%s: unknown field '%.64s'", where, k);
    }
    for (size_t i = 0; i < nreq; i++)
        if (!json_object_get(o, req[i]))
            return cmn_errf(eb, CMN_E_PARSE, "%s: missing field '%s'", where, req[i]);
    return CMN_OK;
}

static enum cmn_err get_str(const json_t *o, const char *name, char **dst, const char *where, struct cmn_errbuf *eb)
{
    const json_t *v = json_object_get(o, name);
    if (!json_is_string(v))
        return cmn_errf(eb, CMN_E_PARSE, "%s: field '%s' must be a string", where, name);
    *dst = strndup(json_string_value(v), json_string_length(v));
    return *dst ? CMN_OK : CMN_E_NOMEM;
}

/* Copy a string of exactly-bounded length into a fixed array. */
static enum cmn_err get_fixed(const json_t *o, const char *name, char *dst, size_t cap, const char *where,
                              struct cmn_errbuf *eb)
{
    const json_t *v = json_object_get(o, name);
    if (!json_is_string(v))
        return cmn_errf(eb, CMN_E_PARSE, "%s: field '%s' must be a string", where, name);
    size_t n = json_string_length(v);
    if (n >= cap)
        return cmn_errf(eb, CMN_E_PARSE, "%s: field '%s' is too long", where, name);
    memcpy(dst, json_string_value(v), n + 1);
    return CMN_OK;
}

static enum cmn_err get_int(const json_t *o, const char *name, int64_t lo, int64_t hi, int64_t *dst, const char *where,
                            struct cmn_errbuf *eb)
{
    const json_t *v = json_object_get(o, name);
    if (!json_is_integer(v))
        return cmn_errf(eb, CMN_E_PARSE, "%s: field '%s' must be an integer", where, name);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return cmn_errf(eb, CMN_E_PARSE, "%s: field '%s' must be between %lld and %lld", where, name, (long long)lo,
                        (long long)hi);
    *dst = (int64_t)x;
    return CMN_OK;
}

static enum cmn_err parse_release(const json_t *o, size_t idx, struct cmn_release *r, struct cmn_errbuf *eb)
{
    static const char *const req[] = {"id",        "version",    "target_binary", "bundle_url",
                                      "sha256",    "size",       "bundle_sig",    "bundle_keyid",
                                      "mandatory", "rollout_bp", "state",         "created_at"};
    static const char *const opt[] = {"notes",   "targeting",        "content_sha256", "content_sig",
                                      "patches", "legacy_signature", "codepush_hash"};
    char where[32];
    snprintf(where, sizeof(where), "release %zu", idx);
    int64_t x;
    enum cmn_err rc = check_fields(o, req, CMN_ARRAY_SIZE(req), opt, CMN_ARRAY_SIZE(opt), where, eb);
    if (rc)
        return rc;
    if ((rc = get_str(o, "id", &r->id, where, eb)) || (rc = get_str(o, "version", &r->version, where, eb)) ||
        (rc = get_str(o, "target_binary", &r->target_binary, where, eb)) ||
        (rc = get_str(o, "bundle_url", &r->bundle_url, where, eb)) ||
        (rc = get_fixed(o, "sha256", r->sha256, sizeof(r->sha256), where, eb)) ||
        (rc = get_str(o, "bundle_sig", &r->bundle_sig, where, eb)) ||
        (rc = get_fixed(o, "bundle_keyid", r->bundle_keyid, sizeof(r->bundle_keyid), where, eb)))
        return rc;
    if ((rc = get_int(o, "size", 1, CMN_CJSON_MAX_INT, &x, where, eb)))
        return rc;
    r->size = (uint64_t)x;
    if ((rc = get_int(o, "rollout_bp", 0, CMN_BP_MAX, &x, where, eb)))
        return rc;
    r->rollout_bp = (uint32_t)x;
    if ((rc = get_int(o, "created_at", 0, CMN_CJSON_MAX_INT, &r->created_at, where, eb)))
        return rc;
    const json_t *mand = json_object_get(o, "mandatory");
    if (!json_is_boolean(mand))
        return cmn_errf(eb, CMN_E_PARSE, "%s: field 'mandatory' must be true or false", where);
    r->mandatory = json_is_true(mand);
    const json_t *st = json_object_get(o, "state");
    int s = json_is_string(st) ? cmn_release_state_parse(json_string_value(st)) : -1;
    if (s < 0)
        return cmn_errf(eb, CMN_E_PARSE, "%s: field 'state' must be active, halted, rolled_back or disabled", where);
    r->state = (enum cmn_release_state)s;
    if (json_object_get(o, "notes") && (rc = get_str(o, "notes", &r->notes, where, eb)))
        return rc;
    const json_t *t = json_object_get(o, "targeting");
    if (t) {
        static const char *const topt[] = {"device_ids", "device_list"};
        char twhere[48];
        snprintf(twhere, sizeof(twhere), "release %zu targeting", idx);
        if ((rc = check_fields(t, NULL, 0, topt, CMN_ARRAY_SIZE(topt), twhere, eb)))
            return rc;
        const json_t *ids = json_object_get(t, "device_ids");
        const json_t *list = json_object_get(t, "device_list");
        if (!ids && !list)
            return cmn_errf(eb, CMN_E_PARSE, "%s: needs 'device_ids' or 'device_list'", twhere);
        if (list && (rc = get_str(t, "device_list", &r->device_list, twhere, eb)))
            return rc;
        if (ids) {
            if (!json_is_array(ids))
                return cmn_errf(eb, CMN_E_PARSE, "%s: 'device_ids' must be an array of strings", twhere);
            size_t n = json_array_size(ids);
            if (n > CMN_MANIFEST_MAX_INLINE_DEVICES)
                return cmn_errf(eb, CMN_E_TOOBIG, "%s: more than %d inline device ids", twhere,
                                CMN_MANIFEST_MAX_INLINE_DEVICES);
            r->device_ids = calloc(n ? n : 1, sizeof(char *));
            if (!r->device_ids)
                return CMN_E_NOMEM;
            for (size_t i = 0; i < n; i++) {
                const json_t *d = json_array_get(ids, i);
                if (!json_is_string(d))
                    return cmn_errf(eb, CMN_E_PARSE, "%s: device id %zu must be a string", twhere, i);
                r->device_ids[i] = strndup(json_string_value(d), json_string_length(d));
                if (!r->device_ids[i])
                    return CMN_E_NOMEM;
                r->n_device_ids = i + 1;
            }
        }
    }
    if (json_object_get(o, "content_sha256") &&
        (rc = get_fixed(o, "content_sha256", r->content_sha256, sizeof(r->content_sha256), where, eb)))
        return rc;
    if (json_object_get(o, "content_sig") && (rc = get_str(o, "content_sig", &r->content_sig, where, eb)))
        return rc;
    if (json_object_get(o, "legacy_signature") &&
        (rc = get_str(o, "legacy_signature", &r->legacy_signature, where, eb)))
        return rc;
    const json_t *pa = json_object_get(o, "patches");
    if (pa) {
        static const char *const preq[] = {"base", "url", "sha256", "size"};
        if (!json_is_array(pa))
            return cmn_errf(eb, CMN_E_PARSE, "%s: 'patches' must be an array", where);
        size_t n = json_array_size(pa);
        if (n > CMN_MANIFEST_MAX_PATCHES)
            return cmn_errf(eb, CMN_E_TOOBIG, "%s: more than %d patches", where, CMN_MANIFEST_MAX_PATCHES);
        r->patches = calloc(n ? n : 1, sizeof(*r->patches));
        if (!r->patches)
            return CMN_E_NOMEM;
        for (size_t i = 0; i < n; i++) {
            const json_t *po = json_array_get(pa, i);
            char pwhere[48];
            snprintf(pwhere, sizeof(pwhere), "release %zu patch %zu", idx, i);
            if (!json_is_object(po))
                return cmn_errf(eb, CMN_E_PARSE, "%s: must be an object", pwhere);
            if ((rc = check_fields(po, preq, CMN_ARRAY_SIZE(preq), NULL, 0, pwhere, eb)))
                return rc;
            struct cmn_patch_ref *p = &r->patches[i];
            r->n_patches = i + 1;
            if ((rc = get_fixed(po, "base", p->base, sizeof(p->base), pwhere, eb)) ||
                (rc = get_str(po, "url", &p->url, pwhere, eb)) ||
                (rc = get_fixed(po, "sha256", p->sha256, sizeof(p->sha256), pwhere, eb)) ||
                (rc = get_int(po, "size", 1, CMN_CJSON_MAX_INT, &x, pwhere, eb)))
                return rc;
            p->size = (uint64_t)x;
        }
    }
    if (json_object_get(o, "codepush_hash") &&
        (rc = get_fixed(o, "codepush_hash", r->codepush_hash, sizeof(r->codepush_hash), where, eb)))
        return rc;
    if (cmn_semver_range_parse(r->target_binary, &r->target) != CMN_OK)
        return cmn_errf(eb, CMN_E_PARSE, "%s: field 'target_binary' is not a valid version range", where);
    return CMN_OK;
}

static enum cmn_err parse_payload(const json_t *o, struct cmn_manifest *m, struct cmn_errbuf *eb)
{
    static const char *const req[] = {"schema",   "app",       "platform",   "channel",
                                      "sequence", "issued_at", "expires_at", "releases"};
    static const char *const opt[] = {"retired", "codepush_keys"};
    int64_t x;
    enum cmn_err rc;
    if (!json_is_object(o))
        return cmn_errf(eb, CMN_E_PARSE, "payload must be a json object");
    /* Schema first, so a future version is reported as such rather than as unknown fields. */
    const json_t *sch = json_object_get(o, "schema");
    if (!json_is_integer(sch))
        return cmn_errf(eb, CMN_E_PARSE, "payload: field 'schema' must be an integer");
    if (json_integer_value(sch) != CMN_MANIFEST_SCHEMA)
        return cmn_errf(eb, CMN_E_UNSUPPORTED, "manifest schema %lld is not supported (expected %d)",
                        (long long)json_integer_value(sch), CMN_MANIFEST_SCHEMA);
    m->schema = CMN_MANIFEST_SCHEMA;
    if ((rc = check_fields(o, req, CMN_ARRAY_SIZE(req), opt, CMN_ARRAY_SIZE(opt), "payload", eb)))
        return rc;
    const json_t *ret = json_object_get(o, "retired");
    if (ret && !json_is_true(ret))
        return cmn_errf(eb, CMN_E_PARSE, "payload: field 'retired' must be true when present");
    m->retired = ret != NULL;
    const json_t *cpk = json_object_get(o, "codepush_keys");
    if (cpk) {
        if (!json_is_array(cpk) || json_array_size(cpk) == 0 || json_array_size(cpk) > CMN_MANIFEST_MAX_CODEPUSH_KEYS)
            return cmn_errf(eb, CMN_E_PARSE, "payload: field 'codepush_keys' must be an array of 1-%d strings",
                            CMN_MANIFEST_MAX_CODEPUSH_KEYS);
        size_t nk = json_array_size(cpk);
        m->codepush_keys = calloc(nk, sizeof(*m->codepush_keys));
        if (!m->codepush_keys)
            return CMN_E_NOMEM;
        m->n_codepush_keys = nk;
        for (size_t i = 0; i < nk; i++) {
            const json_t *k = json_array_get(cpk, i);
            if (!json_is_string(k) || json_string_length(k) != CMN_SHA256_HEX - 1)
                return cmn_errf(eb, CMN_E_PARSE, "payload: codepush key %zu must be 64 lower-case hex characters", i);
            memcpy(m->codepush_keys[i], json_string_value(k), CMN_SHA256_HEX);
        }
    }
    if ((rc = get_str(o, "app", &m->app, "payload", eb)) ||
        (rc = get_str(o, "platform", &m->platform, "payload", eb)) ||
        (rc = get_str(o, "channel", &m->channel, "payload", eb)))
        return rc;
    if ((rc = get_int(o, "sequence", 1, CMN_CJSON_MAX_INT, &x, "payload", eb)))
        return rc;
    m->sequence = (uint64_t)x;
    if ((rc = get_int(o, "issued_at", 0, CMN_CJSON_MAX_INT, &m->issued_at, "payload", eb)) ||
        (rc = get_int(o, "expires_at", 0, CMN_CJSON_MAX_INT, &m->expires_at, "payload", eb)))
        return rc;
    const json_t *rel = json_object_get(o, "releases");
    if (!json_is_array(rel))
        return cmn_errf(eb, CMN_E_PARSE, "payload: field 'releases' must be an array");
    size_t n = json_array_size(rel);
    if (n > CMN_MANIFEST_MAX_RELEASES)
        return cmn_errf(eb, CMN_E_TOOBIG, "payload: more than %d releases", CMN_MANIFEST_MAX_RELEASES);
    if (n) {
        m->releases = calloc(n, sizeof(*m->releases));
        if (!m->releases)
            return CMN_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        m->n_releases = i + 1; /* so cmn_manifest_free releases a half-parsed entry */
        if ((rc = parse_release(json_array_get(rel, i), i, &m->releases[i], eb)))
            return rc;
    }
    return CMN_OK;
}

static enum cmn_err parse_sig_entry(const json_t *s, size_t idx, char keyid[CMN_KEYID_HEX], uint8_t sig[CMN_SIG_BYTES],
                                    struct cmn_errbuf *eb)
{
    static const char *const req[] = {"keyid", "sig"};
    char where[32];
    snprintf(where, sizeof(where), "signature %zu", idx);
    enum cmn_err rc = check_fields(s, req, 2, NULL, 0, where, eb);
    if (rc)
        return rc;
    const json_t *k = json_object_get(s, "keyid");
    const json_t *g = json_object_get(s, "sig");
    if (!json_is_string(k) || !lowerhex_ok(json_string_value(k), CMN_KEYID_HEX - 1) ||
        json_string_length(k) != CMN_KEYID_HEX - 1)
        return cmn_errf(eb, CMN_E_PARSE, "%s: 'keyid' must be 16 lower-case hex characters", where);
    uint8_t tmp[CMN_SIG_BYTES + 1];
    size_t n = 0;
    if (!json_is_string(g) ||
        cmn_base64_decode(json_string_value(g), json_string_length(g), tmp, sizeof(tmp), &n) != CMN_OK ||
        n != CMN_SIG_BYTES)
        return cmn_errf(eb, CMN_E_PARSE, "%s: 'sig' must be base64 of a 64-byte ed25519 signature", where);
    memcpy(keyid, json_string_value(k), CMN_KEYID_HEX);
    memcpy(sig, tmp, CMN_SIG_BYTES);
    return CMN_OK;
}

enum cmn_err cmn_manifest_open(const void *doc, size_t len, const struct cmn_keyring *trusted,
                               const struct cmn_manifest_expect *expect, int64_t now, unsigned flags,
                               struct cmn_manifest **out, struct cmn_errbuf *eb)
{
    static const char *const env_fields[] = {"payload", "payload_type", "signatures"};
    json_t *env = NULL, *pl = NULL;
    struct cmn_manifest *m = NULL;
    struct cmn_buf canon;
    enum cmn_err rc;
    const char *verified_by = NULL;
    char keyids[MAX_SIGNATURES][CMN_KEYID_HEX];
    int sig_failed = -1; /* index of the first trusted key whose signature did not verify */

    cmn_buf_init(&canon, CMN_MANIFEST_MAX_BYTES);
    if (!doc && len)
        return cmn_errf(eb, CMN_E_INVAL, "no manifest document");
    if (len > CMN_MANIFEST_MAX_BYTES)
        return cmn_errf(eb, CMN_E_TOOBIG, "manifest of %zu bytes exceeds the limit of %u", len, CMN_MANIFEST_MAX_BYTES);

    /* 1. The envelope: strict JSON, exactly three fields. */
    rc = cmn_cjson_parse(doc, len, CMN_MANIFEST_MAX_BYTES, &env, eb);
    if (rc)
        goto out;
    rc = check_fields(env, env_fields, 3, NULL, 0, "manifest envelope", eb);
    if (rc)
        goto out;
    const json_t *ptype = json_object_get(env, "payload_type");
    if (!json_is_string(ptype) || strcmp(json_string_value(ptype), CMN_MANIFEST_PAYLOAD_TYPE) != 0) {
        rc = cmn_errf(eb, CMN_E_PARSE, "manifest envelope: 'payload_type' must be '%s'", CMN_MANIFEST_PAYLOAD_TYPE);
        goto out;
    }
    const json_t *payload = json_object_get(env, "payload");
    if (!json_is_string(payload)) {
        rc = cmn_errf(eb, CMN_E_PARSE, "manifest envelope: 'payload' must be a string");
        goto out;
    }
    const char *pbytes = json_string_value(payload);
    size_t plen = json_string_length(payload);
    const json_t *sigs = json_object_get(env, "signatures");
    if (!json_is_array(sigs) || json_array_size(sigs) == 0 || json_array_size(sigs) > MAX_SIGNATURES) {
        rc = cmn_errf(eb, CMN_E_PARSE, "manifest envelope: 'signatures' must be an array of 1-%d entries",
                      MAX_SIGNATURES);
        goto out;
    }

    /* 2. A signature by a trusted key over the exact payload bytes. */
    for (size_t i = 0; i < json_array_size(sigs); i++) {
        uint8_t sig[CMN_SIG_BYTES];
        rc = parse_sig_entry(json_array_get(sigs, i), i, keyids[i], sig, eb);
        if (rc)
            goto out;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(keyids[j], keyids[i]) == 0) {
                rc = cmn_errf(eb, CMN_E_PARSE, "manifest envelope: key id %s signs twice", keyids[i]);
                goto out;
            }
        }
        if (verified_by)
            continue; /* still parse the rest strictly */
        for (size_t k = 0; trusted && k < trusted->n; k++) {
            struct cmn_key id;
            memset(&id, 0, sizeof(id));
            memcpy(id.pk, trusted->keys[k].pk, CMN_PK_BYTES);
            cmn_key_compute_id(&id); /* the key id is derived, never taken from the caller's struct */
            if (strcmp(id.keyid, keyids[i]) != 0)
                continue;
            if (cmn_verify(&id, CMN_SIGCTX_MANIFEST, pbytes, plen, sig) == CMN_OK) {
                verified_by = keyids[i];
                break;
            }
            if (sig_failed < 0)
                sig_failed = (int)i;
        }
    }
    if (!verified_by) {
        if (sig_failed >= 0) {
            rc = cmn_errf(eb, CMN_E_SIG, "manifest signature by trusted key %s does not verify", keyids[sig_failed]);
        } else {
            /* Name every signer: with several signatures the first one is not "the" key. */
            char who[MAX_SIGNATURES * CMN_KEYID_HEX + 1] = "";
            size_t wl = 0;
            for (size_t i = 0; i < json_array_size(sigs); i++)
                wl += (size_t)snprintf(who + wl, sizeof(who) - wl, "%s%s", i ? "," : "", keyids[i]);
            rc = cmn_errf(eb, CMN_E_UNKNOWN_KEY, "manifest is not signed by a trusted key (signed by %s)", who);
        }
        goto out;
    }

    /* 3. The verified bytes must be canonical; they are the bytes we parse. */
    rc = cmn_cjson_parse(pbytes, plen, CMN_MANIFEST_MAX_BYTES, &pl, eb);
    if (rc)
        goto out;
    rc = cmn_cjson_render(pl, &canon);
    if (rc || canon.len != plen || memcmp(canon.ptr, pbytes, plen) != 0) {
        rc = cmn_errf(eb, CMN_E_PARSE, "manifest payload is not in canonical form");
        goto out;
    }

    /* 4. Fields, then values. */
    m = calloc(1, sizeof(*m));
    if (!m) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    rc = parse_payload(pl, m, eb);
    if (rc)
        goto out;
    rc = cmn_manifest_validate(m, eb);
    if (rc)
        goto out;

    /* 5. Is it the manifest we asked for, still fresh, and not older than what we have? */
    if (expect) {
        if (expect->app && strcmp(expect->app, m->app) != 0) {
            rc = cmn_errf(eb, CMN_E_INVAL, "manifest is for app '%s', expected '%s'", m->app, expect->app);
            goto out;
        }
        if (expect->platform && strcmp(expect->platform, m->platform) != 0) {
            rc = cmn_errf(eb, CMN_E_INVAL, "manifest is for platform '%s', expected '%s'", m->platform,
                          expect->platform);
            goto out;
        }
        if (expect->channel && strcmp(expect->channel, m->channel) != 0) {
            rc = cmn_errf(eb, CMN_E_INVAL, "manifest is for channel '%s', expected '%s'", m->channel, expect->channel);
            goto out;
        }
    }
    if (!(flags & CMN_MANIFEST_ALLOW_EXPIRED) && now >= m->expires_at) {
        rc = cmn_errf(eb, CMN_E_EXPIRED, "manifest expired at %lld (now %lld)", (long long)m->expires_at,
                      (long long)now);
        goto out;
    }
    if (expect && expect->min_sequence && m->sequence < expect->min_sequence) {
        rc = cmn_errf(eb, CMN_E_REPLAY, "manifest sequence %llu is lower than the accepted %llu",
                      (unsigned long long)m->sequence, (unsigned long long)expect->min_sequence);
        goto out;
    }
    m->signed_by = strdup(verified_by);
    if (!m->signed_by) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    *out = m;
    m = NULL;
out:
    if (rc == CMN_E_NOMEM)
        rc = cmn_errf(eb, CMN_E_NOMEM, "out of memory opening the manifest");
    cmn_manifest_free(m);
    json_decref(pl);
    json_decref(env);
    cmn_buf_release(&canon);
    return rc;
}

uint64_t cmn_manifest_next_sequence(uint64_t prev, int64_t now_ms)
{
    const uint64_t max = (uint64_t)CMN_CJSON_MAX_INT;
    if (prev >= max)
        return 0;
    uint64_t next = prev + 1;
    if (now_ms > 0 && (uint64_t)now_ms > next)
        next = (uint64_t)now_ms > max ? max : (uint64_t)now_ms;
    return next;
}

int64_t cmn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- CodePush deployment keys (SPEC section 16) ---- */

long cmn_manifest_codepush_key_find(const struct cmn_manifest *m, const char *hash_hex)
{
    for (size_t i = 0; m && hash_hex && i < m->n_codepush_keys; i++)
        if (strcmp(m->codepush_keys[i], hash_hex) == 0)
            return (long)i;
    return -1;
}

enum cmn_err cmn_manifest_codepush_key_add(struct cmn_manifest *m, const char *hash_hex)
{
    if (!lowerhex_ok(hash_hex, CMN_SHA256_HEX - 1))
        return CMN_E_INVAL;
    if (cmn_manifest_codepush_key_find(m, hash_hex) >= 0)
        return CMN_E_EXISTS;
    if (m->n_codepush_keys >= CMN_MANIFEST_MAX_CODEPUSH_KEYS)
        return CMN_E_TOOBIG;
    char(*nk)[CMN_SHA256_HEX] = realloc(m->codepush_keys, (m->n_codepush_keys + 1) * sizeof(*nk));
    if (!nk)
        return CMN_E_NOMEM;
    m->codepush_keys = nk;
    size_t at = m->n_codepush_keys;
    while (at > 0 && strcmp(nk[at - 1], hash_hex) > 0) {
        memcpy(nk[at], nk[at - 1], CMN_SHA256_HEX);
        at--;
    }
    memcpy(nk[at], hash_hex, CMN_SHA256_HEX);
    m->n_codepush_keys++;
    return CMN_OK;
}

enum cmn_err cmn_manifest_codepush_key_remove(struct cmn_manifest *m, const char *hash_hex)
{
    long at = cmn_manifest_codepush_key_find(m, hash_hex);
    if (at < 0)
        return CMN_E_NOTFOUND;
    memmove(m->codepush_keys[at], m->codepush_keys[at + 1],
            (m->n_codepush_keys - (size_t)at - 1) * sizeof(*m->codepush_keys));
    if (--m->n_codepush_keys == 0)
        CMN_SAFEFREE(m->codepush_keys); /* absent, not an empty list (which validation refuses) */
    return CMN_OK;
}
