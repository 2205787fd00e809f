/*
 * record.c - the compact binary form of a verified manifest that the edge
 * keeps in LMDB, and the zero-copy view that lets each request run the shared
 * cmn_decide() over it without parsing JSON or touching the heap.
 *
 * The record is written by the sync pass only after cmn_manifest_open()
 * verified the envelope, but it is read back from a file that could be
 * damaged, so edge_rec_view() trusts nothing: every offset, count, enum and
 * fixed-size range is checked before the view points at it.
 */
#include "common/compat.h"

#include "edge.h"

#define POOL_ALIGN 4

/* Append a NUL-terminated string to the pool; returns its offset (never 0). */
static enum cmn_err put_str(struct cmn_buf *out, const char *s, uint32_t *off)
{
    if (!s) {
        *off = 0;
        return CMN_OK;
    }
    if (out->len > UINT32_MAX - strlen(s) - 1)
        return CMN_E_TOOBIG;
    *off = (uint32_t)out->len;
    return cmn_buf_add(out, s, strlen(s) + 1);
}

static enum cmn_err put_bytes(struct cmn_buf *out, const void *p, size_t n, uint32_t *off)
{
    if (out->len > UINT32_MAX - n - 1)
        return CMN_E_TOOBIG;
    *off = (uint32_t)out->len;
    enum cmn_err rc = cmn_buf_add(out, p, n);
    if (rc == CMN_OK)
        rc = cmn_buf_add(out, "", 1); /* keep the pool NUL-separated */
    return rc;
}

/* base64 of a 64-byte signature (SPEC section 15's legacy_signature) */
static int legacy_sig_ok(const char *s)
{
    uint8_t sig[CMN_SIG_BYTES + 1];
    size_t n = 0;
    return s && strlen(s) == CMN_SIG_B64 - 1 && cmn_base64_decode(s, CMN_SIG_B64 - 1, sig, sizeof(sig), &n) == CMN_OK &&
           n == CMN_SIG_BYTES;
}

static enum cmn_err pad(struct cmn_buf *out)
{
    static const char zeros[POOL_ALIGN];
    size_t r = out->len % POOL_ALIGN;
    return r ? cmn_buf_add(out, zeros, POOL_ALIGN - r) : CMN_OK;
}

enum cmn_err edge_rec_compile(const struct cmn_manifest *m, const void *env, size_t env_len, int64_t synced_at,
                              struct cmn_buf *out)
{
    enum cmn_err rc;
    size_t base = out->len;
    struct edge_rec_hdr hdr;
    struct edge_rec_rel *rels = NULL;
    uint32_t *ids = NULL;

    if (base != 0)
        return CMN_E_INVAL; /* offsets are relative to the buffer start */
    if (m->n_releases > CMN_MANIFEST_MAX_RELEASES)
        return CMN_E_TOOBIG;

    memset(&hdr, 0, sizeof(hdr));
    hdr.magic = EDGE_REC_MAGIC;
    hdr.version = EDGE_REC_VERSION;
    hdr.n_releases = (uint32_t)m->n_releases;
    hdr.sequence = m->sequence;
    hdr.issued_at = m->issued_at;
    hdr.expires_at = m->expires_at;
    hdr.synced_at = synced_at;
    {
        uint8_t d[CMN_SHA256_BYTES];
        char hex[CMN_SHA256_HEX];
        cmn_sha256(env, env_len, d);
        cmn_hex_encode(d, sizeof(d), hex);
        hdr.etag[0] = '"';
        memcpy(hdr.etag + 1, hex, 64);
        hdr.etag[65] = '"';
        hdr.etag[66] = '\0';
    }

    /* Reserve the fixed part; filled in at the end. */
    size_t fixed = sizeof(hdr) + m->n_releases * sizeof(struct edge_rec_rel);
    rels = calloc(m->n_releases ? m->n_releases : 1, sizeof(*rels));
    if (!rels)
        return CMN_E_NOMEM;
    {
        char *zero = calloc(1, fixed);
        if (!zero) {
            rc = CMN_E_NOMEM;
            goto out;
        }
        rc = cmn_buf_add(out, zero, fixed);
        free(zero);
        if (rc)
            goto out;
    }

