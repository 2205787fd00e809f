/*
 * crypto.c - SHA-256, Ed25519 keys, signatures, base64/hex and secret key
 * files, on top of libsodium. Every signature covers a domain-separation
 * prefix (crypto.h) followed by the message, so a manifest signature can
 * never be presented as a bundle signature or the reverse. Secret material
 * (key structs, key-file text, decoded buffers) is wiped on every exit path;
 * key files are parsed by a small fixed-format reader in a stack buffer rather
 * than by jansson, so no copy of the secret is left behind in freed heap.
 */
#include "common/compat.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/file.h"

_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(((struct cmn_sha256 *)0)->opaque),
               "cmn_sha256 opaque storage too small for libsodium's state");
_Static_assert(crypto_sign_ed25519_PUBLICKEYBYTES == CMN_PK_BYTES, "pk size");
_Static_assert(crypto_sign_ed25519_SECRETKEYBYTES == CMN_SK_BYTES, "sk size");
_Static_assert(crypto_sign_ed25519_BYTES == CMN_SIG_BYTES, "sig size");

#define KEYFILE_TYPE "hotpatch-ed25519-secret-key"
#define KEYFILE_MAX 1024 /* a key file is about 250 bytes */

enum cmn_err cmn_crypto_init(void)
{
    return sodium_init() < 0 ? CMN_E_INVAL : CMN_OK;
}

/* ---- SHA-256 ---- */

void cmn_sha256_init(struct cmn_sha256 *s)
{
    crypto_hash_sha256_init((crypto_hash_sha256_state *)(void *)s->opaque);
}

void cmn_sha256_update(struct cmn_sha256 *s, const void *p, size_t n)
{
    if (n)
        crypto_hash_sha256_update((crypto_hash_sha256_state *)(void *)s->opaque, p, n);
}

void cmn_sha256_final(struct cmn_sha256 *s, uint8_t out[CMN_SHA256_BYTES])
{
    crypto_hash_sha256_final((crypto_hash_sha256_state *)(void *)s->opaque, out);
    sodium_memzero(s, sizeof(*s));
}

void cmn_sha256(const void *p, size_t n, uint8_t out[CMN_SHA256_BYTES])
{
    struct cmn_sha256 s;
    cmn_sha256_init(&s);
    cmn_sha256_update(&s, p, n);
    cmn_sha256_final(&s, out);
}

enum cmn_err cmn_sha256_file(const char *path, uint8_t out[CMN_SHA256_BYTES], uint64_t *size, struct cmn_errbuf *eb)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cmn_errf(eb, errno == ENOENT ? CMN_E_NOTFOUND : CMN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    struct cmn_sha256 s;
    cmn_sha256_init(&s);
    uint64_t total = 0;
    enum cmn_err rc = CMN_OK;
    unsigned char *chunk = malloc(1 << 16);
    if (!chunk) {
        rc = cmn_errf(eb, CMN_E_NOMEM, "out of memory hashing '%s'", path);
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, chunk, 1 << 16);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s': %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        cmn_sha256_update(&s, chunk, (size_t)r);
        total += (uint64_t)r;
    }
    cmn_sha256_final(&s, out);
    if (size)
        *size = total;
out:
    free(chunk);
    close(fd);
    return rc;
}

/* ---- hex / base64 ---- */

void cmn_hex_encode(const uint8_t *in, size_t n, char *out)
{
    /* lower case, constant time; writes 2n + 1 bytes */
    sodium_bin2hex(out, 2 * n + 1, in, n);
}

enum cmn_err cmn_hex_decode(const char *in, uint8_t *out, size_t n)
{
    /* Exactly 2n hex digits (either case). strnlen: a short NUL-terminated input is never read past its
     * terminator, and a longer one is read no further than 2n. */
    size_t got = 0;
    const char *end = NULL;
    size_t len = strnlen(in, 2 * n);
    if (len != 2 * n || sodium_hex2bin(out, n, in, len, NULL, &got, &end) != 0 || got != n || end != in + len)
        return CMN_E_PARSE;
    return CMN_OK;
}

size_t cmn_base64_len(size_t n)
{
    return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
}

void cmn_base64_encode(const uint8_t *in, size_t n, char *out)
{
    sodium_bin2base64(out, cmn_base64_len(n), in, n, sodium_base64_VARIANT_ORIGINAL);
}

enum cmn_err cmn_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t got = 0;
    const char *end = NULL;
    /* libsodium requires the padding and zero unused bits for this variant,
     * so every byte string has exactly one accepted encoding. */
    if (sodium_base642bin(out, cap, in, inlen, NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0)
        return CMN_E_PARSE;
    if (end != in + inlen)
        return CMN_E_PARSE;
    if (outlen)
        *outlen = got;
    return CMN_OK;
}

/* ---- keys ---- */

