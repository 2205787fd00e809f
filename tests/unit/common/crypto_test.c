/* Unit tests for common/crypto.c: SHA-256 (FIPS 180-2 vectors, streaming),
 * hex/base64 strictness, Ed25519 sign/verify with domain separation, key ids,
 * and secret key files (0600, refusal of readable files, tamper detection). */
#include "common/compat.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "../../lib/test.h"

static void hexof(const uint8_t *d, char out[65])
{
    cmn_hex_encode(d, 32, out);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
}

int main(void)
{
    uint8_t d[32];
    char hx[65];
    is_int(cmn_crypto_init(), CMN_OK, "crypto init");
    is_int(cmn_crypto_init(), CMN_OK, "crypto init is idempotent");

    /* FIPS 180-2 test vectors. */
    cmn_sha256("abc", 3, d);
    hexof(d, hx);
    is_str(hx, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256('abc')");
    cmn_sha256("", 0, d);
    hexof(d, hx);
    is_str(hx, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256('')");
    const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    struct cmn_sha256 s;
    cmn_sha256_init(&s);
    for (size_t i = 0; i < strlen(m2); i++)
        cmn_sha256_update(&s, m2 + i, 1);
    cmn_sha256_final(&s, d);
    hexof(d, hx);
    is_str(hx, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "streaming sha256, byte by byte");

    /* File hashing: one million 'a' (FIPS 180-2 long vector). */
    char path[512];
    snprintf(path, sizeof(path), "%s/million", test_tmpdir());
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 1000000; i++)
        fputc('a', f);
    fclose(f);
    uint64_t sz = 0;
    struct cmn_errbuf eb = {0};
    is_int(cmn_sha256_file(path, d, &sz, &eb), CMN_OK, "sha256 of a file");
    hexof(d, hx);
    is_str(hx, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "million-a digest");
    is_int(sz, 1000000, "file size reported");
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_sha256_file("/nonexistent/x", d, NULL, &eb), CMN_E_NOTFOUND, "missing file is not_found");
    ok(strstr(eb.msg, "/nonexistent/x") != NULL, "message names the file: %s", eb.msg);

    /* hex */
    uint8_t raw[4];
    is_int(cmn_hex_decode("DeadBEEF", raw, 4), CMN_OK, "hex decode either case");
    ok(raw[0] == 0xde && raw[3] == 0xef, "hex decode values");
    is_int(cmn_hex_decode("dead", raw, 4), CMN_E_PARSE, "short hex refused (stops at NUL)");
    is_int(cmn_hex_decode("zz00", raw, 2), CMN_E_PARSE, "non-hex refused");
    cmn_hex_encode(raw, 4, hx);
    is_str(hx, "deadbeef", "hex encode lower-case");

    /* base64 */
    char b64[16];
    is_int(cmn_base64_len(4), 9, "base64 length includes NUL");
    cmn_base64_encode((const uint8_t *)"hi!?", 4, b64);
    is_str(b64, "aGkhPw==", "base64 encode with padding");
    uint8_t out[8];
    size_t n = 0;
    is_int(cmn_base64_decode("aGkhPw==", 8, out, sizeof(out), &n), CMN_OK, "base64 decode");
    ok(n == 4 && memcmp(out, "hi!?", 4) == 0, "base64 round trip");
    is_int(cmn_base64_decode("aGkhPw", 6, out, sizeof(out), &n), CMN_E_PARSE, "missing padding refused");
    is_int(cmn_base64_decode("aGkhPx==", 8, out, sizeof(out), &n), CMN_E_PARSE, "non-zero trailing bits refused");
    is_int(cmn_base64_decode("aGkh Pw==", 9, out, sizeof(out), &n), CMN_E_PARSE, "whitespace refused");
    is_int(cmn_base64_decode("aGkhPw==", 8, out, 3, &n), CMN_E_PARSE, "output capacity enforced");
    is_int(cmn_base64_decode("aGkhPw==x", 8, out, sizeof(out), &n), CMN_OK, "only inlen bytes are read");

    /* keys, ids, signatures */
    struct cmn_key k, k2, pub;
    is_int(cmn_key_generate(&k), CMN_OK, "generate key");
    is_int(cmn_key_generate(&k2), CMN_OK, "generate second key");
    ok(k.has_secret && strlen(k.keyid) == 16, "key id is 16 hex chars");
    uint8_t pd[32];
    cmn_sha256(k.pk, 32, pd);
    cmn_hex_encode(pd, 8, hx);
    is_str(k.keyid, hx, "key id is the first 8 bytes of sha256(pk)");
    char pk64[CMN_PK_B64];
    cmn_key_public_b64(&k, pk64);
    is_int(strlen(pk64), 44, "public key base64 is 44 chars");
    is_int(cmn_key_from_public_b64(pk64, &pub, NULL), CMN_OK, "public key from base64");
    ok(!pub.has_secret && strcmp(pub.keyid, k.keyid) == 0, "public-only key has the same id");
    is_int(cmn_key_from_public_b64("AAAA", &pub, NULL), CMN_E_PARSE, "short public key refused");

    uint8_t sig[64];
    is_int(cmn_sign(&k, CMN_SIGCTX_MANIFEST, "msg", 3, sig), CMN_OK, "sign");
    is_int(cmn_verify(&pub, CMN_SIGCTX_MANIFEST, "msg", 3, sig), CMN_OK, "verify with the public key");
    is_int(cmn_verify(&pub, CMN_SIGCTX_BUNDLE, "msg", 3, sig), CMN_E_SIG, "other context does not verify");
    is_int(cmn_verify(&pub, CMN_SIGCTX_MANIFEST, "msh", 3, sig), CMN_E_SIG, "other message does not verify");
    is_int(cmn_verify(&k2, CMN_SIGCTX_MANIFEST, "msg", 3, sig), CMN_E_SIG, "other key does not verify");
    is_int(cmn_sign(&pub, CMN_SIGCTX_MANIFEST, "msg", 3, sig), CMN_E_INVAL, "signing without secret refused");

    char bs[CMN_SIG_B64];
    cmn_sha256("bundle", 6, d);
    is_int(cmn_bundle_sign(&k, d, bs), CMN_OK, "bundle sign");
    is_int(strlen(bs), 88, "bundle signature base64 is 88 chars");
    is_int(cmn_bundle_verify(&pub, d, bs), CMN_OK, "bundle verify");
    d[0] ^= 1;
    is_int(cmn_bundle_verify(&pub, d, bs), CMN_E_SIG, "bundle verify fails for another digest");
    is_int(cmn_bundle_verify(&pub, d, "not base64"), CMN_E_SIG, "garbage bundle signature fails");
    /* A manifest-context signature over the same 32 bytes is not a bundle signature. */
    d[0] ^= 1;
    is_int(cmn_sign(&k, CMN_SIGCTX_MANIFEST, d, 32, sig), CMN_OK, "manifest-context signature over a digest");
    cmn_base64_encode(sig, 64, bs);
    is_int(cmn_bundle_verify(&pub, d, bs), CMN_E_SIG, "cross-context signature refused");

    ok(cmn_ct_equal("abc", "abc", 3) && !cmn_ct_equal("abc", "abd", 3), "constant-time compare");
    uint8_t r1[16] = {0}, r2[16] = {0};
    cmn_random(r1, 16);
    cmn_random(r2, 16);
    ok(memcmp(r1, r2, 16) != 0, "random bytes differ");

    /* key files */
    char kp[512];
    snprintf(kp, sizeof(kp), "%s/k.key", test_tmpdir());
    umask(0); /* even with a permissive umask the file must be 0600 */
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_key_save_secret(&k, kp, 0, &eb), CMN_OK, "save secret key: %s", eb.msg);
    umask(022);
    struct stat st;
    ok(stat(kp, &st) == 0 && (st.st_mode & 0777) == 0600, "key file mode is 0600 (%o)", st.st_mode & 0777);
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_key_save_secret(&k2, kp, 0, &eb), CMN_E_EXISTS, "save refuses to overwrite");
    struct cmn_key l;
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_key_load_secret(kp, &l, &eb), CMN_OK, "load secret key: %s", eb.msg);
    ok(l.has_secret && memcmp(l.sk, k.sk, 64) == 0 && strcmp(l.keyid, k.keyid) == 0, "loaded key equals saved");
    is_int(cmn_key_save_secret(&k2, kp, 1, NULL), CMN_OK, "save with overwrite");
    is_int(cmn_key_load_secret(kp, &l, NULL), CMN_OK, "reload");
    is_str(l.keyid, k2.keyid, "overwritten key is the new one");
    chmod(kp, 0644);
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_key_load_secret(kp, &l, &eb), CMN_E_DENIED, "world-readable key file refused");
    ok(strstr(eb.msg, "chmod 600") != NULL, "message says how to fix: %s", eb.msg);
    chmod(kp, 0640);
    is_int(cmn_key_load_secret(kp, &l, NULL), CMN_E_DENIED, "group-readable key file refused");
    is_int(cmn_key_save_secret(&pub, kp, 1, NULL), CMN_E_INVAL, "public-only key cannot be saved as secret");

    /* Tampered files: swap in another key's public half; wrong key id; junk. */
    char sk64[CMN_SIG_B64], pk2[CMN_PK_B64], text[1024];
    cmn_base64_encode(k.sk, 64, sk64);
    cmn_key_public_b64(&k2, pk2);
    snprintf(text, sizeof(text),
             "{\"keyid\":\"%s\",\"public_key\":\"%s\",\"secret_key\":\"%s\",\"type\":\"hotpatch-ed25519-secret-key\"}",
             k.keyid, pk2, sk64);
    write_file(kp, text, 0600);
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_key_load_secret(kp, &l, &eb), CMN_E_PARSE, "mismatched public key refused: %s", eb.msg);
    snprintf(text, sizeof(text),
             "{\n  \"type\": \"hotpatch-ed25519-secret-key\",\n  \"keyid\": \"0000000000000000\",\n"
             "  \"public_key\": \"%s\",\n  \"secret_key\": \"%s\"\n}\n",
             pk64, sk64);
    write_file(kp, text, 0600);
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_key_load_secret(kp, &l, &eb), CMN_E_PARSE, "wrong key id refused: %s", eb.msg);
    snprintf(text, sizeof(text),
             "{\n  \"type\": \"hotpatch-ed25519-secret-key\",\n  \"keyid\": \"%s\",\n"
             "  \"public_key\": \"%s\",\n  \"secret_key\": \"%s\"\n}\n",
             k.keyid, pk64, sk64);
    write_file(kp, text, 0600);
    is_int(cmn_key_load_secret(kp, &l, NULL), CMN_OK, "hand-formatted key file with whitespace loads");
    write_file(kp, "{\"type\":\"x\"}", 0600);
    is_int(cmn_key_load_secret(kp, &l, NULL), CMN_E_PARSE, "incomplete key file refused");
    write_file(kp, "", 0600);
    is_int(cmn_key_load_secret(kp, &l, NULL), CMN_E_PARSE, "empty key file refused");
    char big[3000];
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    write_file(kp, big, 0600);
    is_int(cmn_key_load_secret(kp, &l, NULL), CMN_E_TOOBIG, "oversized key file refused");
    is_int(cmn_key_load_secret("/nonexistent/k", &l, NULL), CMN_E_NOTFOUND, "missing key file");
    char dirp[512];
    snprintf(dirp, sizeof(dirp), "%s/sub", test_tmpdir());
    mkdir(dirp, 0700);
    is_int(cmn_key_load_secret(dirp, &l, NULL), CMN_E_INVAL, "directory is not a key file");
    /* No temp files left behind by failed saves. */
    char tmpl[600];
    snprintf(tmpl, sizeof(tmpl), "ls %s | grep -c tmp >/dev/null", test_tmpdir());
    ok(system(tmpl) != 0, "no leftover temp files");

    cmn_key_clear(&k);
    uint8_t zero[sizeof(k)] = {0};
    ok(memcmp(&k, zero, sizeof(k)) == 0, "key_clear wipes the struct");
    cmn_key_clear(&k2);
    cmn_key_clear(&l);
    return done_testing();
}
