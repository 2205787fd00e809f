/*
 * h_upload.c - POST /v1/releases: the streamed multipart upload.
 *
 * The upload is multipart/form-data with a "metadata" part (JSON) and a
 * "bundle" part (the zip). The bundle streams into a private spool file while
 * it is hashed; nothing is buffered whole. As soon as the metadata part is
 * complete the caller's role on the app and the release key are checked, so
 * a refused upload stops being written at once. At the end the digest, size
 * and Ed25519 bundle signature (by a release key registered for the app) must
 * all match; then release.c's pub_release_new stores it.
 *
 * The same stream serves the seed shapes (docs/compatibility.md): POST
 * /releases (seed 000/001: "metadata.json" + "signature.sig" + the bundle)
 * and POST /api/admin/firmware/upload (seed 002: a "file" part, the rest in
 * the query). Their metadata is only complete once the bundle is hashed, so
 * upload_seed_meta (h_seed.c) translates it into our metadata at the end and
 * the same checks (role, release key, size, digest, signatures) run on it.
 *
 * And the embedded-bundle upload (POST /v1/apps/:app/platforms/:platform/
 * embedded, h_embedded.c): the same "metadata" + "bundle" parts, its metadata
 * checked by pub_embedded_meta (role on the app) as soon as it is complete;
 * pub_upload_embedded_done hands the verified spool file to the handler.
 */
#include "common/compat.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "common/log.h"
#include "common/codepush.h"
#include "common/patch.h"
#include "pub_handlers.h"
#include "pub_multipart.h"

#define META_MAX (64u << 10)

enum part_kind { PART_NONE = 0, PART_META, PART_BUNDLE, PART_SKIP, PART_SIG };

struct pub_upload {
    struct pub_srv *s;
    struct pub_req *r;
    struct pub_mp mp;
    enum part_kind part;
    struct cmn_buf meta;
    int have_meta, have_bundle, bundle_done;
    char tmppath[PATH_MAX];
    int fd;
    struct cmn_sha256 h;
    uint64_t size;
    struct pub_relmeta rm;
    int meta_ok;
    int64_t app_id, org_id;
    struct cmn_key rkey;
    int failed;
    struct pub_resp *out;
    /* seed shapes (h_seed.c): which one, the seed's signature.sig part, and
     * "the only signature is the legacy one" (bundle_sig == legacy_signature) */
    enum pub_upload_shape shape;
    struct cmn_buf sig;
    int have_sig;
    int legacy_only;
    int app_legacy;         /* the app opted in to the legacy signature */
    struct pub_embmeta emb; /* PUB_UPLOAD_EMBEDDED: its metadata */
};

static void upload_free(struct pub_upload *up)
{
    if (!up)
        return;
    if (up->fd >= 0)
        close(up->fd);
    if (up->tmppath[0])
        unlink(up->tmppath);
    cmn_buf_release(&up->meta);
    cmn_buf_release(&up->sig);
    pub_relmeta_release(&up->rm);
    cmn_key_clear(&up->rkey);
    free(up);
}

static int up_fail(struct pub_upload *up, int status, const char *code, const char *msg)
{
    if (!up->failed)
        pub_err(up->out, status, code, "%s", msg);
    up->failed = 1;
    return 1;
}

