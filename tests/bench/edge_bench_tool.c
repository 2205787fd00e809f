/*
 * edge_bench_tool.c - fixture generator for tests/bench/bench_edge.sh.
 *
 *   edge_bench_tool DIR
 *
 * writes, under DIR:
 *   store/manifests/demo/android/production.json  a signed manifest (4 releases)
 *   static/production.json                        the same bytes, for nginx
 *   trusted.pub                                   the manifest public key (base64)
 *   pg.sql                                        the same channel as SQL rows
 *                                                 for the Postgres variant
 * The newest release ("r4") is at 100% for binaries ^2.0.0; bench requests
 * that pass release=r4 get 204, the others get 200 with the envelope.
 */
#include "common/compat.h"

#include <sys/stat.h>

#include "common/crypto.h"
#include "common/manifest.h"

static int write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        fprintf(stderr, "edge_bench_tool: cannot write '%s'\n", path);
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

/* SQL string literal with quotes doubled. */
static void sql_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: edge_bench_tool DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    char p[4096];
    struct cmn_key k;
    char sig[CMN_SIG_B64], pub[CMN_PK_B64];
    uint8_t dg[32];
    if (cmn_crypto_init() || cmn_key_generate(&k))
        return 1;
    cmn_random(dg, sizeof(dg));
    if (cmn_bundle_sign(&k, dg, sig))
        return 1;

    struct cmn_manifest *m = cmn_manifest_new("demo", "android", "production");
    m->sequence = 12;
    m->issued_at = (int64_t)time(NULL) - 60;
    m->expires_at = (int64_t)time(NULL) + 86400 * 30;
    static const struct {
        const char *id, *version, *range;
        uint32_t bp;
        int mandatory;
    } rels[] = {
        {"r1", "1.0.0", ">=1.0.0 <2.0.0", 10000, 0},
        {"r2", "1.1.0", "^2.0.0", 10000, 1},
        {"r3", "1.2.0", "^2.0.0", 10000, 0},
        {"r4", "1.3.0", "^2.0.0", 10000, 0},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(rels); i++) {
        struct cmn_release r;
        memset(&r, 0, sizeof(r));
        r.id = (char *)rels[i].id;
        r.version = (char *)rels[i].version;
        r.target_binary = (char *)rels[i].range;
        r.bundle_url = "bundles/demo/android/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.zip";
        cmn_hex_encode(dg, 32, r.sha256);
        r.size = 1843200;
        r.bundle_sig = sig;
        memcpy(r.bundle_keyid, k.keyid, sizeof(r.bundle_keyid));
        r.mandatory = rels[i].mandatory;
        r.rollout_bp = rels[i].bp;
        r.state = CMN_REL_ACTIVE;
        r.created_at = (int64_t)time(NULL) - 86400 * (4 - (int64_t)i);
        r.notes = "Bug fixes and performance improvements.";
        if (cmn_manifest_add_release(m, &r))
            return 1;
    }
    struct cmn_buf env;
    struct cmn_errbuf eb = {{0}};
    cmn_buf_init(&env, CMN_MANIFEST_MAX_BYTES);
    if (cmn_manifest_seal(m, &k, &env, &eb)) {
        fprintf(stderr, "edge_bench_tool: %s\n", eb.msg);
        return 1;
    }
    snprintf(p, sizeof(p), "%s/store", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/store/manifests", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/store/manifests/demo", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/store/manifests/demo/android", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/static", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/store/manifests/demo/android/production.json", dir);
    if (write_file(p, env.ptr, env.len))
        return 1;
    snprintf(p, sizeof(p), "%s/static/production.json", dir);
    if (write_file(p, env.ptr, env.len))
        return 1;
    cmn_key_public_b64(&k, pub);
    snprintf(p, sizeof(p), "%s/trusted.pub", dir);
    if (write_file(p, pub, strlen(pub)))
        return 1;

    /* The Postgres variant keeps releases as rows and the envelope beside them. */
    snprintf(p, sizeof(p), "%s/pg.sql", dir);
    FILE *f = fopen(p, "w");
    if (!f)
        return 1;
    fputs("CREATE TABLE channels (app text, platform text, channel text, sequence bigint, etag text, envelope text,"
          " PRIMARY KEY (app, platform, channel));\n"
          "CREATE TABLE releases (app text, platform text, channel text, pos int, id text, target_binary text,"
          " rollout_bp int, state text, mandatory bool, PRIMARY KEY (app, platform, channel, pos));\n",
          f);
    fputs("INSERT INTO channels VALUES ('demo','android','production',12,'\"bench\"',", f);
    sql_str(f, env.ptr);
    fputs(");\n", f);
    for (size_t i = 0; i < CMN_ARRAY_SIZE(rels); i++)
        fprintf(f, "INSERT INTO releases VALUES ('demo','android','production',%zu,'%s','%s',%u,'active',%s);\n", i,
                rels[i].id, rels[i].range, rels[i].bp, rels[i].mandatory ? "true" : "false");
    fputs("ANALYZE;\n", f);
    fclose(f);
    printf("envelope %zu bytes\n", env.len);
    cmn_buf_release(&env);
    cmn_manifest_free(m);
    cmn_key_clear(&k);
    return 0;
}