    if ((rc = put_str(out, m->app, &hdr.off_app)) || (rc = put_str(out, m->platform, &hdr.off_platform)) ||
        (rc = put_str(out, m->channel, &hdr.off_channel)) || (rc = put_str(out, m->signed_by, &hdr.off_signed_by)))
        goto out;
    if (!hdr.off_signed_by && (rc = put_str(out, "", &hdr.off_signed_by)))
        goto out;
    if ((rc = put_bytes(out, env, env_len, &hdr.off_env)))
        goto out;
    hdr.env_len = (uint32_t)env_len;
    if (m->codepush_keys && m->n_codepush_keys) {
        if (m->n_codepush_keys > CMN_MANIFEST_MAX_CODEPUSH_KEYS) {
            rc = CMN_E_TOOBIG;
            goto out;
        }
        hdr.off_cp_keys = (uint32_t)out->len;
        hdr.n_cp_keys = (uint32_t)m->n_codepush_keys;
        for (size_t i = 0; i < m->n_codepush_keys; i++) {
            char k[CMN_SHA256_HEX];
            memcpy(k, m->codepush_keys[i], sizeof(k));
            k[CMN_SHA256_HEX - 1] = '\0';
            if ((rc = cmn_buf_add(out, k, sizeof(k))))
                goto out;
        }
    }

    for (size_t i = 0; i < m->n_releases; i++) {
        const struct cmn_release *r = &m->releases[i];
        struct edge_rec_rel *e = &rels[i];
        e->target = r->target;
        e->size = r->size;
        e->created_at = r->created_at;
        e->rollout_bp = r->rollout_bp;
        e->state = (uint32_t)r->state;
        e->mandatory = r->mandatory ? 1 : 0;
        memcpy(e->sha256, r->sha256, sizeof(e->sha256));
        e->sha256[CMN_SHA256_HEX - 1] = '\0';
        memcpy(e->bundle_keyid, r->bundle_keyid, sizeof(e->bundle_keyid));
        e->bundle_keyid[CMN_KEYID_HEX - 1] = '\0';
        memcpy(e->codepush_hash, r->codepush_hash, sizeof(e->codepush_hash));
        e->codepush_hash[CMN_SHA256_HEX - 1] = '\0';
        if ((rc = put_str(out, r->id, &e->off_id)) || (rc = put_str(out, r->version, &e->off_version)) ||
            (rc = put_str(out, r->target_binary ? r->target_binary : "", &e->off_target_binary)) ||
            (rc = put_str(out, r->bundle_url ? r->bundle_url : "", &e->off_bundle_url)) ||
            (rc = put_str(out, r->bundle_sig ? r->bundle_sig : "", &e->off_bundle_sig)) ||
            (rc = put_str(out, r->notes, &e->off_notes)) || (rc = put_str(out, r->device_list, &e->off_device_list)) ||
            (rc = put_str(out, legacy_sig_ok(r->legacy_signature) ? r->legacy_signature : NULL, &e->off_legacy_sig)))
            goto out;
        if (r->device_ids) {
            if (r->n_device_ids > CMN_MANIFEST_MAX_INLINE_DEVICES) {
                rc = CMN_E_TOOBIG;
                goto out;
            }
            ids = calloc(r->n_device_ids ? r->n_device_ids : 1, sizeof(*ids));
            if (!ids) {
                rc = CMN_E_NOMEM;
                goto out;
            }
            for (size_t k = 0; k < r->n_device_ids; k++)
                if ((rc = put_str(out, r->device_ids[k], &ids[k])))
                    goto out;
            /* The view binary-searches these: keep them sorted whatever the input order was. */
            for (size_t k = 1; k < r->n_device_ids; k++) {
                uint32_t x = ids[k];
                size_t j = k;
                while (j > 0 && strcmp(out->ptr + ids[j - 1], out->ptr + x) > 0) {
                    ids[j] = ids[j - 1];
                    j--;
                }
                ids[j] = x;
            }
            if ((rc = pad(out)))
                goto out;
            if (out->len > UINT32_MAX - r->n_device_ids * 4) {
                rc = CMN_E_TOOBIG;
                goto out;
            }
            e->off_device_ids = (uint32_t)out->len;
            e->n_device_ids = (uint32_t)r->n_device_ids;
            if ((rc = cmn_buf_add(out, ids, r->n_device_ids * sizeof(*ids))))
                goto out;
            CMN_SAFEFREE(ids);
        }
    }
    /* Terminating NUL: every string starting inside the record ends inside it. */
    if ((rc = cmn_buf_add(out, "", 1)))
        goto out;
    if (out->len > UINT32_MAX) {
        rc = CMN_E_TOOBIG;
        goto out;
    }
    hdr.total_len = (uint32_t)out->len;
    memcpy(out->ptr, &hdr, sizeof(hdr));
    memcpy(out->ptr + sizeof(hdr), rels, m->n_releases * sizeof(*rels));
out:
    free(ids);
    free(rels);
    if (rc)
        cmn_buf_release(out);
    return rc;
}