/* Look up the app, the caller's role on it and the release key named by the metadata. */
static int check_meta(struct pub_upload *up)
{
    struct pub_srv *s = up->s;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = pub_relmeta_parse(up->meta.ptr ? up->meta.ptr : "", up->meta.len, &up->rm, &eb);
    if (rc)
        return up_fail(up, 400, "bad_metadata", cmn_errmsg(&eb, rc));
    if ((uint64_t)up->rm.size > s->cfg->max_upload) {
        char msg[128];
        snprintf(msg, sizeof(msg), "bundle of %lld bytes exceeds the limit of %llu bytes", up->rm.size,
                 (unsigned long long)s->cfg->max_upload);
        return up_fail(up, 413, "too_large", msg);
    }
    struct pub_dbconn *c = up->failed ? NULL : pub_reply_db(s, up->out);
    if (!c) {
        up->failed = 1;
        return 1;
    }
    const char *p1[] = {up->rm.app};
    PGresult *r = pub_q(c, Q_APP_BY_NAME, p1);
    int fail = 0;
    if (!pub_res_ok(r)) {
        fail = up_fail(up, 503, "database_unavailable", "database unavailable");
    } else if (PQntuples(r) != 1) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no app named '%s'", up->rm.app);
        fail = up_fail(up, 404, "not_found", msg);
    } else {
        up->app_id = pub_cell_i64(r, 0, 0);
        up->org_id = pub_cell_i64(r, 0, 1);
        up->app_legacy = pub_cell(r, 0, 6)[0] == 't';
    }
    PQclear(r);
    /* The legacy signature is opt-in per app (docs/compatibility.md): both ways are refused. */
    if (!fail && up->rm.legacy_signature && !up->app_legacy) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "app '%s' has not opted in to legacy signatures (PATCH /v1/apps/%s "
                 "{\"legacy_signature\": true})",
                 up->rm.app, up->rm.app);
        fail = up_fail(up, 400, "legacy_signature_not_enabled", msg);
    } else if (!fail && !up->rm.legacy_signature && up->app_legacy) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "app '%s' opted in to legacy signatures: the release needs legacy_signature "
                 "(hotpatch release --legacy-signature)",
                 up->rm.app);
        fail = up_fail(up, 400, "legacy_signature_required", msg);
    }
    if (!fail && pub_auth_role(c, &up->r->who, up->org_id, up->app_id) < up->r->route->role) {
        char msg[160];
        snprintf(msg, sizeof(msg), "releasing to app '%s' needs the write role", up->rm.app);
        fail = up_fail(up, 403, "forbidden", msg);
    }
    if (!fail) {
        char aid[24];
        I64(aid, up->app_id);
        const char *p2[] = {aid, up->rm.bundle_keyid};
        r = pub_q(c, Q_RKEY_BY_KEYID, p2);
        if (!pub_res_ok(r)) {
            fail = up_fail(up, 503, "database_unavailable", "database unavailable");
        } else if (PQntuples(r) != 1) {
            char msg[200];
            snprintf(msg, sizeof(msg), "bundle signed by key %s, which is not a release key registered for app '%s'",
                     up->rm.bundle_keyid, up->rm.app);
            fail = up_fail(up, 400, "unregistered_key", msg);
        } else if (cmn_key_from_public_b64(pub_cell(r, 0, 0), &up->rkey, NULL) ||
                   strcmp(up->rkey.keyid, up->rm.bundle_keyid) != 0) {
            fail = up_fail(up, 500, "internal", "registered release key is unusable");
        }
        PQclear(r);
    }
    pub_db_put(s->db, c);
    if (!fail)
        up->meta_ok = 1;
    return fail;
}

/* The seed shapes' part names (docs/compatibility.md), mapped onto ours. */
static const char *seed_part(enum pub_upload_shape shape, const char *name)
{
    if (shape == PUB_UPLOAD_SEED) {
        if (!strcmp(name, "metadata.json") || !strcmp(name, "metadata"))
            return "metadata";
        if (!strcmp(name, "signature.sig") || !strcmp(name, "signature"))
            return "signature.sig";
        if (!strcmp(name, "bundle.zip") || !strcmp(name, "bundle") || !strcmp(name, "file"))
            return "bundle";
    } else if (shape == PUB_UPLOAD_FIRMWARE && !strcmp(name, "file")) {
        return "bundle";
    }
    return "";
}

