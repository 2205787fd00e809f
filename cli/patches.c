/*
 * patches.c - release-time differential patches (SPEC section 14) for
 * `hotpatch release` in serverless mode: the new bundle's content digest
 * signed by the release key, and one HPPATCH1 patch from each of the channel's
 * last N distinct bundles and from each registered embedded bundle whose
 * binary version the release targets (common/embedded.h), uploaded to
 * patches/<app>/<platform>/<sha256>.patch.
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
#include "common/embedded.h"
#include "common/patch.h"

/* Extract our own (or a stored, hash-checked) bundle zip into an empty dir. */
enum cmn_err cli_unzip(const char *zip, const char *dir, struct cmn_errbuf *eb)
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

/* One base to patch from: a zip in storage and what it must be. */
struct base {
    const char *label;          /* "release rel_x (1.0.1)", "embedded bundle of binary 1.0.0" */
    const char *key;            /* storage key of its zip */
    const char *zip_sha256;     /* release bases: the zip's signed SHA-256, else NULL */
    uint64_t zip_size;          /* embedded bases: the registered size, else 0 */
    const char *content_sha256; /* embedded bases: the registered content digest, else NULL */
};

/* Patches made so far and where they go. */
struct run {
    struct cmn_storage *st;
    const char *app, *platform, *work, *newdir;
    uint64_t zip_size;
    unsigned seq; /* names the work files */
    struct cmn_release *e;
    json_t *notes; /* nullable: every note and warning, for --json */
};

/* A note (or warning) on stderr, and in u->notes for --json (where stderr notes are off). */
__attribute__((format(printf, 3, 4))) static void pnote(struct run *u, int warn, const char *fmt, ...)
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
    if (u->notes)
        json_array_append_new(u->notes, json_pack("{s:s,s:s}", "level", warn ? "warning" : "note", "text", buf));
}

static int have_base(const struct cmn_release *e, const char *hex)
{
    for (size_t j = 0; j < e->n_patches; j++)
        if (strcmp(e->patches[j].base, hex) == 0)
            return 1;
    return 0;
}

/*
 * Fetch the base's zip, check it is what it claims, extract it, make the
 * patch and list it when it pays. 0 also when this base gives no patch
 * (said in a note); an exit code only for a failure that must stop the
 * release (uploading a patch we decided to list).
 */
static int try_base(struct run *u, const struct base *b)
{
    struct cmn_errbuf eb = {{0}};
    uint8_t d[CMN_SHA256_BYTES], got[CMN_SHA256_BYTES];
    char bzip[PATH_MAX], bdir[PATH_MAX], pfile[PATH_MAX], key[CMN_STORAGE_KEY_MAX], hex[CMN_SHA256_HEX];
    struct cmn_release *e = u->e;
    enum cmn_err rc;
    unsigned k = u->seq++;
    snprintf(bzip, sizeof bzip, "%s/base-%u.zip", u->work, k);
    snprintf(bdir, sizeof bdir, "%s/base-%u", u->work, k);
    snprintf(pfile, sizeof pfile, "%s/base-%u.patch", u->work, k);
    struct cmn_buf buf;
    struct cmn_get_opts go = {.max_size = b->zip_size ? (size_t)b->zip_size : 0};
    cmn_buf_init(&buf, (size_t)1 << 30);
    rc = cmn_storage_get(u->st, b->key, b->zip_size ? &go : NULL, &buf, NULL, &eb);
    if (!rc && b->zip_sha256) {
        cmn_sha256(buf.ptr, buf.len, got);
        cmn_hex_encode(got, sizeof got, hex);
        if (strcmp(hex, b->zip_sha256) != 0)
            rc = cmn_errf(&eb, CMN_E_HASH, "stored bundle does not match its signed SHA-256");
    }
    if (!rc && b->zip_size && buf.len != b->zip_size)
        rc = cmn_errf(&eb, CMN_E_HASH, "stored zip is %zu bytes, the registry says %llu", buf.len,
                      (unsigned long long)b->zip_size);
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
        rc = cli_unzip(bzip, bdir, &eb);
    if (!rc)
        rc = cmn_content_digest_dir(bdir, d, &eb);
    if (!rc) {
        cmn_hex_encode(d, sizeof d, hex);
        /* The registry is unsigned: a base whose zip is not the content it names would give a patch no device
         * matches (or one for another base); refuse it here. */
        if (b->content_sha256 && strcmp(hex, b->content_sha256) != 0)
            rc = cmn_errf(&eb, CMN_E_HASH, "its zip extracts to content %.16s..., the registry says %.16s...", hex,
                          b->content_sha256);
    }
    if (!rc && (have_base(e, hex) || strcmp(hex, e->content_sha256) == 0)) {
        pnote(u, 0, "no patch from %s: same content as %s", b->label,
              strcmp(hex, e->content_sha256) == 0 ? "this release" : "a base already patched from");
        return 0;
    }
    struct cmn_patch_stats ps = {0};
    if (!rc)
        rc = cmn_patch_create(bdir, u->newdir, pfile, 19, &ps, &eb);
    cli_rmtree(bdir);
    unlink(bzip);
    if (rc) {
        pnote(u, 0, "no patch from %s: %s", b->label, cmn_errmsg(&eb, rc));
        unlink(pfile);
        return 0;
    }
    if (ps.patch_bytes * 100 > u->zip_size * CLI_PATCH_MAX_PERCENT) {
        pnote(u, 0, "no patch from %s: %llu bytes is over %d%% of the %llu-byte zip", b->label,
              (unsigned long long)ps.patch_bytes, CLI_PATCH_MAX_PERCENT, (unsigned long long)u->zip_size);
        unlink(pfile);
        return 0;
    }
    struct cmn_patch_ref *p = &e->patches[e->n_patches];
    memset(p, 0, sizeof(*p));
    memcpy(p->base, hex, sizeof(p->base));
    if ((rc = cmn_sha256_file(pfile, got, &p->size, &eb)))
        return cli_fail_rc(rc, &eb, "cannot hash '%s'", pfile);
    cmn_hex_encode(got, sizeof got, p->sha256);
    snprintf(key, sizeof key, "patches/%s/%s/%s.patch", u->app, u->platform, p->sha256);
    struct cmn_put_opts po;
    memset(&po, 0, sizeof po);
    po.content_type = "application/octet-stream";
    po.cache_control = "public, max-age=31536000, immutable";
    if ((rc = cmn_storage_put_file(u->st, key, pfile, &po, NULL, &eb)))
        return cli_fail_rc(rc, &eb, "cannot upload patch '%s'", key);
    unlink(pfile);
    p->url = strdup(key);
    if (!p->url)
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    e->n_patches++;
    pnote(u, 0, "patch from %s: %llu bytes (%.1f%% of the zip)", b->label, (unsigned long long)p->size,
          100.0 * (double)p->size / (double)u->zip_size);
    return 0;
}

