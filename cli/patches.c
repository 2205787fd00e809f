/*
 * patches.c - release-time differential patches (SPEC section 14) for
 * `hotpatch release`: the new bundle's content digest signed by the release
 * key (both modes), and in serverless mode one HPPATCH1 patch from each of
 * the channel's last N distinct bundles, uploaded to
 * patches/<app>/<platform>/<sha256>.patch. The driver (extract, digest,
 * build, the worth-it rule, content-addressed store) is common/patchset.c,
 * shared with the publisher's background patch job.
 */
#include "common/compat.h"

#include <sys/stat.h>

#include "cli.h"
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

static void note(void *ctx, const char *msg)
{
    (void)ctx;
    cli_note("%s", msg);
}

int cli_release_patches(struct cmn_storage *st, const struct cmn_key *skey, const char *work, const char *zip,
                        uint64_t zip_size, const struct cmn_manifest *m, int nbases, struct cmn_release *e)
{
    struct cmn_errbuf eb = {{0}};
    int ex = cli_release_content(skey, work, zip, e);
    if (ex || !m || nbases <= 0)
        return ex;
    /* The channel's last `nbases` distinct bundles, newest first (not ours, not external URLs). */
    struct cmn_patch_base bases[CMN_MANIFEST_MAX_PATCHES];
    char labels[CMN_MANIFEST_MAX_PATCHES][2 * CMN_ID_MAX + 16];
    size_t nb = 0;
    for (size_t k = m->n_releases; k-- > 0 && nb < (size_t)nbases && nb < CMN_MANIFEST_MAX_PATCHES;) {
        const struct cmn_release *b = &m->releases[k];
        int dup = 0;
        for (size_t j = k + 1; j < m->n_releases; j++)
            dup |= strcmp(m->releases[j].sha256, b->sha256) == 0;
        if (dup || strcmp(b->sha256, e->sha256) == 0 || !strncmp(b->bundle_url, "http", 4))
            continue;
        snprintf(labels[nb], sizeof labels[nb], "release %s (%s)", b->id, b->version);
        bases[nb] = (struct cmn_patch_base){labels[nb], b->bundle_url, b->sha256, NULL};
        nb++;
    }
    if (!nb)
        return 0;
    char pwork[PATH_MAX], newdir[PATH_MAX];
    snprintf(pwork, sizeof pwork, "%s/patch-work", work);
    snprintf(newdir, sizeof newdir, "%s/patch-new", work);
    if (mkdir(pwork, 0700) != 0)
        return cli_fail(CLI_EXIT_FAIL, "cannot create '%s': %s", pwork, strerror(errno));
    struct cmn_patchset ps;
    memset(&ps, 0, sizeof ps);
    ps.st = st;
    ps.work = pwork;
    ps.app = m->app;
    ps.platform = m->platform;
    ps.new_dir = newdir;
    ps.zip_size = zip_size;
    ps.note = note;
    e->patches = calloc(CMN_MANIFEST_MAX_PATCHES, sizeof(*e->patches));
    if (!e->patches)
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    enum cmn_err rc =
        cmn_patchset_build(&ps, bases, nb, e->patches, NULL, CMN_MANIFEST_MAX_PATCHES, &e->n_patches, &eb);
    if (rc)
        return cli_fail_rc(rc, &eb, "cannot build the patches");
    if (e->n_patches == 0) {
        free(e->patches);
        e->patches = NULL;
    }
    return 0;
}