void cmn_key_compute_id(struct cmn_key *key)
{
    uint8_t d[CMN_SHA256_BYTES];
    cmn_sha256(key->pk, CMN_PK_BYTES, d);
    cmn_hex_encode(d, 8, key->keyid);
}

enum cmn_err cmn_key_generate(struct cmn_key *key)
{
    if (sodium_init() < 0)
        return CMN_E_INVAL;
    sodium_memzero(key, sizeof(*key));
    if (crypto_sign_ed25519_keypair(key->pk, key->sk) != 0) {
        sodium_memzero(key, sizeof(*key));
        return CMN_E_INVAL;
    }
    key->has_secret = 1;
    cmn_key_compute_id(key);
    return CMN_OK;
}

void cmn_key_clear(struct cmn_key *key)
{
    sodium_memzero(key, sizeof(*key));
}

void cmn_key_public_b64(const struct cmn_key *key, char out[CMN_PK_B64])
{
    cmn_base64_encode(key->pk, CMN_PK_BYTES, out);
}

enum cmn_err cmn_key_from_public_b64(const char *b64, struct cmn_key *key, struct cmn_errbuf *eb)
{
    uint8_t pk[CMN_PK_BYTES + 1];
    size_t n = 0;
    if (!b64)
        return cmn_errf(eb, CMN_E_INVAL, "missing public key");
    size_t len = strlen(b64);
    if (cmn_base64_decode(b64, len, pk, sizeof(pk), &n) != CMN_OK || n != CMN_PK_BYTES)
        return cmn_errf(eb, CMN_E_PARSE, "public key must be base64 of 32 bytes");
    if (crypto_core_ed25519_is_valid_point(pk) != 1)
        return cmn_errf(eb, CMN_E_PARSE, "public key is not a valid ed25519 point");
    sodium_memzero(key, sizeof(*key));
    memcpy(key->pk, pk, CMN_PK_BYTES);
    cmn_key_compute_id(key);
    return CMN_OK;
}

/* ---- signatures ---- */

/* ctx || msg in a fresh buffer: Ed25519 (non-prehashed) needs the whole message. */
static unsigned char *join_ctx(const char *ctx, const void *msg, size_t n, size_t *total)
{
    size_t cl = strlen(ctx);
    if (n > SIZE_MAX - cl - 1)
        return NULL;
    unsigned char *m = malloc(cl + n + 1);
    if (!m)
        return NULL;
    memcpy(m, ctx, cl);
    if (n)
        memcpy(m + cl, msg, n);
    *total = cl + n;
    return m;
}

enum cmn_err cmn_sign(const struct cmn_key *key, const char *ctx, const void *msg, size_t n, uint8_t sig[CMN_SIG_BYTES])
{
    if (!key->has_secret)
        return CMN_E_INVAL;
    size_t total = 0;
    unsigned char *m = join_ctx(ctx, msg, n, &total);
    if (!m)
        return CMN_E_NOMEM;
    int r = crypto_sign_ed25519_detached(sig, NULL, m, total, key->sk);
    free(m);
    return r == 0 ? CMN_OK : CMN_E_INVAL;
}

enum cmn_err cmn_verify(const struct cmn_key *key, const char *ctx, const void *msg, size_t n,
                        const uint8_t sig[CMN_SIG_BYTES])
{
    size_t total = 0;
    unsigned char *m = join_ctx(ctx, msg, n, &total);
    if (!m)
        return CMN_E_NOMEM;
    int r = crypto_sign_ed25519_verify_detached(sig, m, total, key->pk);
    free(m);
    return r == 0 ? CMN_OK : CMN_E_SIG;
}

enum cmn_err cmn_digest_sign(const struct cmn_key *key, const char *ctx, const uint8_t digest[CMN_SHA256_BYTES],
                             char sig_b64[CMN_SIG_B64])
{
    uint8_t sig[CMN_SIG_BYTES];
    enum cmn_err rc = cmn_sign(key, ctx, digest, CMN_SHA256_BYTES, sig);
    if (rc)
        return rc;
    cmn_base64_encode(sig, sizeof(sig), sig_b64);
    return CMN_OK;
}

enum cmn_err cmn_digest_verify(const struct cmn_key *key, const char *ctx, const uint8_t digest[CMN_SHA256_BYTES],
                               const char *sig_b64, enum cmn_err bad_b64)
{
    uint8_t sig[CMN_SIG_BYTES + 1];
    size_t n = 0;
    if (!sig_b64 || cmn_base64_decode(sig_b64, strlen(sig_b64), sig, sizeof(sig), &n) != CMN_OK || n != CMN_SIG_BYTES)
        return bad_b64;
    return cmn_verify(key, ctx, digest, CMN_SHA256_BYTES, sig);
}