enum cmn_err edge_rec_header(const void *rec, size_t len, struct edge_rec_hdr *hdr)
{
    const char *p = rec;
    if (!rec || len < sizeof(*hdr) + 1)
        return CMN_E_PARSE;
    memcpy(hdr, p, sizeof(*hdr));
    if (hdr->magic != EDGE_REC_MAGIC || hdr->version != EDGE_REC_VERSION || hdr->total_len != len || p[len - 1] != '\0')
        return CMN_E_PARSE;
    if (hdr->n_releases > CMN_MANIFEST_MAX_RELEASES ||
        (size_t)hdr->n_releases * sizeof(struct edge_rec_rel) > len - sizeof(*hdr))
        return CMN_E_PARSE;
    size_t pool = sizeof(*hdr) + (size_t)hdr->n_releases * sizeof(struct edge_rec_rel);
    if (hdr->off_env < pool || hdr->off_env > len || hdr->env_len > len - hdr->off_env)
        return CMN_E_PARSE;
    if (memchr(hdr->etag, '\0', sizeof(hdr->etag)) == NULL)
        return CMN_E_PARSE;
    if (hdr->n_cp_keys && (hdr->n_cp_keys > CMN_MANIFEST_MAX_CODEPUSH_KEYS || hdr->off_cp_keys < pool ||
                           hdr->off_cp_keys > len || (size_t)hdr->n_cp_keys * CMN_SHA256_HEX > len - hdr->off_cp_keys))
        return CMN_E_PARSE;
    for (uint32_t i = 0; i < hdr->n_cp_keys; i++)
        if (p[hdr->off_cp_keys + (size_t)i * CMN_SHA256_HEX + CMN_SHA256_HEX - 1] != '\0')
            return CMN_E_PARSE;
    uint32_t offs[] = {hdr->off_app, hdr->off_platform, hdr->off_channel, hdr->off_signed_by};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(offs); i++)
        if (offs[i] < pool || offs[i] >= len)
            return CMN_E_PARSE;
    return CMN_OK;
}

/* A string offset: 0 allowed (absent) only when `optional`. */
static int str_ok(uint32_t off, size_t pool, size_t len, int optional)
{
    if (off == 0)
        return optional;
    return off >= pool && off < len;
}

static int semver_ok(const struct cmn_semver *v)
{
    return memchr(v->pre, '\0', sizeof(v->pre)) != NULL;
}

static int range_ok(const struct cmn_semver_range *r)
{
    if (r->nsets == 0 || r->nsets > CMN_RANGE_MAX_SETS)
        return 0;
    for (unsigned s = 0; s < r->nsets; s++) {
        if (r->ncmps[s] > CMN_RANGE_MAX_CMPS)
            return 0;
        for (unsigned k = 0; k < r->ncmps[s]; k++)
            if (r->cmps[s][k].op > CMN_OP_GE || !semver_ok(&r->cmps[s][k].v))
                return 0;
    }
    return 1;
}

/* Inline targeting: is `dev` among the n sorted ids at offs (record offsets)? */
static int inline_member(const char *p, uint32_t offs_at, uint32_t n, const char *dev)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t o;
        memcpy(&o, p + offs_at + mid * 4, 4);
        int c = strcmp(dev, p + o);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

enum cmn_err edge_rec_view(const void *rec, size_t len, const char *device_id, struct edge_view *v)
{
    const char *p = rec;
    v->src = NULL; /* invalid until the end */
    v->n_inline = 0;
    enum cmn_err rc = edge_rec_header(rec, len, &v->hdr);
    if (rc)
        return rc;
    size_t pool = sizeof(v->hdr) + (size_t)v->hdr.n_releases * sizeof(struct edge_rec_rel);
    v->env = p + v->hdr.off_env;
    memset(&v->m, 0, sizeof(v->m));
    v->m.schema = CMN_MANIFEST_SCHEMA;
    v->m.app = (char *)(p + v->hdr.off_app);
    v->m.platform = (char *)(p + v->hdr.off_platform);
    v->m.channel = (char *)(p + v->hdr.off_channel);
    v->m.signed_by = (char *)(p + v->hdr.off_signed_by);
    v->m.sequence = v->hdr.sequence;
    v->m.issued_at = v->hdr.issued_at;
    v->m.expires_at = v->hdr.expires_at;
    v->m.releases = v->rel;
    v->m.n_releases = v->hdr.n_releases;
    /* char arrays: any alignment will do */
    v->m.codepush_keys = v->hdr.n_cp_keys ? (char(*)[CMN_SHA256_HEX])(p + v->hdr.off_cp_keys) : NULL;
    v->m.n_codepush_keys = v->hdr.n_cp_keys;
    v->self[0] = device_id;
    v->none[0] = ""; /* never equal to a device id (those are 1..128 bytes) */

