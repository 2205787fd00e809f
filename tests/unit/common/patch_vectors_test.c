/* Golden vectors for patched installs (manifests/vectors/patches/, written by
 * gen.py, the independent Python implementation): content digests of bundle
 * trees and their release-key signatures (which a bundle signature over the
 * same digest must not pass for), a signed manifest whose release lists its
 * content digest and patches, and manifests whose patch entries must be
 * refused. */
#include "common/compat.h"

#include <sys/stat.h>

#include "common/buf.h"
#include "common/cjson.h"
#include "common/manifest.h"
#include "common/patch.h"
#include "../../lib/test.h"

static char *slurp(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/manifests/vectors/%s", test_srcdir(), rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag("cannot open '%s'", path);
        return NULL;
    }
    struct cmn_buf b;
    cmn_buf_init(&b, 16u << 20);
    char chunk[65536];
    size_t n;
    int bad = 0;
    while (!bad && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        bad = cmn_buf_add(&b, chunk, n) != CMN_OK;
    fclose(f);
    if (bad)
        return NULL;
    return cmn_buf_take(&b, len);
}

static json_t *load_json(const char *rel)
{
    size_t n = 0;
    char *t = slurp(rel, &n);
    json_t *v = NULL;
    if (t && cmn_cjson_parse(t, n, 16u << 20, &v, NULL) != CMN_OK)
        diag("cannot parse '%s'", rel);
    free(t);
    return v;
}

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static void load_pub(const char *name, struct cmn_key *k)
{
    char rel[64];
    size_t n = 0;
    snprintf(rel, sizeof rel, "keys/%s.pub", name);
    char *t = slurp(rel, &n);
    if (t)
        t[strcspn(t, "\r\n")] = 0;
    if (!t || cmn_key_from_public_b64(t, k, NULL) != CMN_OK)
        diag("cannot load key '%s'", name);
    free(t);
}

static void write_tree(const char *dir, const json_t *files)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)files, k, v)
    {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, k);
        for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
            *s = 0;
            mkdir(path, 0755);
            *s = '/';
        }
        uint8_t buf[1024];
        size_t n = 0;
        if (cmn_base64_decode(json_string_value(v), json_string_length(v), buf, sizeof buf, &n) != CMN_OK)
            diag("bad base64 for '%s'", k);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(buf, 1, n, f);
            fclose(f);
        }
    }
}

static void test_content(const struct cmn_key *bk)
{
    json_t *idx = load_json("patches/content.json");
    const json_t *cases = json_object_get(idx, "cases");
    ok(json_array_size(cases) >= 3, "content cases listed");
    is_str(jstr(idx, "context"), CMN_SIGCTX_CONTENT, "signing context");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        const char *name = jstr(c, "name");
        char dir[600];
        snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
        mkdir(dir, 0755);
        write_tree(dir, json_object_get(c, "files"));
        uint8_t d[32], want[32];
        char hx[65];
        struct cmn_errbuf eb = {0};
        is_int(cmn_content_digest_dir(dir, d, &eb), CMN_OK, "%s: digest (%s)", name, eb.msg);
        cmn_hex_encode(d, 32, hx);
        is_str(hx, jstr(c, "content_sha256"), "%s: content digest matches gen.py", name);
        cmn_sha256(jstr(c, "listing"), strlen(jstr(c, "listing")), want);
        is_mem(d, want, 32, "%s: digest is SHA-256 of the listing", name);
        is_int(cmn_content_verify(bk, d, jstr(c, "content_sig")), CMN_OK, "%s: content signature verifies", name);
        is_int(cmn_content_verify(bk, d, jstr(c, "bundle_sig_of_same_digest")), CMN_E_SIG,
               "%s: a bundle signature over the same digest is not a content signature", name);
    }
    json_decref(idx);
}

static void test_manifests(const struct cmn_key *mk, const struct cmn_key *bk)
{
    json_t *idx = load_json("patches/cases.json");
    json_t *x = load_json("patches/signed.expect.json");
    int64_t now = (int64_t)json_integer_value(json_object_get(idx, "now"));
    struct cmn_keyring kr = {mk, 1};
    size_t n = 0;
    char *t = slurp("patches/signed.json", &n);
    struct cmn_manifest *m = NULL;
    struct cmn_errbuf eb = {0};
    is_int(cmn_manifest_open(t, n, &kr, NULL, now, 0, &m, &eb), CMN_OK, "open the manifest with patches (%s)", eb.msg);
    free(t);
    if (m) {
        const struct cmn_release *r = &m->releases[m->n_releases - 1];
        is_str(r->id, jstr(x, "release"), "release id");
        is_str(r->content_sha256, jstr(x, "content_sha256"), "content_sha256");
        is_str(r->content_sig ? r->content_sig : "", jstr(x, "content_sig"), "content_sig");
        const json_t *pl = json_object_get(x, "patches");
        is_int(r->n_patches, json_array_size(pl), "patch count");
        int same = 1;
        for (size_t i = 0; i < r->n_patches && i < json_array_size(pl); i++) {
            const json_t *p = json_array_get(pl, i);
            same &= !strcmp(r->patches[i].base, jstr(p, "base")) && !strcmp(r->patches[i].url, jstr(p, "url")) &&
                    !strcmp(r->patches[i].sha256, jstr(p, "sha256")) &&
                    (long long)r->patches[i].size == (long long)json_integer_value(json_object_get(p, "size"));
        }
        ok(same, "every patch entry matches");
        uint8_t d[32];
        ok(cmn_hex_decode(r->content_sha256, d, 32) == CMN_OK && cmn_content_verify(bk, d, r->content_sig) == CMN_OK,
           "the release's content signature verifies with the release key");
        ok(m->releases[0].content_sig == NULL && m->releases[0].patches == NULL, "a release without them has none");
        struct cmn_buf p;
        cmn_buf_init(&p, CMN_MANIFEST_MAX_BYTES);
        char hx[65];
        is_int(cmn_manifest_render_payload(m, &p, NULL), CMN_OK, "re-render");
        cmn_sha256(p.ptr, p.len, d);
        cmn_hex_encode(d, 32, hx);
        is_str(hx, jstr(x, "payload_sha256"), "re-rendered payload is byte-identical to the signed one");
        cmn_buf_release(&p);
        cmn_manifest_free(m);
    }
    const json_t *rej = json_object_get(idx, "rejected");
    ok(json_array_size(rej) >= 8, "rejected cases listed");
    for (size_t i = 0; i < json_array_size(rej); i++) {
        const json_t *c = json_array_get(rej, i);
        char rel[256];
        snprintf(rel, sizeof rel, "patches/%s", jstr(c, "file"));
        t = slurp(rel, &n);
        m = NULL;
        enum cmn_err rc = t ? cmn_manifest_open(t, n, &kr, NULL, now, 0, &m, &eb) : CMN_E_IO;
        is_str(cmn_errname(rc), jstr(c, "error"), "refuse %s: %s (%s)", jstr(c, "file"), jstr(c, "why"), eb.msg);
        cmn_manifest_free(m);
        free(t);
    }
    json_decref(x);
    json_decref(idx);
}

int main(void)
{
    struct cmn_key mk, bk;
    memset(&mk, 0, sizeof mk);
    memset(&bk, 0, sizeof bk);
    if (cmn_crypto_init())
        return 1;
    load_pub("manifest", &mk);
    load_pub("bundle", &bk);
    test_content(&bk);
    test_manifests(&mk, &bk);
    return done_testing();
}