static int cb_begin(void *ctx, const struct pub_mp_part *part)
{
    struct pub_upload *up = ctx;
    int ours = up->shape == PUB_UPLOAD_V1 || up->shape == PUB_UPLOAD_EMBEDDED;
    const char *name = ours ? part->name : seed_part(up->shape, part->name);
    if (!ours && !strcmp(name, "signature.sig")) {
        if (up->have_sig)
            return up_fail(up, 400, "bad_multipart", "duplicate 'signature.sig' part");
        up->have_sig = 1;
        up->part = PART_SIG;
    } else if (!strcmp(name, "metadata")) {
        if (up->have_meta)
            return up_fail(up, 400, "bad_multipart", "duplicate 'metadata' part");
        up->have_meta = 1;
        up->part = PART_META;
    } else if (!strcmp(name, "bundle")) {
        if (up->have_bundle)
            return up_fail(up, 400, "bad_multipart", "duplicate 'bundle' part");
        up->have_bundle = 1;
        up->part = PART_BUNDLE;
        const char *dir = pub_spool_dir(up->s);
        snprintf(up->tmppath, sizeof(up->tmppath), "%s/" PUB_SPOOL_PREFIX "%ld-XXXXXX", dir, (long)getpid());
        up->fd = mkostemp(up->tmppath, O_CLOEXEC);
        if (up->fd < 0) {
            cmn_error("cannot create upload spool file in '%s': %s", dir, strerror(errno));
            up->tmppath[0] = '\0';
            return up_fail(up, 503, "storage_unavailable", "cannot spool the upload");
        }
        cmn_sha256_init(&up->h);
    } else if (up->shape == PUB_UPLOAD_V1 && !strcmp(part->name, "signature")) {
        up->part = PART_SKIP; /* tolerated: the signature travels in metadata.bundle_sig */
    } else {
        char msg[200];
        snprintf(msg, sizeof(msg), "unexpected multipart part '%.64s' (want %s)", part->name,
                 ours                           ? "'metadata' and 'bundle'"
                 : up->shape == PUB_UPLOAD_SEED ? "'metadata.json', 'signature.sig' and 'bundle'"
                                                : "'file'");
        return up_fail(up, 400, "bad_multipart", msg);
    }
    return 0;
}

static int cb_data(void *ctx, const void *p, size_t n)
{
    struct pub_upload *up = ctx;
    if (up->part == PART_META) {
        if (cmn_buf_add(&up->meta, p, n))
            return up_fail(up, 413, "too_large", "metadata part larger than 64 KiB");
    } else if (up->part == PART_SIG) {
        if (cmn_buf_add(&up->sig, p, n))
            return up_fail(up, 413, "too_large", "signature.sig part larger than 256 bytes");
    } else if (up->part == PART_BUNDLE) {
        up->size += n;
        if (up->size > up->s->cfg->max_upload) {
            char msg[128];
            snprintf(msg, sizeof(msg), "bundle exceeds the upload limit of %llu bytes",
                     (unsigned long long)up->s->cfg->max_upload);
            return up_fail(up, 413, "too_large", msg);
        }
        if (up->meta_ok && up->size > (up->shape == PUB_UPLOAD_EMBEDDED ? up->emb.size : (uint64_t)up->rm.size))
            return up_fail(up, 400, "size_mismatch", "bundle is larger than metadata.size");
        cmn_sha256_update(&up->h, p, n);
        const char *b = p;
        while (n) {
            ssize_t w = write(up->fd, b, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                cmn_error("cannot write upload spool '%s': %s", up->tmppath, strerror(errno));
                return up_fail(up, 507, "insufficient_storage", "cannot spool the upload");
            }
            b += w;
            n -= (size_t)w;
        }
        atomic_fetch_add(&up->s->m.upload_bytes, (unsigned long)(b - (const char *)p));
    }
    return 0;
}

static int cb_end(void *ctx)
{
    struct pub_upload *up = ctx;
    enum part_kind k = up->part;
    up->part = PART_NONE;
    if (k == PART_META && up->shape == PUB_UPLOAD_V1)
        return check_meta(up);
    if (k == PART_META && up->shape == PUB_UPLOAD_EMBEDDED) {
        if (pub_embedded_meta(up->s, up->r, up->meta.ptr ? up->meta.ptr : "", up->meta.len, &up->emb, up->out)) {
            up->failed = 1;
            return 1;
        }
        up->meta_ok = 1;
        return 0;
    }
    if (k == PART_BUNDLE)
        up->bundle_done = 1;
    return 0;
}