    for (uint32_t i = 0; i < v->hdr.n_releases; i++) {
        struct edge_rec_rel e;
        struct cmn_release *r = &v->rel[i];
        memcpy(&e, p + sizeof(v->hdr) + (size_t)i * sizeof(e), sizeof(e));
        if (!str_ok(e.off_id, pool, len, 0) || !str_ok(e.off_version, pool, len, 0) ||
            !str_ok(e.off_target_binary, pool, len, 0) || !str_ok(e.off_bundle_url, pool, len, 0) ||
            !str_ok(e.off_bundle_sig, pool, len, 0) || !str_ok(e.off_notes, pool, len, 1) ||
            !str_ok(e.off_device_list, pool, len, 1) || !str_ok(e.off_legacy_sig, pool, len, 1))
            return CMN_E_PARSE;
        /* a damaged record must not hand a seed client a signature of another length */
        if (e.off_legacy_sig && strnlen(p + e.off_legacy_sig, CMN_SIG_B64) != CMN_SIG_B64 - 1)
            return CMN_E_PARSE;
        if (e.state > CMN_REL_DISABLED || e.rollout_bp > CMN_BP_MAX || e.mandatory > 1 || !range_ok(&e.target))
            return CMN_E_PARSE;
        if (e.off_device_ids) {
            if (e.n_device_ids > CMN_MANIFEST_MAX_INLINE_DEVICES || e.off_device_ids < pool || e.off_device_ids > len ||
                (size_t)e.n_device_ids * 4 > len - e.off_device_ids)
                return CMN_E_PARSE;
            for (uint32_t k = 0; k < e.n_device_ids; k++) {
                uint32_t o;
                memcpy(&o, p + e.off_device_ids + (size_t)k * 4, 4);
                if (!str_ok(o, pool, len, 0))
                    return CMN_E_PARSE;
            }
        }
        e.sha256[CMN_SHA256_HEX - 1] = '\0';
        e.bundle_keyid[CMN_KEYID_HEX - 1] = '\0';
        e.codepush_hash[CMN_SHA256_HEX - 1] = '\0';
        memcpy(r->codepush_hash, e.codepush_hash, sizeof(r->codepush_hash));

        r->id = (char *)(p + e.off_id);
        r->version = (char *)(p + e.off_version);
        r->target_binary = (char *)(p + e.off_target_binary);
        r->target = e.target;
        r->bundle_url = (char *)(p + e.off_bundle_url);
        memcpy(r->sha256, e.sha256, sizeof(r->sha256));
        r->size = e.size;
        r->bundle_sig = (char *)(p + e.off_bundle_sig);
        memcpy(r->bundle_keyid, e.bundle_keyid, sizeof(r->bundle_keyid));
        r->mandatory = (int)e.mandatory;
        r->rollout_bp = e.rollout_bp;
        r->state = (enum cmn_release_state)e.state;
        r->created_at = e.created_at;
        r->notes = e.off_notes ? (char *)(p + e.off_notes) : NULL;
        r->device_list = e.off_device_list ? (char *)(p + e.off_device_list) : NULL;
        r->legacy_signature = e.off_legacy_sig ? (char *)(p + e.off_legacy_sig) : NULL;
        if (e.off_device_ids) {
            /*
             * cmn_decide only asks "is this device in device_ids": hand it a
             * one-entry list that answers the same way, found here by binary
             * search, instead of materialising up to 10000 pointers.
             */
            int in = device_id && inline_member(p, e.off_device_ids, e.n_device_ids, device_id);
            r->device_ids = (char **)(in ? v->self : v->none);
            r->n_device_ids = e.n_device_ids ? 1 : 0; /* present but empty: targets no one by id */
            v->inline_idx[v->n_inline] = (uint16_t)i;
            v->inline_off[v->n_inline] = e.off_device_ids;
            v->inline_n[v->n_inline] = e.n_device_ids;
            v->n_inline++;
        } else {
            r->device_ids = NULL;
            r->n_device_ids = 0;
        }
    }
    v->src = rec;
    v->src_len = len;
    return CMN_OK;
}

enum cmn_err edge_rec_view_cached(const void *rec, size_t len, size_t txn_id, const char *device_id,
                                  struct edge_view *v)
{
    if (txn_id == 0 || v->src != rec || v->src_len != len || v->src_txn != txn_id) {
        enum cmn_err rc = edge_rec_view(rec, len, device_id, v);
        v->src_txn = rc ? 0 : txn_id;
        return rc;
    }
    /* validated already: only the device-dependent parts change */
    v->self[0] = device_id;
    for (uint32_t k = 0; k < v->n_inline; k++) {
        struct cmn_release *r = &v->rel[v->inline_idx[k]];
        int in = device_id && inline_member(rec, v->inline_off[k], v->inline_n[k], device_id);
        r->device_ids = (char **)(in ? v->self : v->none);
    }
    return CMN_OK;
}
