/*
 * core_smoke.c - a small program over the mobile build of the C core, for
 * tests/integration/rn/cmake_core.sh. It is linked from the very objects and
 * static archives android/CMakeLists.txt compiled (the core, the libsodium
 * subset, jansson, libzip, zstd; hp_jni.c left out) and runs under
 * qemu-aarch64 for the cross build and natively for the host build, so the
 * script can check that every third-party library works on the target and
 * that both architectures print the same deterministic results.
 *
 *   core_smoke DIR OK_ZIP EVIL_ZIP NEW_DIR
 *
 * DIR is an empty scratch folder; OK_ZIP a bundle zip, EVIL_ZIP one with a
 * "../" entry, NEW_DIR a changed copy of OK_ZIP's content (the script makes
 * them with the host's tools). Prints "key value" lines (digests,
 * signature, JSON) to stdout and "ok" last; any failed check prints
 * "FAIL: what" to stderr and exits 1.
 */
#include "common/compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "common/crypto.h"
#include "common/patch.h"
#include "hotpatch.h"
#include "hp_int.h"

static int failed;

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "FAIL: %s\n", what);
        failed = 1;
    }
}

static void print_hex(const char *key, const uint8_t *p, size_t n)
{
    char hex[2 * 64 + 1];

    if (n > 64)
        n = 64;
    cmn_hex_encode(p, n, hex);
    printf("%s %s\n", key, hex);
}

/* SHA-256, a deterministic Ed25519 signature through the core's wrapper, a tampered message refused. */
static void crypto_checks(char pk_b64[CMN_PK_B64])
{
    static const char abc_sha256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    uint8_t d[CMN_SHA256_BYTES], seed[crypto_sign_SEEDBYTES], sig[CMN_SIG_BYTES];
    char hex[2 * CMN_SHA256_BYTES + 1];
    struct cmn_key key = {0};
    const char msg[] = "hotpatch core smoke";

    check(cmn_crypto_init() == CMN_OK, "cmn_crypto_init");
    cmn_sha256("abc", 3, d);
    cmn_hex_encode(d, sizeof d, hex);
    check(strcmp(hex, abc_sha256) == 0, "SHA-256(\"abc\") is the FIPS 180-2 value");
    for (size_t i = 0; i < sizeof seed; i++)
        seed[i] = (uint8_t)(i * 7 + 1);
    check(crypto_sign_seed_keypair(key.pk, key.sk, seed) == 0, "Ed25519 key from a fixed seed");
    key.has_secret = 1;
    cmn_key_compute_id(&key);
    check(cmn_sign(&key, "smoke-v1\n", msg, sizeof msg - 1, sig) == CMN_OK, "cmn_sign");
    print_hex("pk", key.pk, sizeof key.pk);
    print_hex("sig", sig, sizeof sig);
    printf("keyid %s\n", key.keyid);
    cmn_key_public_b64(&key, pk_b64);
    check(cmn_verify(&key, "smoke-v1\n", msg, sizeof msg - 1, sig) == CMN_OK, "a good signature verifies");
    check(cmn_verify(&key, "smoke-v2\n", msg, sizeof msg - 1, sig) == CMN_E_SIG, "another context is refused");
    sig[5] ^= 1;
    check(cmn_verify(&key, "smoke-v1\n", msg, sizeof msg - 1, sig) == CMN_E_SIG, "a flipped bit is refused");
    cmn_key_clear(&key);
}

/* jansson: parse and re-serialise (sorted, compact); the text must match across architectures. */
static void json_checks(void)
{
    json_error_t err;
    json_t *j =
        json_loads("{\"b\":1.5,\"a\":[1,-2,\"\\u00e9\\ud83d\\ude00\"],\"n\":9007199254740993,\"t\":true}", 0, &err);
    char *s;

    check(j != NULL, "jansson parses");
    if (!j)
        return;
    s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
    check(s != NULL, "jansson dumps");
    if (s)
        printf("json %s\n", s);
    free(s);
    json_decref(j);
    check(json_loads("{\"a\":", 0, &err) == NULL, "truncated JSON is refused");
}

/* libzip + zlib through the core's safe extraction, then the content digest of what it wrote. */
static void zip_checks(const char *dir, const char *ok_zip, const char *evil_zip, char *out, size_t cap)
{
    struct hp_extract_limits lim;
    struct cmn_errbuf eb = {0};
    uint8_t d[CMN_SHA256_BYTES];
    char evil[4096];

    hp__extract_limits_default(&lim);
    snprintf(out, cap, "%s/extracted", dir);
    check(mkdir(out, 0700) == 0, "mkdir extracted");
    check(hp__extract_file(ok_zip, out, &lim, &eb) == CMN_OK, "a good bundle zip extracts");
    check(cmn_content_digest_dir(out, d, &eb) == CMN_OK, "content digest of the extracted bundle");
    print_hex("zip_content", d, sizeof d);
    snprintf(evil, sizeof evil, "%s/evil", dir);
    check(mkdir(evil, 0700) == 0, "mkdir evil");
    check(hp__extract_file(evil_zip, evil, &lim, &eb) == CMN_E_UNSAFE, "a zip with a ../ entry is refused");
}