enum cmn_err cmn_bundle_sign(const struct cmn_key *key, const uint8_t digest[CMN_SHA256_BYTES],
                             char sig_b64[CMN_SIG_B64])
{
    return cmn_digest_sign(key, CMN_SIGCTX_BUNDLE, digest, sig_b64);
}

enum cmn_err cmn_bundle_verify(const struct cmn_key *key, const uint8_t digest[CMN_SHA256_BYTES], const char *sig_b64)
{
    return cmn_digest_verify(key, CMN_SIGCTX_BUNDLE, digest, sig_b64, CMN_E_SIG);
}

int cmn_ct_equal(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}

void cmn_wipe(void *p, size_t n)
{
    if (p && n)
        sodium_memzero(p, n);
}

void cmn_random(void *p, size_t n)
{
    if (sodium_init() < 0)
        abort(); /* no safe fallback for randomness */
    randombytes_buf(p, n);
}

/* ---- secret key files ---- */

/*
 * Fixed-format reader for the key file: one flat JSON object whose members
 * are strings without escapes (base64, hex and the type name never need
 * them). Fills up to 4 known fields; unknown or repeated members are errors.
 */
struct keyfile_fields {
    const char *type, *keyid, *pk, *sk;
    size_t type_len, keyid_len, pk_len, sk_len;
};

static void kf_ws(const char *p, size_t n, size_t *i)
{
    while (*i < n && (p[*i] == ' ' || p[*i] == '\t' || p[*i] == '\n' || p[*i] == '\r'))
        (*i)++;
}

static int kf_string(const char *p, size_t n, size_t *i, const char **s, size_t *len)
{
    if (*i >= n || p[*i] != '"')
        return -1;
    size_t start = ++(*i);
    while (*i < n && p[*i] != '"') {
        unsigned char c = (unsigned char)p[*i];
        if (c < 0x20 || c == '\\' || c >= 0x7f)
            return -1;
        (*i)++;
    }
    if (*i >= n)
        return -1;
    *s = p + start;
    *len = *i - start;
    (*i)++;
    return 0;
}

static int kf_parse(const char *p, size_t n, struct keyfile_fields *f)
{
    size_t i = 0;
    memset(f, 0, sizeof(*f));
    kf_ws(p, n, &i);
    if (i >= n || p[i++] != '{')
        return -1;
    for (;;) {
        const char *k, *v;
        size_t kl, vl;
        kf_ws(p, n, &i);
        if (kf_string(p, n, &i, &k, &kl))
            return -1;
        kf_ws(p, n, &i);
        if (i >= n || p[i++] != ':')
            return -1;
        kf_ws(p, n, &i);
        if (kf_string(p, n, &i, &v, &vl))
            return -1;
        const char **slot;
        size_t *slot_len;
        if (kl == 4 && memcmp(k, "type", 4) == 0)
            slot = &f->type, slot_len = &f->type_len;
        else if (kl == 5 && memcmp(k, "keyid", 5) == 0)
            slot = &f->keyid, slot_len = &f->keyid_len;
        else if (kl == 10 && memcmp(k, "public_key", 10) == 0)
            slot = &f->pk, slot_len = &f->pk_len;
        else if (kl == 10 && memcmp(k, "secret_key", 10) == 0)
            slot = &f->sk, slot_len = &f->sk_len;
        else
            return -1;
        if (*slot)
            return -1;
        *slot = v;
        *slot_len = vl;
        kf_ws(p, n, &i);
        if (i >= n)
            return -1;
        if (p[i] == ',') {
            i++;
            continue;
        }
        if (p[i] != '}')
            return -1;
        i++;
        break;
    }
    kf_ws(p, n, &i);
    return (i == n && f->type && f->keyid && f->pk && f->sk) ? 0 : -1;
}

