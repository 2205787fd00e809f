/*
 * patches.c - release-time differential patches (SPEC section 14) for
 * `hotpatch release` in serverless mode: the new bundle's content digest
 * signed by the release key, and one HPPATCH1 patch from each of the channel's
 * last N distinct bundles, uploaded to patches/<app>/<platform>/<sha256>.patch.
 *
 * Both sides are the extracted zips (what devices hold), so the digests here
 * are the ones devices compute. A patch is listed only when it is at most
 * CLI_PATCH_MAX_PERCENT of the full zip: past that, the saving does not pay for
 * the extra object, the device-side apply and the fallback risk.
 */
#include "common/compat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "cli.h"
#include "common/patch.h"

/* Extract our own (or a stored, hash-checked) bundle zip into an empty dir. */
static enum cmn_err unzip_to(const char *zip, const char *dir, struct cmn_errbuf *eb)
{
    int zerr = 0;
    zip_t *za = zip_open(zip, ZIP_RDONLY, &zerr);
    if (!za)
        return cmn_errf(eb, CMN_E_PARSE, "cannot open zip '%s'", zip);
    enum cmn_err rc = CMN_OK;
    zip_int64_t n = zip_get_num_entries(za, 0);
    for (zip_int64_t i = 0; !rc && i < n; i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        size_t len = name ? strlen(name) : 0;
        if (len && name[len - 1] == '/')
            continue;
        if (!name || cmn_bundle_path_ok(name, len) != 0) {
            rc = cmn_errf(eb, CMN_E_UNSAFE, "unsafe entry name in '%s'", zip);
            break;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
            *s = 0;
            (void)mkdir(path, 0755);
            *s = '/';
        }
        zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)i, 0);
        int fd = zf ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
        if (!zf || fd < 0) {
            rc = cmn_errf(eb, CMN_E_IO, "cannot extract '%s' from '%s'", name, zip);
        } else {
            char buf[65536];
            zip_int64_t r;
            while (!rc && (r = zip_fread(zf, buf, sizeof buf)) > 0)
                if (write(fd, buf, (size_t)r) != r)
                    rc = cmn_errf(eb, CMN_E_IO, "cannot write '%s': %s", path, strerror(errno));
            if (!rc && r < 0)
                rc = cmn_errf(eb, CMN_E_PARSE, "corrupt entry '%s' in '%s'", name, zip);
        }
        if (fd >= 0)
            close(fd);
        if (zf)
            zip_fclose(zf);
    }
    zip_discard(za);
    return rc;
}

