/*
 * embedded.c - the registry of embedded bundles (embedded.h): parse, render,
 * set/unset an entry, and the writers' edit of it (the conditional
 * read-merge-write loop itself is cmn_storage_update's).
 *
 * The registry decides nothing on a device (a base is an identity; the
 * release key's content digest is the final word), but writers build
 * patches from what it names, so the parser is strict and bounded, and a
 * key is never taken from the document: it must be the canonical key of
 * the entry's digest, so a hostile registry cannot point a writer at
 * another app's objects.
 */
#include "common/compat.h"

#include <inttypes.h>
#include <jansson.h>
#include <sys/stat.h>
#include <time.h>

#include "common/cjson.h"
#include "common/embedded.h"
#include "common/ident.h"
#include "common/log.h"
#include "common/semver.h"
#include "common/sorted.h"

#define REG_WRITE_ATTEMPTS 16

void cmn_embedded_init(struct cmn_embedded *r)
{
    memset(r, 0, sizeof(*r));
}

void cmn_embedded_release(struct cmn_embedded *r)
{
    free(r->v);
    memset(r, 0, sizeof(*r));
}

static int version_ok_n(const char *v, size_t n)
{
    char tmp[CMN_EMBEDDED_VERSION_MAX + 1];
    struct cmn_semver sv;
    if (!v || n == 0 || n > CMN_EMBEDDED_VERSION_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '+'))
            return 0;
    }
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    return cmn_semver_parse(tmp, &sv) == CMN_OK;
}

int cmn_embedded_version_ok(const char *v)
{
    return v && version_ok_n(v, strnlen(v, CMN_EMBEDDED_VERSION_MAX + 1));
}