/* zstd (compressor and decompressor) through the core's bundle patches: base -> new and back to new. */
static void patch_checks(const char *dir, const char *base, const char *new_dir)
{
    struct cmn_patch_limits lim;
    struct cmn_patch_stats st = {0};
    struct cmn_errbuf eb = {0};
    uint8_t want[CMN_SHA256_BYTES], zero[CMN_SHA256_BYTES] = {0};
    char patch[4096], out[4096], out2[4096];

    snprintf(patch, sizeof patch, "%s/smoke.hppatch", dir);
    snprintf(out, sizeof out, "%s/patched", dir);
    snprintf(out2, sizeof out2, "%s/patched-bad", dir);
    check(cmn_content_digest_dir(new_dir, want, &eb) == CMN_OK, "content digest of the new bundle");
    print_hex("new_content", want, sizeof want);
    check(cmn_patch_create(base, new_dir, patch, 19, &st, &eb) == CMN_OK, "zstd patch written");
    check(st.diffed >= 1, "at least one file is a zstd diff against its base");
    cmn_patch_limits_default(&lim);
    check(mkdir(out, 0700) == 0 && mkdir(out2, 0700) == 0, "mkdir patched");
    check(cmn_patch_apply(patch, base, out, want, &lim, NULL, &eb) == CMN_OK, "the patch applies to the signed digest");
    check(cmn_patch_apply(patch, base, out2, zero, &lim, NULL, &eb) == CMN_E_HASH, "another digest is refused");
    printf("patch copied=%u diffed=%u full=%u out=%llu\n", st.copied, st.diffed, st.full,
           (unsigned long long)st.out_bytes);
}

/* Configure a client as the JNI bridge does (the keys are the smoke key's public half). */
static hp_status configure(hp_client *c, const char *data, const char *binary, const char *pk_b64)
{
    if (hp_setopt_str(c, HP_OPT_DATA_DIR, data) || hp_setopt_str(c, HP_OPT_APP, "demo") ||
        hp_setopt_str(c, HP_OPT_PLATFORM, "android") || hp_setopt_str(c, HP_OPT_CHANNEL, "production") ||
        hp_setopt_str(c, HP_OPT_BINARY_VERSION, binary) || hp_setopt_str(c, HP_OPT_DEVICE_ID, "core-smoke") ||
        hp_setopt_str(c, HP_OPT_MANIFEST_BASE_URL, "http://127.0.0.1:1/") ||
        hp_setopt_str(c, HP_OPT_MANIFEST_KEY, pk_b64) || hp_setopt_str(c, HP_OPT_RELEASE_KEY, pk_b64))
        return HP_E_INVAL;
    return hp_open(c);
}

/* The public API as the JNI bridge drives it: open, boot on an empty data dir, a refused configuration. */
static void client_checks(const char *dir, const char *pk_b64)
{
    char data[4096];
    hp_client *c = NULL;
    int rolled_back = -1;

    snprintf(data, sizeof data, "%s/data", dir);
    check(hp_client_new(&c) == HP_OK, "hp_client_new");
    if (!c)
        return;
    check(configure(c, data, "1.0.0", pk_b64) == HP_OK, "hp_open");
    check(hp_boot_begin(c, &rolled_back) == HP_OK && rolled_back == 0, "hp_boot_begin on an empty data dir");
    check(hp_installed_release(c) == NULL, "no release installed: the embedded bundle runs");
    hp_client_free(c);
    c = NULL;
    check(hp_client_new(&c) == HP_OK, "hp_client_new (2)");
    if (!c)
        return;
    check(configure(c, data, "not-a-version", pk_b64) == HP_E_INVAL, "a bad binary version is refused");
    check(strstr(hp_errmsg(c), "not-a-version") != NULL, "... naming it");
    hp_client_free(c);
    printf("core %s\n", hp_version());
}

int main(int argc, char **argv)
{
    char extracted[4096], pk_b64[CMN_PK_B64];

    if (argc != 5) {
        fprintf(stderr, "usage: core_smoke DIR OK_ZIP EVIL_ZIP NEW_DIR\n");
        return 2;
    }
    crypto_checks(pk_b64);
    json_checks();
    zip_checks(argv[1], argv[2], argv[3], extracted, sizeof extracted);
    patch_checks(argv[1], extracted, argv[4]);
    client_checks(argv[1], pk_b64);
    if (failed)
        return 1;
    printf("ok\n");
    return 0;
}