static int upload_begin(struct pub_srv *s, struct pub_req *r, struct pub_resp *out)
{
    char boundary[PUB_MP_MAX_BOUNDARY + 1];
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = pub_mp_boundary(pub_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE), boundary, &eb);
    if (rc == CMN_E_UNSUPPORTED)
        return !pub_err(out, 415, "unsupported_media_type", "%s", cmn_errmsg(&eb, rc));
    if (rc)
        return !pub_err(out, 400, "bad_multipart", "%s", cmn_errmsg(&eb, rc));
    struct pub_upload *up = calloc(1, sizeof(*up));
    if (!up)
        return !pub_err(out, 500, "internal", "out of memory");
    up->s = s;
    up->r = r;
    up->fd = -1;
    up->out = out;
    cmn_buf_init(&up->meta, META_MAX);
    cmn_buf_init(&up->sig, 256);
    up->shape = r->route && r->route->handler == pub_h_embedded_add ? PUB_UPLOAD_EMBEDDED : pub_upload_shape_of(r);
    /* The seed shapes name their app only at the end: refuse a key that cannot write anything now. */
    if (up->shape != PUB_UPLOAD_V1 && r->who.kind == PUB_PRINC_KEY && r->who.role < r->route->role) {
        upload_free(up);
        return !pub_err(out, 403, "forbidden", "this API key has the %s role; uploads need write",
                        pub_role_name(r->who.role));
    }
    struct pub_mp_cb cb = {cb_begin, cb_data, cb_end, up};
    pub_mp_init(&up->mp, boundary, &cb);
    r->stream = up;
    return 0;
}

static int upload_feed(struct pub_srv *s, struct pub_req *r, const char *p, size_t n, struct pub_resp *out)
{
    struct pub_upload *up = r->stream;
    up->out = out;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = pub_mp_feed(&up->mp, p, n, &eb);
    if (up->failed)
        return 1;
    if (rc == CMN_E_TOOBIG)
        return up_fail(up, 413, "too_large", cmn_errmsg(&eb, rc));
    if (rc)
        return up_fail(up, 400, "bad_multipart", cmn_errmsg(&eb, rc));
    return 0;
}

static void upload_release(struct pub_req *r)
{
    upload_free(r->stream);
    r->stream = NULL;
}

const struct pub_stream_ops pub_upload_ops = {upload_begin, upload_feed, upload_release};

/*
 * The digests the uploader claims for the zip's files, recomputed from the
 * zip we hold: content_sha256 (its signature already verified) and
 * codepush_hash (SPEC.md section 16: what CodePush clients identify the
 * package by, unsigned, so never stored on the uploader's word). One pass
 * over the zip's entries serves both. 0 when they match; else the error is
 * in `out`.
 */
static int check_content(struct pub_upload *up, struct pub_resp *out)
{
    struct cmn_content c;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = pub_bundle_listing(up->tmppath, &c, &eb);
    if (rc == CMN_E_IO || rc == CMN_E_NOMEM) {
        pub_err(out, 507, "insufficient_storage", "cannot read the bundle back: %s", cmn_errmsg(&eb, rc));
        return -1;
    }
    if (rc) {
        pub_err(out, 400, "bad_bundle", "cannot list the bundle's files: %s", cmn_errmsg(&eb, rc));
        return -1;
    }
    int bad = 0;
    uint8_t d[CMN_SHA256_BYTES];
    char hex[CMN_SHA256_HEX];
    if (up->rm.content_sig) {
        if ((rc = cmn_content_digest(&c, d)) == CMN_OK)
            cmn_hex_encode(d, sizeof(d), hex);
        if (rc) {
            pub_err(out, 507, "insufficient_storage", "cannot digest the bundle's content");
            bad = 1;
        } else if (strcmp(hex, up->rm.content_sha256) != 0) {
            pub_err(out, 400, "content_mismatch", "bundle content digest is %s but metadata.content_sha256 says %s",
                    hex, up->rm.content_sha256);
            bad = 1;
        }
    }
    if (!bad && up->rm.codepush_hash) {
        if ((rc = cmn_codepush_hash(&c, hex))) {
            pub_err(out, 507, "insufficient_storage", "cannot compute the bundle's CodePush package hash");
            bad = 1;
        } else if (strcmp(hex, up->rm.codepush_hash) != 0) {
            pub_err(out, 400, "codepush_hash_mismatch",
                    "the bundle's CodePush package hash is %s but metadata.codepush_hash says %s", hex,
                    up->rm.codepush_hash);
            bad = 1;
        }
    }
    cmn_content_release(&c);
    return bad ? -1 : 0;
}

