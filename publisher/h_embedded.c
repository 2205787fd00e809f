/*
 * h_embedded.c - the embedded bundles registered as patch bases
 * (common/embedded.h, manifests/SPEC.md section 14 "Embedded bases"):
 *
 *   POST   /v1/apps/:app/platforms/:platform/embedded           multipart "metadata" + "bundle" (the zip)
 *   GET    /v1/apps/:app/platforms/:platform/embedded           {"bases":[...]}
 *   DELETE /v1/apps/:app/platforms/:platform/embedded/:version
 *
 * The registry lives in storage, not in Postgres: the publisher writes the
 * same objects `hotpatch embedded add` writes serverless (cmn_embedded_add,
 * conditional PUT), so both modes and the background patch builder read one
 * layout. The upload streams into a spool file (h_upload.c); before anything
 * is stored, the zip's content digest is computed from its entries
 * (pub_bundle_content: path, size, SHA-256 of each regular file,
 * common/patch.h) and must equal the declared one: the registry is unsigned,
 * but it names what the zip is.
 * Every change is audited (embedded.add / embedded.remove).
 */
#include "common/compat.h"

#include <time.h>

#include "common/cjson.h"
#include "common/embedded.h"
#include "common/log.h"
#include "common/patch.h"
#include "pub_handlers.h"

static int hex64(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int pub_embedded_meta(struct pub_srv *s, struct pub_req *r, const char *meta, size_t len, struct pub_embmeta *m,
                      struct pub_resp *out)
{
    static const char *const allowed[] = {"binary_version", "content_sha256", "sha256", "size", NULL};
    struct cmn_errbuf eb = {0};
    json_t *doc = NULL;
    const char *v = NULL, *cs = NULL, *zs = NULL;
    long long size = 0;
    enum cmn_err rc = pub_json_body(meta, len, 64u << 10, &doc, &eb);
    if (!rc && !json_is_object(doc))
        rc = cmn_errf(&eb, CMN_E_PARSE, "metadata must be a JSON object");
    if (!rc)
        rc = pub_jkeys(doc, allowed, &eb);
    if (!rc)
        rc = pub_jstr(doc, "binary_version", 1, CMN_EMBEDDED_VERSION_MAX, &v, &eb);
    if (!rc)
        rc = pub_jstr(doc, "content_sha256", 1, 64, &cs, &eb);
    if (!rc)
        rc = pub_jstr(doc, "sha256", 1, 64, &zs, &eb);
    if (!rc)
        rc = pub_jint(doc, "size", 1, 1, CMN_CJSON_MAX_INT, &size, &eb);
    if (!rc && !cmn_embedded_version_ok(v))
        rc = cmn_errf(&eb, CMN_E_PARSE, "binary_version '%s' is not a version", v);
    if (!rc && (!hex64(cs) || !hex64(zs)))
        rc = cmn_errf(&eb, CMN_E_PARSE, "content_sha256 and sha256 must be 64 lower-case hex characters");
    if (rc) {
        json_decref(doc);
        return !pub_err(out, 400, "bad_metadata", "%s", cmn_errmsg(&eb, rc));
    }
    if ((uint64_t)size > s->cfg->max_upload) {
        json_decref(doc);
        return !pub_err(out, 413, "too_large", "zip of %lld bytes exceeds the limit of %llu bytes", size,
                        (unsigned long long)s->cfg->max_upload);
    }
    snprintf(m->binary_version, sizeof(m->binary_version), "%s", v);
    snprintf(m->content_sha256, sizeof(m->content_sha256), "%s", cs);
    snprintf(m->sha256, sizeof(m->sha256), "%s", zs);
    m->size = (uint64_t)size;
    json_decref(doc);
    if (!pub_valid_id(r->segs[4]))
        return !pub_err(out, 400, "bad_request", "bad platform");
    struct pub_dbconn *c = pub_reply_db(s, out);
    if (!c)
        return 1;
    PGresult *a = pub_h_app(c, r, r->segs[2], out);
    if (a) {
        m->app_id = pub_cell_i64(a, 0, 0);
        m->org_id = pub_cell_i64(a, 0, 1);
        PQclear(a);
    }
    pub_db_put(s->db, c);
    return a ? 0 : 1;
}

static json_t *base_json(const struct cmn_embedded_base *b)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:s}", "binary_version", b->binary_version, "content_sha256", b->content_sha256,
                     "key", b->key, "size", (json_int_t)b->size, "added", b->added);
}

static void change_reply(struct pub_resp *out, int status, const struct cmn_embedded_change *ch)
{
    json_t *o =
        json_pack("{s:o,s:b,s:b}", "base", base_json(&ch->entry), "changed", ch->changed, "replaced", ch->replaced);
    if (ch->old_sha256[0])
        json_object_set_new(o, "old_content_sha256", json_string(ch->old_sha256));
    pub_json_reply(out, status, o);
}