static int hex64_ok(const char *s, size_t n)
{
    if (!s || n != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* "YYYY-MM-DDTHH:MM:SSZ" with plausible field ranges. */
static int time_ok(const char *s, size_t n)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (n != sizeof(shape) - 1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return 0;
    }
    int mo = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    int h = (s[11] - '0') * 10 + (s[12] - '0'), mi = (s[14] - '0') * 10 + (s[15] - '0');
    int se = (s[17] - '0') * 10 + (s[18] - '0');
    return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && se <= 60;
}

void cmn_embedded_time(int64_t t, char out[CMN_EMBEDDED_TIME_MAX])
{
    struct tm tm;
    time_t tt = (time_t)(t < 0 ? 0 : t);
    if (!gmtime_r(&tt, &tm) || strftime(out, CMN_EMBEDDED_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, CMN_EMBEDDED_TIME_MAX, "1970-01-01T00:00:00Z");
}

enum cmn_err cmn_embedded_index_key(const char *app, const char *platform, char *out, size_t cap)
{
    if (!cmn_id_valid(app) || !cmn_id_valid(platform))
        return CMN_E_INVAL;
    int n = snprintf(out, cap, "embedded/%s/%s/index.json", app, platform);
    return n < 0 || (size_t)n >= cap ? CMN_E_INVAL : CMN_OK;
}

enum cmn_err cmn_embedded_zip_key(const char *app, const char *platform, const char *content_sha256, char *out,
                                  size_t cap)
{
    if (!cmn_id_valid(app) || !cmn_id_valid(platform) || !content_sha256 ||
        !hex64_ok(content_sha256, strnlen(content_sha256, 65)))
        return CMN_E_INVAL;
    int n = snprintf(out, cap, "embedded/%s/%s/%s.zip", app, platform, content_sha256);
    return n < 0 || (size_t)n >= cap ? CMN_E_INVAL : CMN_OK;
}

/* Index of binary_version, or -(insertion point)-1. */
static long find_pos(const struct cmn_embedded *r, const char *v)
{
    return cmn_sorted_find(r->v, r->n, sizeof(*r->v), offsetof(struct cmn_embedded_base, binary_version), v);
}

const struct cmn_embedded_base *cmn_embedded_find(const struct cmn_embedded *r, const char *binary_version)
{
    if (!binary_version)
        return NULL;
    long i = find_pos(r, binary_version);
    return i >= 0 ? &r->v[i] : NULL;
}

/* An entry as the parser would accept it; the key is checked by the callers that know app/platform. */
static int base_ok(const struct cmn_embedded_base *b)
{
    return cmn_embedded_version_ok(b->binary_version) && hex64_ok(b->content_sha256, strlen(b->content_sha256)) &&
           b->size >= 1 && b->size <= (uint64_t)CMN_CJSON_MAX_INT && time_ok(b->added, strlen(b->added)) &&
           b->key[0] != '\0';
}

int cmn_embedded_set(struct cmn_embedded *r, const struct cmn_embedded_base *b, char old_sha256[CMN_SHA256_HEX])
{
    if (!b || !base_ok(b))
        return -1;
    long i = find_pos(r, b->binary_version);
    if (i >= 0) {
        struct cmn_embedded_base *e = &r->v[i];
        if (strcmp(e->content_sha256, b->content_sha256) == 0)
            return 0;
        if (old_sha256)
            memcpy(old_sha256, e->content_sha256, CMN_SHA256_HEX);
        *e = *b;
        return 2;
    }
    if (r->n >= CMN_EMBEDDED_MAX_BASES)
        return -1;
    size_t at = (size_t)(-i - 1);
    struct cmn_embedded_base *nv = cmn_sorted_open_slot(r->v, &r->n, &r->cap, sizeof(*r->v), at, 8);
    if (!nv)
        return -1;
    r->v = nv;
    r->v[at] = *b;
    return 1;
}

int cmn_embedded_unset(struct cmn_embedded *r, const char *binary_version)
{
    long i = binary_version ? find_pos(r, binary_version) : -1;
    if (i < 0)
        return 0;
    memmove(&r->v[i], &r->v[i + 1], (r->n - (size_t)i - 1) * sizeof(*r->v));
    r->n--;
    return 1;
}

/* The string member `name` of o into out[cap] when it passes `check`; 0 otherwise. */
static int get_str(json_t *o, const char *name, char *out, size_t cap, int (*check)(const char *, size_t))
{
    json_t *v = json_object_get(o, name);
    if (!json_is_string(v))
        return 0;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n >= cap || memchr(s, '\0', n) || !check(s, n))
        return 0;
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

static int key_shape_ok(const char *s, size_t n)
{
    (void)s;
    return n > 0;
}

enum cmn_err cmn_embedded_parse(const char *doc, size_t len, const char *app, const char *platform,
                                struct cmn_embedded *out, struct cmn_errbuf *eb)
{
    static const char *const members[] = {"binary_version", "content_sha256", "key", "size", "added"};
    struct cmn_embedded r;
    json_t *root = NULL;
    enum cmn_err rc;
    char want[CMN_EMBEDDED_KEY_MAX];
    cmn_embedded_init(&r);
    if (!cmn_id_valid(app) || !cmn_id_valid(platform))
        return cmn_errf(eb, CMN_E_INVAL, "embedded registry: bad app or platform");
    if (len > CMN_EMBEDDED_MAX_BYTES)
        return cmn_errf(eb, CMN_E_TOOBIG, "larger than %zu bytes", CMN_EMBEDDED_MAX_BYTES);
    if ((rc = cmn_cjson_parse(doc, len, CMN_EMBEDDED_MAX_BYTES, &root, eb)))
        return rc == CMN_E_TOOBIG ? rc : CMN_E_PARSE;
    json_t *arr = json_object_get(root, "bases");
    if (!json_is_object(root) || json_object_size(root) != 1 || !json_is_array(arr)) {
        rc = cmn_errf(eb, CMN_E_PARSE, "expected exactly {\"bases\":[...]}");
        goto out;
    }
    size_t n = json_array_size(arr);
    if (n > CMN_EMBEDDED_MAX_BASES) {
        rc = cmn_errf(eb, CMN_E_TOOBIG, "more than %d bases", CMN_EMBEDDED_MAX_BASES);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        struct cmn_embedded_base b;
        memset(&b, 0, sizeof(b));
        if (!json_is_object(e) || json_object_size(e) != 5) {
            rc = cmn_errf(eb, CMN_E_PARSE, "base %zu must be an object with exactly %zu members", i,
                          sizeof(members) / sizeof(members[0]));
            goto out;
        }
        for (size_t m = 0; m < sizeof(members) / sizeof(members[0]); m++)
            if (!json_object_get(e, members[m])) {
                rc = cmn_errf(eb, CMN_E_PARSE, "base %zu lacks '%s'", i, members[m]);
                goto out;
            }
        if (!get_str(e, "binary_version", b.binary_version, sizeof(b.binary_version), version_ok_n)) {
            rc = cmn_errf(eb, CMN_E_PARSE, "base %zu has a bad binary_version", i);
            goto out;
        }
        if (!get_str(e, "content_sha256", b.content_sha256, sizeof(b.content_sha256), hex64_ok)) {
            rc = cmn_errf(eb, CMN_E_PARSE, "base %zu ('%s') has a bad content_sha256", i, b.binary_version);
            goto out;
        }
        if (!get_str(e, "key", b.key, sizeof(b.key), key_shape_ok) ||
            cmn_embedded_zip_key(app, platform, b.content_sha256, want, sizeof(want)) != CMN_OK ||
            strcmp(b.key, want) != 0) {
            rc = cmn_errf(eb, CMN_E_PARSE, "base %zu ('%s') key is not '%s'", i, b.binary_version, want);
            goto out;
        }
        json_t *sz = json_object_get(e, "size");
        if (!json_is_integer(sz) || json_integer_value(sz) < 1) {
            rc = cmn_errf(eb, CMN_E_PARSE, "base %zu ('%s') has a bad size", i, b.binary_version);
            goto out;
        }
        b.size = (uint64_t)json_integer_value(sz);
        if (!get_str(e, "added", b.added, sizeof(b.added), time_ok)) {
            rc = cmn_errf(eb, CMN_E_PARSE, "base %zu ('%s') has a bad 'added' time", i, b.binary_version);
            goto out;
        }
        if (cmn_embedded_find(&r, b.binary_version)) {
            rc = cmn_errf(eb, CMN_E_PARSE, "binary_version '%s' is listed twice", b.binary_version);
            goto out;
        }
        if (cmn_embedded_set(&r, &b, NULL) != 1) {
            rc = CMN_E_NOMEM;
            goto out;
        }
    }
    rc = CMN_OK;
out:
    json_decref(root);
    if (rc) {
        cmn_embedded_release(&r);
        return rc;
    }
    cmn_embedded_release(out);
    *out = r;
    return CMN_OK;
}

enum cmn_err cmn_embedded_render(const struct cmn_embedded *r, struct cmn_buf *out)
{
    /* Every string was checked on its way in ([0-9A-Za-z.+-], hex, ids, the time shape): no escaping needed. */
    enum cmn_err rc = cmn_buf_addstr(out, "{\"bases\":[");
    for (size_t i = 0; i < r->n && !rc; i++) {
        const struct cmn_embedded_base *b = &r->v[i];
        rc = cmn_buf_addf(out,
                          "%s{\"binary_version\":\"%s\",\"content_sha256\":\"%s\",\"key\":\"%s\",\"size\":%" PRIu64
                          ",\"added\":\"%s\"}",
                          i ? "," : "", b->binary_version, b->content_sha256, b->key, b->size, b->added);
    }
    if (!rc)
        rc = cmn_buf_addstr(out, "]}\n");
    return rc;
}

/* Parse the stored registry `key`; a failure says which object is damaged and what to do. */
static enum cmn_err parse_stored(const char *key, const char *doc, size_t len, const char *app, const char *platform,
                                 struct cmn_embedded *r, struct cmn_errbuf *eb)
{
    struct cmn_errbuf e2 = {{0}};
    enum cmn_err rc = cmn_embedded_parse(doc, len, app, platform, r, &e2);
    if (rc)
        rc = cmn_errf(eb, rc, "embedded registry '%s' is unusable (%s): fix or delete it", key, cmn_errmsg(&e2, rc));
    return rc;
}

enum cmn_err cmn_embedded_list(struct cmn_storage *st, const char *app, const char *platform, struct cmn_embedded *r,
                               char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb)
{
    char key[CMN_EMBEDDED_KEY_MAX], etag[CMN_ETAG_MAX] = "";
    struct cmn_buf doc;
    struct cmn_errbuf e2 = {{0}};
    struct cmn_get_opts go = {.max_size = CMN_EMBEDDED_MAX_BYTES};
    enum cmn_err rc;
    if (cmn_embedded_index_key(app, platform, key, sizeof(key)))
        return cmn_errf(eb, CMN_E_INVAL, "embedded registry: bad app or platform");
    cmn_buf_init(&doc, CMN_EMBEDDED_MAX_BYTES);
    rc = cmn_storage_get(st, key, &go, &doc, etag, &e2);
    if (rc == CMN_E_NOTFOUND) {
        cmn_embedded_release(r);
        etag[0] = '\0';
        rc = CMN_OK;
    } else if (rc) {
        rc = cmn_errf(eb, rc, "cannot read embedded registry '%s': %s", key, cmn_errmsg(&e2, rc));
    } else {
        rc = parse_stored(key, doc.ptr ? doc.ptr : "", doc.len, app, platform, r, eb);
    }
    if (!rc && etag_out)
        memcpy(etag_out, etag, CMN_ETAG_MAX);
    cmn_buf_release(&doc);
    return rc;
}

/* One edit of the registry, applied to the freshly read copy on every attempt. */
struct reg_edit {
    const char *app, *platform;
    const struct cmn_embedded_base *set; /* add this entry, or */
    const char *unset;                   /* remove this version */
    struct cmn_embedded_change *ch;
};

/* 1 when the registry changed, 0 when nothing to write, negative enum cmn_err on failure. */
static int apply_edit(struct cmn_embedded *r, struct reg_edit *ed)
{
    if (ed->set) {
        const struct cmn_embedded_base *cur = cmn_embedded_find(r, ed->set->binary_version);
        char old[CMN_SHA256_HEX] = "";
        if (cur && strcmp(cur->content_sha256, ed->set->content_sha256) == 0) {
            ed->ch->entry = *cur; /* keep its first `added` */
            ed->ch->replaced = 0;
            return 0;
        }
        int s = cmn_embedded_set(r, ed->set, old);
        if (s < 0)
            return -(int)CMN_E_NOMEM;
        ed->ch->entry = *ed->set;
        ed->ch->replaced = s == 2;
        memcpy(ed->ch->old_sha256, old, sizeof(old));
        return 1;
    }
    const struct cmn_embedded_base *cur = cmn_embedded_find(r, ed->unset);
    if (!cur)
        return -(int)CMN_E_NOTFOUND;
    memcpy(ed->ch->old_sha256, cur->content_sha256, CMN_SHA256_HEX);
    ed->ch->entry = *cur;
    (void)cmn_embedded_unset(r, ed->unset);
    return 1;
}

/* The cmn_storage_update callback: parse what is stored, apply the edit, render. */
static enum cmn_err registry_edit(void *ctx, struct cmn_storage_edit *sed, struct cmn_errbuf *eb)
{
    struct reg_edit *ed = ctx;
    struct cmn_embedded r;
    enum cmn_err rc = CMN_OK;
    cmn_embedded_init(&r);
    if (sed->cur && (rc = parse_stored(sed->key, sed->cur, sed->cur_len, ed->app, ed->platform, &r, eb)))
        goto out;
    int a = apply_edit(&r, ed);
    if (a < 0) {
        rc = (enum cmn_err)(-a);
        if (rc == CMN_E_NOTFOUND)
            rc = cmn_errf(eb, rc, "binary version '%s' has no embedded base in '%s'", ed->unset, sed->key);
        goto out;
    }
    if (a == 0)
        sed->keep = 1;
    else
        rc = cmn_embedded_render(&r, sed->out);
out:
    cmn_embedded_release(&r);
    return rc;
}

static enum cmn_err registry_update(struct cmn_storage *st, struct reg_edit *ed, struct cmn_errbuf *eb)
{
    char key[CMN_EMBEDDED_KEY_MAX];
    struct cmn_storage_update_result res;
    struct cmn_storage_update_opts uo = {.what = "embedded registry",
                                         .max_size = CMN_EMBEDDED_MAX_BYTES,
                                         .max_attempts = REG_WRITE_ATTEMPTS,
                                         .content_type = "application/json",
                                         .cache_control = "no-cache"};
    if (cmn_embedded_index_key(ed->app, ed->platform, key, sizeof(key)))
        return cmn_errf(eb, CMN_E_INVAL, "embedded registry: bad app or platform");
    enum cmn_err rc = cmn_storage_update(st, key, registry_edit, ed, &uo, &res, eb);
    if (!rc)
        ed->ch->changed = res.written;
    return rc;
}

enum cmn_err cmn_embedded_add(struct cmn_storage *st, const char *app, const char *platform, const char *binary_version,
                              const char *zip_path, const void *zip, size_t zip_len, const char *content_sha256,
                              int64_t now, struct cmn_embedded_change *change, struct cmn_errbuf *eb)
{
    struct cmn_embedded_base b;
    struct cmn_embedded_change ch;
    struct cmn_errbuf e2 = {{0}};
    enum cmn_err rc;
    uint64_t size;
    memset(&b, 0, sizeof(b));
    memset(&ch, 0, sizeof(ch));
    if (!cmn_embedded_version_ok(binary_version))
        return cmn_errf(eb, CMN_E_INVAL, "'%s' is not a binary version (a semver of at most %d characters)",
                        binary_version ? binary_version : "", CMN_EMBEDDED_VERSION_MAX);
    if (!content_sha256 || !hex64_ok(content_sha256, strnlen(content_sha256, 65)))
        return cmn_errf(eb, CMN_E_INVAL, "content digest must be 64 lower-case hex characters");
    if (cmn_embedded_zip_key(app, platform, content_sha256, b.key, sizeof(b.key)))
        return cmn_errf(eb, CMN_E_INVAL, "bad app '%s' or platform '%s'", app ? app : "", platform ? platform : "");
    if (zip_path) {
        struct stat sb;
        if (stat(zip_path, &sb) != 0 || !S_ISREG(sb.st_mode))
            return cmn_errf(eb, CMN_E_IO, "cannot read '%s': %s", zip_path, strerror(errno));
        size = (uint64_t)sb.st_size;
    } else {
        if (!zip)
            return cmn_errf(eb, CMN_E_INVAL, "no zip given");
        size = zip_len;
    }
    if (size == 0 || size > (uint64_t)CMN_CJSON_MAX_INT)
        return cmn_errf(eb, CMN_E_INVAL, "the zip is empty or too large");
    snprintf(b.binary_version, sizeof(b.binary_version), "%s", binary_version);
    memcpy(b.content_sha256, content_sha256, 64);
    b.content_sha256[64] = '\0';
    b.size = size;
    cmn_embedded_time(now, b.added);

    /* 1. the zip, content-addressed. An object already there holds the same content; when it has other bytes
     * (another zip implementation) ours replaces it, because writers check the stored zip's size against the
     * entry we are about to write. */
    uint64_t have = 0;
    rc = cmn_storage_head(st, b.key, NULL, &have, &e2);
    if (rc == CMN_E_NOTFOUND || (rc == CMN_OK && have != size)) {
        struct cmn_put_opts po = {.if_none_match = rc == CMN_E_NOTFOUND,
                                  .content_type = "application/zip",
                                  .cache_control = "public, max-age=31536000, immutable"};
        for (int attempt = 0; attempt < 2; attempt++) {
            e2.msg[0] = '\0';
            rc = zip_path ? cmn_storage_put_file(st, b.key, zip_path, &po, NULL, &e2)
                          : cmn_storage_put(st, b.key, zip, zip_len, &po, NULL, &e2);
            if (rc != CMN_E_CONFLICT)
                break;
            /* a concurrent writer stored it first: keep theirs when it is byte-for-byte the same size */
            rc = cmn_storage_head(st, b.key, NULL, &have, &e2);
            if (rc || have == size)
                break;
            po.if_none_match = 0;
        }
    }
    if (rc)
        return cmn_errf(eb, rc, "cannot store '%s': %s", b.key, cmn_errmsg(&e2, rc));

    /* 2. the registry entry */
    struct reg_edit ed = {.app = app, .platform = platform, .set = &b, .unset = NULL, .ch = &ch};
    if ((rc = registry_update(st, &ed, eb)))
        return rc;
    if (change)
        *change = ch;
    return CMN_OK;
}

enum cmn_err cmn_embedded_remove(struct cmn_storage *st, const char *app, const char *platform,
                                 const char *binary_version, struct cmn_embedded_change *change, struct cmn_errbuf *eb)
{
    struct cmn_embedded_change ch;
    enum cmn_err rc;
    memset(&ch, 0, sizeof(ch));
    if (!cmn_embedded_version_ok(binary_version))
        return cmn_errf(eb, CMN_E_INVAL, "'%s' is not a binary version", binary_version ? binary_version : "");
    struct reg_edit ed = {.app = app, .platform = platform, .set = NULL, .unset = binary_version, .ch = &ch};
    if ((rc = registry_update(st, &ed, eb)))
        return rc;
    if (change)
        *change = ch;
    return CMN_OK;
}