int cli_release_patches(struct cmn_storage *st, const struct cmn_key *skey, const char *work, const char *zip,
                        uint64_t zip_size, const struct cmn_manifest *m, int nbases, struct cmn_release *e)
{
    struct cmn_errbuf eb = {{0}};
    uint8_t d[CMN_SHA256_BYTES];
    char newdir[PATH_MAX], sig[CMN_SIG_B64];
    enum cmn_err rc;
    snprintf(newdir, sizeof newdir, "%s/patch-new", work);
    if (mkdir(newdir, 0755) != 0)
        return cli_fail(CLI_EXIT_FAIL, "cannot create '%s': %s", newdir, strerror(errno));
    if ((rc = unzip_to(zip, newdir, &eb)) || (rc = cmn_content_digest_dir(newdir, d, &eb)))
        return cli_fail_rc(rc, &eb, "cannot read back the bundle zip");
    if ((rc = cmn_content_sign(skey, d, sig)))
        return cli_fail_rc(rc, NULL, "cannot sign the content digest");
    cmn_hex_encode(d, sizeof d, e->content_sha256);
    e->content_sig = strdup(sig);
    if (!e->content_sig)
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    if (!m || nbases <= 0)
        return 0;
    e->patches = calloc(CMN_MANIFEST_MAX_PATCHES, sizeof(*e->patches));
    if (!e->patches)
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    int tried = 0;
    for (size_t k = m->n_releases; k-- > 0 && tried < nbases && e->n_patches < CMN_MANIFEST_MAX_PATCHES;) {
        const struct cmn_release *b = &m->releases[k];
        int dup = 0;
        for (size_t j = k + 1; j < m->n_releases; j++)
            dup |= strcmp(m->releases[j].sha256, b->sha256) == 0;
        if (dup || strcmp(b->sha256, e->sha256) == 0 || !strncmp(b->bundle_url, "http", 4))
            continue;
        tried++;
        char bzip[PATH_MAX], bdir[PATH_MAX], pfile[PATH_MAX], key[CMN_STORAGE_KEY_MAX], hex[CMN_SHA256_HEX];
        uint8_t got[CMN_SHA256_BYTES];
        snprintf(bzip, sizeof bzip, "%s/base-%zu.zip", work, k);
        snprintf(bdir, sizeof bdir, "%s/base-%zu", work, k);
        snprintf(pfile, sizeof pfile, "%s/base-%zu.patch", work, k);
        struct cmn_buf buf;
        cmn_buf_init(&buf, (size_t)1 << 30);
        memset(&eb, 0, sizeof eb);
        rc = cmn_storage_get(st, b->bundle_url, NULL, &buf, NULL, &eb);
        if (!rc) {
            cmn_sha256(buf.ptr, buf.len, got);
            cmn_hex_encode(got, sizeof got, hex);
            if (strcmp(hex, b->sha256) != 0)
                rc = cmn_errf(&eb, CMN_E_HASH, "stored bundle does not match its signed SHA-256");
        }
        if (!rc) {
            FILE *f = fopen(bzip, "wb");
            if (!f || fwrite(buf.ptr, 1, buf.len, f) != buf.len)
                rc = cmn_errf(&eb, CMN_E_IO, "cannot write '%s'", bzip);
            if (f && fclose(f) != 0 && !rc)
                rc = cmn_errf(&eb, CMN_E_IO, "cannot write '%s'", bzip);
        }
        cmn_buf_release(&buf);
        if (!rc && mkdir(bdir, 0755) != 0)
            rc = cmn_errf(&eb, CMN_E_IO, "cannot create '%s'", bdir);
        if (!rc)
            rc = unzip_to(bzip, bdir, &eb);
        if (!rc)
            rc = cmn_content_digest_dir(bdir, d, &eb);
        struct cmn_patch_stats ps = {0};
        if (!rc)
            rc = cmn_patch_create(bdir, newdir, pfile, 19, &ps, &eb);
        if (rc) {
            cli_note("no patch from release %s: %s", b->id, cmn_errmsg(&eb, rc));
            continue;
        }
        if (ps.patch_bytes * 100 > zip_size * CLI_PATCH_MAX_PERCENT) {
            cli_note("no patch from release %s: %llu bytes is over %d%% of the %llu-byte zip", b->id,
                     (unsigned long long)ps.patch_bytes, CLI_PATCH_MAX_PERCENT, (unsigned long long)zip_size);
            continue;
        }
        struct cmn_patch_ref *p = &e->patches[e->n_patches];
        cmn_hex_encode(d, sizeof d, p->base);
        int seen = 0;
        for (size_t j = 0; j < e->n_patches; j++)
            seen |= strcmp(e->patches[j].base, p->base) == 0;
        if (seen)
            continue;
        if ((rc = cmn_sha256_file(pfile, got, &p->size, &eb)))
            return cli_fail_rc(rc, &eb, "cannot hash '%s'", pfile);
        cmn_hex_encode(got, sizeof got, p->sha256);
        snprintf(key, sizeof key, "patches/%s/%s/%s.patch", m->app, m->platform, p->sha256);
        struct cmn_put_opts po;
        memset(&po, 0, sizeof po);
        po.content_type = "application/octet-stream";
        po.cache_control = "public, max-age=31536000, immutable";
        if ((rc = cmn_storage_put_file(st, key, pfile, &po, NULL, &eb)))
            return cli_fail_rc(rc, &eb, "cannot upload patch '%s'", key);
        p->url = strdup(key);
        if (!p->url)
            return cli_fail(CLI_EXIT_FAIL, "out of memory");
        e->n_patches++;
        cli_note("patch from release %s (%s): %llu bytes (%.1f%% of the zip)", b->id, b->version,
                 (unsigned long long)p->size, 100.0 * (double)p->size / (double)zip_size);
    }
    /* Sorted by base, as the SPEC requires. */
    for (size_t i = 1; i < e->n_patches; i++)
        for (size_t j = i; j > 0 && strcmp(e->patches[j - 1].base, e->patches[j].base) > 0; j--) {
            struct cmn_patch_ref t = e->patches[j];
            e->patches[j] = e->patches[j - 1];
            e->patches[j - 1] = t;
        }
    if (e->n_patches == 0) {
        free(e->patches);
        e->patches = NULL;
    }
    return 0;
}