void pub_h_rel_create(struct pub_srv *s, struct pub_dbconn *unused, struct pub_req *r, struct pub_resp *out)
{
    struct pub_upload *up = r->stream;
    struct cmn_errbuf eb = {0};
    if (!up) {
        pub_err(out, 500, "internal", "no upload state");
        return;
    }
    up->out = out;
    enum cmn_err rc = pub_mp_finish(&up->mp, &eb);
    if (up->failed)
        return;
    if (rc) {
        pub_err(out, 400, "bad_multipart", "%s", cmn_errmsg(&eb, rc));
        return;
    }
    if (up->shape == PUB_UPLOAD_SEED && (!up->have_meta || !up->have_sig || !up->have_bundle)) {
        pub_err(out, 400, "bad_multipart", "upload needs 'metadata.json', 'signature.sig' and 'bundle' parts");
        return;
    }
    if (up->shape == PUB_UPLOAD_FIRMWARE && !up->have_bundle) {
        pub_err(out, 400, "bad_multipart", "upload needs a 'file' part");
        return;
    }
    if (up->shape == PUB_UPLOAD_V1 && (!up->have_meta || !up->have_bundle)) {
        pub_err(out, 400, "bad_multipart", "upload needs a 'metadata' part and a 'bundle' part");
        return;
    }
    uint8_t digest[CMN_SHA256_BYTES];
    char hex[CMN_SHA256_HEX];
    cmn_sha256_final(&up->h, digest);
    cmn_hex_encode(digest, sizeof(digest), hex);
    if (up->shape != PUB_UPLOAD_V1) {
        /* translate the seed's metadata into ours (h_seed.c), then the same checks as /v1 */
        struct pub_seed_upload su = {up->meta.ptr, up->meta.len, up->sig.ptr, up->sig.len, digest, up->size, 0};
        struct cmn_buf ours;
        cmn_buf_init(&ours, META_MAX);
        if (pub_upload_seed_meta(s, r, up->shape, &su, &ours, out)) {
            cmn_buf_release(&ours);
            up->failed = 1;
            return;
        }
        cmn_buf_release(&up->meta);
        up->meta = ours;
        up->legacy_only = su.legacy_only;
        if (check_meta(up))
            return;
    }
    if (!up->meta_ok) {
        pub_err(out, 400, "bad_metadata", "metadata was not accepted");
        return;
    }
    if (up->size != (uint64_t)up->rm.size) {
        pub_err(out, 400, "size_mismatch", "bundle is %llu bytes but metadata.size says %lld",
                (unsigned long long)up->size, up->rm.size);
        return;
    }
    if (strcmp(hex, up->rm.sha256) != 0) {
        pub_err(out, 400, "hash_mismatch", "bundle SHA-256 is %s but metadata.sha256 says %s", hex, up->rm.sha256);
        return;
    }
    if (!up->legacy_only && cmn_bundle_verify(&up->rkey, digest, up->rm.bundle_sig)) {
        pub_err(out, 400, "bad_signature", "bundle_sig does not verify with release key %s", up->rkey.keyid);
        return;
    }
    /* SPEC.md section 15: the same release key over the bare digest, no domain prefix. */
    if (up->rm.legacy_signature &&
        cmn_digest_verify(&up->rkey, CMN_SIGCTX_LEGACY, digest, up->rm.legacy_signature, CMN_E_SIG)) {
        pub_err(out, 400, "bad_signature",
                "legacy_signature does not verify with release key %s over the bundle's "
                "SHA-256",
                up->rkey.keyid);
        return;
    }
    if (up->legacy_only && (!up->rm.legacy_signature || strcmp(up->rm.bundle_sig, up->rm.legacy_signature) != 0)) {
        pub_err(out, 500, "internal", "legacy-only upload without its legacy signature");
        return;
    }
    /*
     * SPEC.md section 14: the content digest the release key signed is what a patched device is checked
     * against, and the publisher builds patches for it later: verify the signature, then the digest against
     * the zip we hold (the field alone is never trusted).
     */
    if (up->rm.content_sig) {
        uint8_t cd[CMN_SHA256_BYTES];
        if (cmn_hex_decode(up->rm.content_sha256, cd, sizeof(cd)) ||
            cmn_content_verify(&up->rkey, cd, up->rm.content_sig)) {
            pub_err(out, 400, "bad_content_signature",
                    "content_sig does not verify with release key %s over content_sha256", up->rkey.keyid);
            return;
        }
    }
    if ((up->rm.content_sig || up->rm.codepush_hash) && check_content(up, out))
        return;
    if (fsync(up->fd) != 0 || close(up->fd) != 0) {
        up->fd = -1;
        pub_err(out, 507, "insufficient_storage", "cannot flush the upload spool");
        return;
    }
    up->fd = -1;

    struct pub_new_release nr = {&up->rm, up->app_id, up->org_id, up->tmppath, hex, r->who.actor};
    struct pub_new_result res;
    rc = pub_release_new(s, &nr, &res, &eb);
    if (rc) {
        if (res.stage == PUB_NEW_BUNDLE)
            pub_err(out, 503, "storage_unavailable", "cannot store the bundle: %s", cmn_errmsg(&eb, rc));
        else if (res.stage == PUB_NEW_DB)
            pub_err_from(out, rc, &eb);
        else
            pub_err_from(out, rc, &eb);
        return;
    }
    if (!res.release) {
        pub_err(out, 500, "internal", "release vanished after insert");
        return;
    }
    json_t *man = json_pack("{s:I,s:b}", "sequence", (json_int_t)res.seq, "published", res.published);
    if (res.published)
        json_object_set_new(man, "published_sequence", json_integer(res.pubseq));
    else
        json_object_set_new(man, "error", json_string(res.publish_error));
    pub_json_reply(out, 201, json_pack("{s:o,s:o}", "release", res.release, "manifest", man));
}