enum cmn_err cmn_key_load_secret(const char *path, struct cmn_key *key, struct cmn_errbuf *eb)
{
    char text[KEYFILE_MAX + 1];
    uint8_t sk[CMN_SK_BYTES + 1];
    uint8_t pk[CMN_PK_BYTES + 1];
    struct cmn_key k;
    size_t len = 0, n = 0;
    enum cmn_err rc = CMN_OK;
    struct keyfile_fields f;
    memset(&k, 0, sizeof(k));

    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return cmn_errf(eb, errno == ENOENT ? CMN_E_NOTFOUND : CMN_E_IO, "cannot open key file '%s': %s", path,
                        strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = cmn_errf(eb, CMN_E_IO, "cannot stat key file '%s': %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = cmn_errf(eb, CMN_E_INVAL, "key file '%s' is not a regular file", path);
        goto out;
    }
    if (st.st_mode & 077) {
        rc = cmn_errf(eb, CMN_E_DENIED,
                      "key file '%s' is accessible by group or others (mode %03o); run: chmod 600 '%s'", path,
                      (unsigned)(st.st_mode & 0777), path);
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, text + len, sizeof(text) - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = cmn_errf(eb, CMN_E_IO, "cannot read key file '%s': %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == sizeof(text)) {
            rc = cmn_errf(eb, CMN_E_TOOBIG, "key file '%s' is larger than %d bytes", path, KEYFILE_MAX);
            goto out;
        }
    }
    if (kf_parse(text, len, &f) != 0) {
        rc = cmn_errf(eb, CMN_E_PARSE, "key file '%s' is not a hotpatch secret key file", path);
        goto out;
    }
    if (f.type_len != strlen(KEYFILE_TYPE) || memcmp(f.type, KEYFILE_TYPE, f.type_len) != 0) {
        rc = cmn_errf(eb, CMN_E_PARSE, "key file '%s' has type other than '%s'", path, KEYFILE_TYPE);
        goto out;
    }
    if (cmn_base64_decode(f.sk, f.sk_len, sk, sizeof(sk), &n) != CMN_OK || n != CMN_SK_BYTES) {
        rc = cmn_errf(eb, CMN_E_PARSE, "key file '%s': secret_key must be base64 of 64 bytes", path);
        goto out;
    }
    if (cmn_base64_decode(f.pk, f.pk_len, pk, sizeof(pk), &n) != CMN_OK || n != CMN_PK_BYTES) {
        rc = cmn_errf(eb, CMN_E_PARSE, "key file '%s': public_key must be base64 of 32 bytes", path);
        goto out;
    }
    /* Re-derive the public key from the seed: the file's public half and key
     * id are claims to check, not inputs to trust. */
    if (crypto_sign_ed25519_seed_keypair(k.pk, k.sk, sk) != 0 || !cmn_ct_equal(k.sk, sk, CMN_SK_BYTES) ||
        !cmn_ct_equal(k.pk, pk, CMN_PK_BYTES)) {
        rc = cmn_errf(eb, CMN_E_PARSE, "key file '%s': public key does not match the secret key", path);
        goto out;
    }
    k.has_secret = 1;
    cmn_key_compute_id(&k);
    if (f.keyid_len != CMN_KEYID_HEX - 1 || memcmp(f.keyid, k.keyid, CMN_KEYID_HEX - 1) != 0) {
        rc = cmn_errf(eb, CMN_E_PARSE, "key file '%s': keyid does not match the key (expected %s)", path, k.keyid);
        goto out;
    }
    memcpy(key, &k, sizeof(k));
out:
    close(fd);
    sodium_memzero(text, sizeof(text));
    sodium_memzero(sk, sizeof(sk));
    sodium_memzero(&k, sizeof(k));
    sodium_memzero(&f, sizeof(f));
    return rc;
}

enum cmn_err cmn_key_save_secret(const struct cmn_key *key, const char *path, int overwrite, struct cmn_errbuf *eb)
{
    char text[KEYFILE_MAX];
    char pk64[CMN_PK_B64];
    char sk64[sizeof(text)];
    enum cmn_err rc = CMN_OK;

    if (!key->has_secret)
        return cmn_errf(eb, CMN_E_INVAL, "key %s has no secret half to save", key->keyid);
    if (strlen(path) + sizeof(".tmp.XXXXXX") > 4096)
        return cmn_errf(eb, CMN_E_INVAL, "key file path '%s' is too long", path);
    cmn_base64_encode(key->pk, CMN_PK_BYTES, pk64);
    cmn_base64_encode(key->sk, CMN_SK_BYTES, sk64);
    struct cmn_key idk;
    memset(&idk, 0, sizeof(idk));
    memcpy(idk.pk, key->pk, CMN_PK_BYTES);
    cmn_key_compute_id(&idk);
    int len = snprintf(text, sizeof(text),
                       "{\"keyid\":\"%s\",\"public_key\":\"%s\",\"secret_key\":\"%s\",\"type\":\"" KEYFILE_TYPE "\"}\n",
                       idk.keyid, pk64, sk64);
    if (len < 0 || (size_t)len >= sizeof(text)) {
        rc = cmn_errf(eb, CMN_E_INVAL, "cannot format key file");
        goto out;
    }
    /* Mode 0600 before the secret is written; without overwrite, an existing key file is never replaced. */
    struct cmn_errbuf web = {{0}};
    rc = cmn_file_write_atomic(path, text, (size_t)len, 0600, overwrite ? 0 : CMN_WRITE_NO_REPLACE, &web);
    if (rc == CMN_E_EXISTS)
        rc = cmn_errf(eb, rc, "key file '%s' already exists", path);
    else if (rc)
        rc = cmn_errf(eb, rc, "%s", web.msg);
out:
    sodium_memzero(text, sizeof(text));
    sodium_memzero(sk64, sizeof(sk64));
    return rc;
}
