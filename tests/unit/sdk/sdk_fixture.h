/*
 * sdk_fixture.h - test-only helpers shared by the SDK's unit and integration
 * tests: key pairs, zip archives (libzip), signed releases (cmn_bundle_sign)
 * and signed manifests (cmn_manifest_seal), file helpers. Header-only
 * (static functions) because tests are linked one .c file each.
 */
#ifndef TESTS_SDK_FIXTURE_H
#define TESTS_SDK_FIXTURE_H

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "common/buf.h"
#include "common/cohort.h"
#include "common/crypto.h"
#include "common/manifest.h"

struct fx_keys {
    struct cmn_key mkey;  /* trusted manifest key */
    struct cmn_key rkey;  /* trusted release key */
    struct cmn_key rogue; /* an untrusted key */
    char mkey_b64[CMN_PK_B64];
    char rkey_b64[CMN_PK_B64];
    char rogue_b64[CMN_PK_B64];
};

static CMN_UNUSED int fx_keys_make(struct fx_keys *k)
{
    if (cmn_crypto_init() || cmn_key_generate(&k->mkey) || cmn_key_generate(&k->rkey) || cmn_key_generate(&k->rogue))
        return -1;
    cmn_key_public_b64(&k->mkey, k->mkey_b64);
    cmn_key_public_b64(&k->rkey, k->rkey_b64);
    cmn_key_public_b64(&k->rogue, k->rogue_b64);
    return 0;
}

static CMN_UNUSED int fx_mkdirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n >= sizeof tmp)
        return -1;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char save = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            tmp[i] = save;
        }
    }
    return 0;
}

static CMN_UNUSED int fx_write(const char *path, const void *p, size_t n)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (slash && (size_t)(slash - path) < sizeof dir) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        if (dir[0] && fx_mkdirs(dir) != 0)
            return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, p, n);
    close(fd);
    return w == (ssize_t)n ? 0 : -1;
}

/* Whole file into a NUL-terminated heap buffer; NULL when missing. */
static CMN_UNUSED char *fx_read(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return NULL;
    }
    char *p = malloc((size_t)sb.st_size + 1);
    ssize_t r = p ? read(fd, p, (size_t)sb.st_size) : -1;
    close(fd);
    if (r != sb.st_size) {
        free(p);
        return NULL;
    }
    p[r] = '\0';
    if (len)
        *len = (size_t)r;
    return p;
}

/* A zip with `n` entries (names ending in '/' are directories). 0 on success. */
static CMN_UNUSED int fx_zip(const char *path, const char *const *names, const char *const *bodies, const size_t *lens,
                             size_t n)
{
    int err = 0;
    unlink(path);
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!za)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        if (l && names[i][l - 1] == '/') {
            if (zip_dir_add(za, names[i], ZIP_FL_ENC_RAW) < 0)
                goto fail;
            continue;
        }
        size_t bl = lens ? lens[i] : strlen(bodies[i]);
        zip_source_t *src = zip_source_buffer(za, bodies[i], bl, 0);
        if (!src)
            goto fail;
        if (zip_file_add(za, names[i], src, ZIP_FL_ENC_RAW | ZIP_FL_OVERWRITE) < 0) {
            zip_source_free(src);
            goto fail;
        }
    }
    return zip_close(za) == 0 ? 0 : -1;
fail:
    zip_discard(za);
    return -1;
}

/* A release entry for a manifest, signed over the SHA-256 of `zip_path`. */
struct fx_rel {
    const char *id, *version, *target, *url;
    int mandatory;
    uint32_t bp;
    enum cmn_release_state state;
    char sha[CMN_SHA256_HEX];
    uint64_t size;
    char sig[CMN_SIG_B64];
    char keyid[CMN_KEYID_HEX];
    const char *device_list; /* edge-held targeting list name, or NULL */
};

static CMN_UNUSED int fx_sign_file(struct fx_rel *r, const struct cmn_key *key, const char *zip_path)
{
    uint8_t d[CMN_SHA256_BYTES];
    if (cmn_sha256_file(zip_path, d, &r->size, NULL) != CMN_OK)
        return -1;
    cmn_hex_encode(d, sizeof d, r->sha);
    if (cmn_bundle_sign(key, d, r->sig) != CMN_OK)
        return -1;
    memcpy(r->keyid, key->keyid, CMN_KEYID_HEX);
    return 0;
}

/* Seal a manifest with these releases (oldest first) into `out` (initialised by the caller). */
static CMN_UNUSED int fx_manifest(const struct cmn_key *mkey, const char *app, const char *platform,
                                  const char *channel, uint64_t seq, int64_t expires_at, const struct fx_rel *rels,
                                  size_t n, struct cmn_buf *out)
{
    struct cmn_errbuf eb = {{0}};
    struct cmn_manifest *m = cmn_manifest_new(app, platform, channel);
    int rc = -1;
    if (!m)
        return -1;
    m->sequence = seq;
    m->issued_at = (int64_t)time(NULL) - 10;
    if (m->issued_at >= expires_at)
        m->issued_at = expires_at - 3600; /* an expired manifest was issued before it expired */
    m->expires_at = expires_at;
    for (size_t i = 0; i < n; i++) {
        struct cmn_release r;
        memset(&r, 0, sizeof r);
        r.id = (char *)rels[i].id;
        r.version = (char *)rels[i].version;
        r.target_binary = (char *)(rels[i].target ? rels[i].target : "*");
        r.bundle_url = (char *)rels[i].url;
        memcpy(r.sha256, rels[i].sha, CMN_SHA256_HEX);
        r.size = rels[i].size;
        r.bundle_sig = (char *)rels[i].sig;
        memcpy(r.bundle_keyid, rels[i].keyid, CMN_KEYID_HEX);
        r.mandatory = rels[i].mandatory;
        r.rollout_bp = rels[i].bp ? rels[i].bp : CMN_BP_MAX;
        r.state = rels[i].state;
        r.created_at = 1700000000 + (int64_t)i;
        r.device_list = (char *)rels[i].device_list;
        if (cmn_manifest_add_release(m, &r) != CMN_OK)
            goto out;
    }
    if (cmn_manifest_seal(m, mkey, out, &eb) != CMN_OK) {
        fprintf(stderr, "# seal: %s\n", eb.msg);
        goto out;
    }
    rc = 0;
out:
    cmn_manifest_free(m);
    return rc;
}

#endif