int pub_upload_embedded_done(struct pub_srv *s, struct pub_req *r, const struct pub_embmeta **meta,
                             const char **zip_path, struct pub_resp *out)
{
    struct pub_upload *up = r->stream;
    struct cmn_errbuf eb = {0};
    (void)s;
    if (!up || up->shape != PUB_UPLOAD_EMBEDDED)
        return !pub_err(out, 500, "internal", "no upload state");
    up->out = out;
    enum cmn_err rc = pub_mp_finish(&up->mp, &eb);
    if (up->failed)
        return 1;
    if (rc)
        return !pub_err(out, 400, "bad_multipart", "%s", cmn_errmsg(&eb, rc));
    if (!up->have_meta || !up->have_bundle)
        return !pub_err(out, 400, "bad_multipart", "upload needs a 'metadata' part and a 'bundle' part");
    if (!up->meta_ok)
        return !pub_err(out, 400, "bad_metadata", "metadata was not accepted");
    uint8_t digest[CMN_SHA256_BYTES];
    char hex[CMN_SHA256_HEX];
    cmn_sha256_final(&up->h, digest);
    cmn_hex_encode(digest, sizeof(digest), hex);
    if (up->size != up->emb.size)
        return !pub_err(out, 400, "size_mismatch", "zip is %llu bytes but metadata.size says %llu",
                        (unsigned long long)up->size, (unsigned long long)up->emb.size);
    if (strcmp(hex, up->emb.sha256) != 0)
        return !pub_err(out, 400, "hash_mismatch", "zip SHA-256 is %s but metadata.sha256 says %s", hex,
                        up->emb.sha256);
    if (fsync(up->fd) != 0 || close(up->fd) != 0) {
        up->fd = -1;
        return !pub_err(out, 507, "insufficient_storage", "cannot flush the upload spool");
    }
    up->fd = -1;
    *meta = &up->emb;
    *zip_path = up->tmppath;
    return 0;
}
