/*
 * patches.c - release-time differential patches (SPEC section 14) for
 * `hotpatch release`: the new bundle's content digest signed by the release
 * key (both modes), and in serverless mode one HPPATCH1 patch from each of the
 * channel's last N distinct bundles and from each registered embedded bundle
 * whose binary version the release targets (common/embedded.h), uploaded to
 * patches/<app>/<platform>/<sha256>.patch. The driver (fetch and check a
 * base, extract, digest, build, the worth-it rule, content-addressed store)
 * is common/patchset.c, shared with the publisher's background patch job.
 */
#include "common/compat.h"

#include <stdarg.h>
#include <sys/stat.h>

#include "cli.h"
#include "common/embedded.h"
#include "common/patch.h"
#include "common/patchset.h"

int cli_release_content(const struct cmn_key *skey, const char *work, const char *zip, struct cmn_release *e)
{
    struct cmn_errbuf eb = {{0}};
    uint8_t d[CMN_SHA256_BYTES];
    char newdir[PATH_MAX], sig[CMN_SIG_B64];
    enum cmn_err rc;
    snprintf(newdir, sizeof newdir, "%s/patch-new", work);
    if (mkdir(newdir, 0755) != 0)
        return cli_fail(CLI_EXIT_FAIL, "cannot create '%s': %s", newdir, strerror(errno));
    if ((rc = cmn_bundle_zip_digest(zip, newdir, 0, 0, d, &eb)))
        return cli_fail_rc(rc, &eb, "cannot read back the bundle zip");
    if ((rc = cmn_content_sign(skey, d, sig)))
        return cli_fail_rc(rc, NULL, "cannot sign the content digest");
    cmn_hex_encode(d, sizeof d, e->content_sha256);
    e->content_sig = strdup(sig);
    if (!e->content_sig)
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    return 0;
}

/* A note (or warning) on stderr, and in `notes` for --json (where stderr notes are off). */
__attribute__((format(printf, 3, 4))) static void pnote(json_t *notes, int warn, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (warn)
        cli_warn("%s", buf);
    else
        cli_note("%s", buf);
    if (notes)
        json_array_append_new(notes, json_pack("{s:s,s:s}", "level", warn ? "warning" : "note", "text", buf));
}

static void driver_note(void *ctx, const char *msg)
{
    pnote(ctx, 0, "%s", msg);
}

#define LABEL_MAX 256

/* The bases to try, with storage for their strings. */
struct bases {
    struct cmn_patch_base v[CMN_MANIFEST_MAX_PATCHES];
    char label[CMN_MANIFEST_MAX_PATCHES][LABEL_MAX];
    size_t n;
};

/*
 * The registered embedded bundles the release targets, appended to b (the
 * registry stays alive in *reg: b points into it). Unsigned and optional: a
 * damaged registry costs patches, never the release.
 */
static void embedded_bases(struct cmn_storage *st, const struct cli_patch_from *from, const struct cmn_release *e,
                           struct cmn_embedded *reg, struct bases *b)
{
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc = cmn_embedded_list(st, from->app, from->platform, reg, NULL, &eb);
    if (rc) {
        pnote(from->notes, 1, "no patches from embedded bundles: %s", cmn_errmsg(&eb, rc));
        return;
    }
    for (size_t i = 0; i < reg->n; i++) {
        const struct cmn_embedded_base *eb2 = &reg->v[i];
        struct cmn_semver v;
        char label[LABEL_MAX];
        snprintf(label, sizeof label, "the embedded bundle of binary %s", eb2->binary_version);
        if (cmn_semver_parse(eb2->binary_version, &v) != CMN_OK || !cmn_semver_range_match(from->target, &v)) {
            pnote(from->notes, 0, "no patch from %s: --target-binary does not admit it", label);
            continue;
        }
        if (b->n >= CMN_MANIFEST_MAX_PATCHES) {
            pnote(from->notes, 0, "no patch from %s: the release already tries %d bases", label,
                  CMN_MANIFEST_MAX_PATCHES);
            continue;
        }
        if (strcmp(eb2->content_sha256, e->content_sha256) == 0) {
            pnote(from->notes, 0, "no patch from %s: its content is the release's", label);
            continue;
        }
        snprintf(b->label[b->n], LABEL_MAX, "%s", label);
        b->v[b->n] = (struct cmn_patch_base){b->label[b->n], eb2->key, NULL, eb2->content_sha256, eb2->size};
        b->n++;
    }
}

int cli_release_patches(struct cmn_storage *st, const struct cmn_key *skey, const char *work, const char *zip,
                        uint64_t zip_size, const struct cli_patch_from *from, struct cmn_release *e)
{
    struct cmn_errbuf eb = {{0}};
    const struct cmn_manifest *m = from->m;
    int ex = cli_release_content(skey, work, zip, e);
    if (ex || ((!m || from->nbases <= 0) && !from->embedded))
        return ex;
    struct bases *b = calloc(1, sizeof(*b));
    struct cmn_embedded reg;
    cmn_embedded_init(&reg);
    if (!b)
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    /* The channel's last `nbases` distinct bundles, newest first (not ours, not external URLs). */
    for (size_t k = m ? m->n_releases : 0; k-- > 0 && b->n < (size_t)from->nbases && b->n < CMN_MANIFEST_MAX_PATCHES;) {
        const struct cmn_release *r = &m->releases[k];
        int dup = 0;
        for (size_t j = k + 1; j < m->n_releases; j++)
            dup |= strcmp(m->releases[j].sha256, r->sha256) == 0;
        if (dup || strcmp(r->sha256, e->sha256) == 0 || !strncmp(r->bundle_url, "http", 4))
            continue;
        snprintf(b->label[b->n], LABEL_MAX, "release %.64s (%.128s)", r->id, r->version);
        b->v[b->n] = (struct cmn_patch_base){b->label[b->n], r->bundle_url, r->sha256, NULL, 0};
        b->n++;
    }
    if (from->embedded && from->target)
        embedded_bases(st, from, e, &reg, b);
    char pwork[PATH_MAX], newdir[PATH_MAX];
    snprintf(pwork, sizeof pwork, "%s/patch-work", work);
    snprintf(newdir, sizeof newdir, "%s/patch-new", work);
    if (b->n && mkdir(pwork, 0700) != 0)
        ex = cli_fail(CLI_EXIT_FAIL, "cannot create '%s': %s", pwork, strerror(errno));
    if (!ex && b->n && !(e->patches = calloc(CMN_MANIFEST_MAX_PATCHES, sizeof(*e->patches))))
        ex = cli_fail(CLI_EXIT_FAIL, "out of memory");
    if (!ex && b->n) {
        struct cmn_patchset ps;
        memset(&ps, 0, sizeof ps);
        ps.st = st;
        ps.work = pwork;
        ps.app = from->app;
        ps.platform = from->platform;
        ps.new_dir = newdir;
        ps.new_content = e->content_sha256;
        ps.zip_size = zip_size;
        ps.note = driver_note;
        ps.note_ctx = from->notes;
        enum cmn_err rc =
            cmn_patchset_build(&ps, b->v, b->n, e->patches, NULL, CMN_MANIFEST_MAX_PATCHES, &e->n_patches, &eb);
        if (rc)
            ex = cli_fail_rc(rc, &eb, "cannot build the patches");
    }
    if (e->patches && e->n_patches == 0) {
        free(e->patches);
        e->patches = NULL;
    }
    cmn_embedded_release(&reg);
    free(b);
    return ex;
}
