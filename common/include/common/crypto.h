/*
 * crypto.h - SHA-256, Ed25519 keys and signatures, base64/hex (libsodium).
 *
 * Key ids: the first 8 bytes of SHA-256(public key), as 16 lower-case hex
 * characters. Public keys travel as standard base64 (44 chars) of the 32 raw
 * bytes. Every signature is made over a domain-separation prefix followed by
 * the message, so a signature of one kind can never be replayed as another:
 *   manifest: "hotpatch-manifest-v1\n" || canonical payload bytes
 *   bundle:   "hotpatch-bundle-v1\n"   || 32-byte SHA-256 of the bundle zip
 * Secret keys are wiped (sodium_memzero) on every exit path that held them.
 */
#ifndef COMMON_CRYPTO_H
#define COMMON_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define CMN_SHA256_BYTES 32
#define CMN_SHA256_HEX 65 /* 64 hex chars + NUL */
#define CMN_PK_BYTES 32
#define CMN_SK_BYTES 64
#define CMN_SIG_BYTES 64
#define CMN_KEYID_HEX 17 /* 16 hex chars + NUL */
#define CMN_PK_B64 45    /* base64 of 32 bytes + NUL */
#define CMN_SIG_B64 89   /* base64 of 64 bytes + NUL */

#define CMN_SIGCTX_MANIFEST "hotpatch-manifest-v1\n"
#define CMN_SIGCTX_BUNDLE "hotpatch-bundle-v1\n"
/* No domain prefix: the legacy signature over a bare digest (manifests/SPEC.md section 15, opt-in). */
#define CMN_SIGCTX_LEGACY ""

/* Call once per process before any other function here (sodium_init); idempotent. */
enum cmn_err cmn_crypto_init(void) __attribute__((warn_unused_result));

/* Streaming SHA-256. The state is opaque storage large enough for libsodium's. */
struct cmn_sha256 {
    unsigned char opaque[128] __attribute__((aligned(16)));
};
void cmn_sha256_init(struct cmn_sha256 *s);
void cmn_sha256_update(struct cmn_sha256 *s, const void *p, size_t n);
void cmn_sha256_final(struct cmn_sha256 *s, uint8_t out[CMN_SHA256_BYTES]);
void cmn_sha256(const void *p, size_t n, uint8_t out[CMN_SHA256_BYTES]);
/* Hash a whole file, streaming; *size receives its length when not NULL. */
enum cmn_err cmn_sha256_file(const char *path, uint8_t out[CMN_SHA256_BYTES], uint64_t *size, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* Lower-case hex; `out` holds 2*n+1 bytes. */
void cmn_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decode exactly `n` bytes from 2*n hex chars (either case); CMN_E_PARSE otherwise. */
enum cmn_err cmn_hex_decode(const char *in, uint8_t *out, size_t n) __attribute__((warn_unused_result));

/* Standard base64 with padding. `out` must hold cmn_base64_len(n) bytes (includes NUL). */
size_t cmn_base64_len(size_t n);
void cmn_base64_encode(const uint8_t *in, size_t n, char *out);
/* Decode into out (capacity `cap`), exact length in *outlen; CMN_E_PARSE on bad input. */
enum cmn_err cmn_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen)
    __attribute__((warn_unused_result));

/* An Ed25519 key pair, or a public key alone (has_secret == 0). */
struct cmn_key {
    uint8_t pk[CMN_PK_BYTES];
    uint8_t sk[CMN_SK_BYTES]; /* zero when has_secret == 0 */
    int has_secret;
    char keyid[CMN_KEYID_HEX];
};

/* Fill key->keyid from key->pk. */
void cmn_key_compute_id(struct cmn_key *key);
enum cmn_err cmn_key_generate(struct cmn_key *key) __attribute__((warn_unused_result));
/* Wipe the whole struct (secret included). */
void cmn_key_clear(struct cmn_key *key);

/*
 * Secret key file: JSON {"type":"hotpatch-ed25519-secret-key","keyid":"...",
 * "public_key":"b64","secret_key":"b64"}. Saved with mode 0600 via temp file +
 * rename (refuses to overwrite unless `overwrite`); loading refuses files that
 * are group/world readable (CMN_E_DENIED), or whose public key / key id do not
 * match the secret (CMN_E_PARSE).
 */
enum cmn_err cmn_key_save_secret(const struct cmn_key *key, const char *path, int overwrite, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
enum cmn_err cmn_key_load_secret(const char *path, struct cmn_key *key, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
/* Public key from its base64 text (the form printed by keygen and embedded in apps). */
enum cmn_err cmn_key_from_public_b64(const char *b64, struct cmn_key *key, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
void cmn_key_public_b64(const struct cmn_key *key, char out[CMN_PK_B64]);

/* Detached Ed25519 signature over ctx || msg. CMN_E_INVAL if the key has no secret. */
enum cmn_err cmn_sign(const struct cmn_key *key, const char *ctx, const void *msg, size_t n, uint8_t sig[CMN_SIG_BYTES])
    __attribute__((warn_unused_result));
/* CMN_OK or CMN_E_SIG. */
enum cmn_err cmn_verify(const struct cmn_key *key, const char *ctx, const void *msg, size_t n,
                        const uint8_t sig[CMN_SIG_BYTES]) __attribute__((warn_unused_result));

/*
 * A signature over ctx || a SHA-256 digest, as base64 text (bundle and content
 * signatures). Verify answers `bad_b64` when sig_b64 is not base64 of 64 bytes,
 * else cmn_verify's code.
 */
enum cmn_err cmn_digest_sign(const struct cmn_key *key, const char *ctx, const uint8_t digest[CMN_SHA256_BYTES],
                             char sig_b64[CMN_SIG_B64]) __attribute__((warn_unused_result));
enum cmn_err cmn_digest_verify(const struct cmn_key *key, const char *ctx, const uint8_t digest[CMN_SHA256_BYTES],
                               const char *sig_b64, enum cmn_err bad_b64) __attribute__((warn_unused_result));

/* Bundle signatures: over CMN_SIGCTX_BUNDLE || digest, as base64 text. */
enum cmn_err cmn_bundle_sign(const struct cmn_key *key, const uint8_t digest[CMN_SHA256_BYTES],
                             char sig_b64[CMN_SIG_B64]) __attribute__((warn_unused_result));
enum cmn_err cmn_bundle_verify(const struct cmn_key *key, const uint8_t digest[CMN_SHA256_BYTES], const char *sig_b64)
    __attribute__((warn_unused_result));

/* Constant-time equality (sodium_memcmp); 1 when equal. */
int cmn_ct_equal(const void *a, const void *b, size_t n);
/* Wipe memory that held a secret (sodium_memzero). */
void cmn_wipe(void *p, size_t n);
/* Cryptographically random bytes. */
void cmn_random(void *p, size_t n);

#endif