static void storage_error(struct pub_resp *out, enum cmn_err rc, const struct cmn_errbuf *eb)
{
    if (rc == CMN_E_PARSE)
        pub_err(out, 500, "bad_registry", "%s", cmn_errmsg(eb, rc));
    else if (rc == CMN_E_CONFLICT)
        pub_err(out, 409, "conflict", "%s", cmn_errmsg(eb, rc));
    else
        pub_err(out, 503, "storage_unavailable", "%s", cmn_errmsg(eb, rc));
}

void pub_h_embedded_add(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const struct pub_embmeta *m = NULL;
    const char *zip = NULL;
    const char *app = r->segs[2], *platform = r->segs[4];
    struct cmn_errbuf eb = {0};
    struct cmn_embedded_change ch;
    struct cmn_storage *st = NULL;
    uint8_t d[CMN_SHA256_BYTES];
    char hex[CMN_SHA256_HEX];
    size_t nfiles = 0;
    enum cmn_err rc;
    if (pub_upload_embedded_done(s, r, &m, &zip, out))
        return;
    rc = pub_bundle_content(zip, d, &nfiles, &eb);
    if (rc == CMN_E_NOMEM) {
        pub_err(out, 500, "internal", "out of memory");
        return;
    }
    if (rc) {
        pub_err(out, rc == CMN_E_TOOBIG ? 413 : 400, rc == CMN_E_TOOBIG ? "too_large" : "bad_bundle", "%s",
                cmn_errmsg(&eb, rc));
        return;
    }
    cmn_hex_encode(d, sizeof(d), hex);
    if (strcmp(hex, m->content_sha256) != 0) {
        pub_err(out, 400, "content_mismatch", "the zip extracts to content %s, but metadata.content_sha256 says %s",
                hex, m->content_sha256);
        return;
    }
    memset(&ch, 0, sizeof(ch));
    rc = pub_storage_open(s, &st, &eb);
    if (!rc)
        rc = cmn_embedded_add(st, app, platform, m->binary_version, zip, NULL, 0, hex, (int64_t)time(NULL), &ch, &eb);
    cmn_storage_free(st);
    if (rc) {
        storage_error(out, rc, &eb);
        return;
    }
    if (ch.changed && pub_h_audit(c, r->who.actor, m->org_id, m->app_id, NULL, "embedded.add",
                                  json_pack("{s:s,s:s,s:s,s:I,s:s?}", "platform", platform, "binary_version",
                                            m->binary_version, "content_sha256", hex, "files", (json_int_t)nfiles,
                                            "replaced", ch.replaced ? ch.old_sha256 : NULL)))
        cmn_warn("embedded %s/%s %s registered but not audited (database)", app, platform, m->binary_version);
    change_reply(out, ch.changed ? 201 : 200, &ch);
}

void pub_h_embedded_list(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *platform = r->segs[4];
    struct cmn_errbuf eb = {0};
    struct cmn_storage *st = NULL;
    struct cmn_embedded reg;
    if (!pub_valid_id(platform)) {
        pub_err(out, 400, "bad_request", "bad platform");
        return;
    }
    PGresult *a = pub_h_app(c, r, r->segs[2], out);
    if (!a)
        return;
    PQclear(a);
    cmn_embedded_init(&reg);
    enum cmn_err rc = pub_storage_open(s, &st, &eb);
    if (!rc)
        rc = cmn_embedded_list(st, r->segs[2], platform, &reg, NULL, &eb);
    cmn_storage_free(st);
    if (rc) {
        storage_error(out, rc, &eb);
        cmn_embedded_release(&reg);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < reg.n; i++)
        json_array_append_new(arr, base_json(&reg.v[i]));
    cmn_embedded_release(&reg);
    pub_json_reply(out, 200, json_pack("{s:o}", "bases", arr));
}

void pub_h_embedded_remove(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *app = r->segs[2], *platform = r->segs[4], *version = r->segs[6];
    struct cmn_errbuf eb = {0};
    struct cmn_storage *st = NULL;
    struct cmn_embedded_change ch;
    if (!pub_valid_id(platform) || !cmn_embedded_version_ok(version)) {
        pub_err(out, 400, "bad_request", "bad platform or binary version");
        return;
    }
    PGresult *a = pub_h_app(c, r, app, out);
    if (!a)
        return;
    int64_t app_id = pub_cell_i64(a, 0, 0), org_id = pub_cell_i64(a, 0, 1);
    PQclear(a);
    memset(&ch, 0, sizeof(ch));
    enum cmn_err rc = pub_storage_open(s, &st, &eb);
    if (!rc)
        rc = cmn_embedded_remove(st, app, platform, version, &ch, &eb);
    cmn_storage_free(st);
    if (rc == CMN_E_NOTFOUND) {
        pub_err(out, 404, "not_found", "no embedded bundle registered for %s/%s binary %s", app, platform, version);
        return;
    }
    if (rc) {
        storage_error(out, rc, &eb);
        return;
    }
    if (pub_h_audit(c, r->who.actor, org_id, app_id, NULL, "embedded.remove",
                    json_pack("{s:s,s:s,s:s}", "platform", platform, "binary_version", version, "content_sha256",
                              ch.old_sha256)))
        cmn_warn("embedded %s/%s %s removed but not audited (database)", app, platform, version);
    change_reply(out, 200, &ch);
}