/* Patches from the registered embedded bundles the release targets. */
static int embedded_bases(struct run *u, const struct cmn_semver_range *target)
{
    struct cmn_embedded reg;
    struct cmn_errbuf eb = {{0}};
    int ex = 0;
    cmn_embedded_init(&reg);
    enum cmn_err rc = cmn_embedded_list(u->st, u->app, u->platform, &reg, NULL, &eb);
    if (rc) {
        /* Unsigned and optional: a damaged registry costs patches, never the release. */
        pnote(u, 1, "no patches from embedded bundles: %s", cmn_errmsg(&eb, rc));
        return 0;
    }
    for (size_t i = 0; i < reg.n && !ex; i++) {
        const struct cmn_embedded_base *eb2 = &reg.v[i];
        struct cmn_semver v;
        char label[CMN_EMBEDDED_VERSION_MAX + 64];
        snprintf(label, sizeof label, "the embedded bundle of binary %s", eb2->binary_version);
        if (cmn_semver_parse(eb2->binary_version, &v) != CMN_OK || !cmn_semver_range_match(target, &v)) {
            pnote(u, 0, "no patch from %s: --target-binary does not admit it", label);
            continue;
        }
        if (u->e->n_patches >= CMN_MANIFEST_MAX_PATCHES) {
            pnote(u, 0, "no patch from %s: the release already lists %d patches", label, CMN_MANIFEST_MAX_PATCHES);
            continue;
        }
        if (have_base(u->e, eb2->content_sha256) || strcmp(eb2->content_sha256, u->e->content_sha256) == 0) {
            pnote(u, 0, "no patch from %s: its content is already a base of this release (or is the release)", label);
            continue;
        }
        struct base b = {label, eb2->key, NULL, eb2->size, eb2->content_sha256};
        ex = try_base(u, &b);
    }
    cmn_embedded_release(&reg);
    return ex;
}

int cli_release_patches(struct cmn_storage *st, const struct cmn_key *skey, const char *work, const char *zip,
                        uint64_t zip_size, const struct cli_patch_from *from, struct cmn_release *e)
{
    struct cmn_errbuf eb = {{0}};
    uint8_t d[CMN_SHA256_BYTES];
    char newdir[PATH_MAX], sig[CMN_SIG_B64];
    enum cmn_err rc;
    int ex = 0;
    const struct cmn_manifest *m = from->m;
    snprintf(newdir, sizeof newdir, "%s/patch-new", work);
    if (mkdir(newdir, 0755) != 0)
        return cli_fail(CLI_EXIT_FAIL, "cannot create '%s': %s", newdir, strerror(errno));
    if ((rc = cli_unzip(zip, newdir, &eb)) || (rc = cmn_content_digest_dir(newdir, d, &eb)))
        return cli_fail_rc(rc, &eb, "cannot read back the bundle zip");
    if ((rc = cmn_content_sign(skey, d, sig)))
        return cli_fail_rc(rc, NULL, "cannot sign the content digest");
    cmn_hex_encode(d, sizeof d, e->content_sha256);
    e->content_sig = strdup(sig);
    if (!e->content_sig)
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    if ((!m || from->nbases <= 0) && !from->embedded)
        return 0;
    e->patches = calloc(CMN_MANIFEST_MAX_PATCHES, sizeof(*e->patches));
    if (!e->patches)
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    struct run u = {st, from->app, from->platform, work, newdir, zip_size, 0, e, from->notes};
    int tried = 0;
    for (size_t k = m ? m->n_releases : 0;
         !ex && k-- > 0 && tried < from->nbases && e->n_patches < CMN_MANIFEST_MAX_PATCHES;) {
        const struct cmn_release *b = &m->releases[k];
        int dup = 0;
        for (size_t j = k + 1; j < m->n_releases; j++)
            dup |= strcmp(m->releases[j].sha256, b->sha256) == 0;
        if (dup || strcmp(b->sha256, e->sha256) == 0 || !strncmp(b->bundle_url, "http", 4))
            continue;
        tried++;
        char label[256];
        snprintf(label, sizeof label, "release %.64s (%.128s)", b->id, b->version);
        struct base bs = {label, b->bundle_url, b->sha256, 0, NULL};
        ex = try_base(&u, &bs);
    }
    if (!ex && from->embedded && from->target)
        ex = embedded_bases(&u, from->target);
    if (ex)
        return ex;
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
