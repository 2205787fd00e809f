/*
 * root.h - the signed root of trust of an app (manifests/SPEC.md section 17):
 * which keys may sign its manifests, and which keys may sign the next root.
 *
 * Devices and edges start from a root they trust by construction (embedded in
 * the app, or given to the edge as a file) and walk forward one version at a
 * time: root N+1 is accepted only when a threshold of root N's root keys AND
 * a threshold of its own root keys signed its exact payload bytes, so neither
 * a single stolen root key nor a rotation that cannot be continued is
 * possible. Versions never go back; an expired root is refused at the end of
 * the walk but may be walked from (TUF's rule). The manifest keys a verifier
 * trusts are those of its latest trusted root.
 *
 * Wire form (same envelope shape as a manifest):
 *   {"payload":"<canonical root JSON as a string>",
 *    "payload_type":"application/vnd.hotpatch.root.v1+json",
 *    "signatures":[{"keyid":"<16 hex>","sig":"<base64 Ed25519>"}...]}
 * each signature over CMN_SIGCTX_ROOT || payload bytes. Payload:
 *   {"app","expires_at","issued_at","manifest_keys":[b64..],"release_keys":[b64..],
 *    "revoked_keys":[keyid..],"root_keys":[b64..],"schema":1,"threshold","version"}
 * Storage: roots/<app>/<version>.json (immutable) and roots/<app>/root.json
 * (a copy of the newest, for people and tools; verifiers walk the numbers).
 */
#ifndef COMMON_ROOT_H
#define COMMON_ROOT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/err.h"
#include "common/ident.h"
#include "common/manifest.h"

#define CMN_ROOT_SCHEMA 1
#define CMN_ROOT_PAYLOAD_TYPE "application/vnd.hotpatch.root.v1+json"
#define CMN_SIGCTX_ROOT "hotpatch-root-v1\n"
#define CMN_ROOT_MAX_BYTES (64u << 10) /* whole envelope */
#define CMN_ROOT_MAX_KEYS 16           /* per key list */
#define CMN_ROOT_MAX_REVOKED 64
#define CMN_ROOT_MAX_SIGNATURES 16
#define CMN_ROOT_MAX_WALK 64 /* versions accepted by one walk (the rest waits for the next one) */

struct cmn_root {
    char app[CMN_ID_MAX + 1];
    uint64_t version;
    int64_t issued_at, expires_at;
    unsigned threshold; /* of root_keys, for the next root and for this one */
    struct cmn_key root_keys[CMN_ROOT_MAX_KEYS];
    size_t n_root_keys;
    struct cmn_key manifest_keys[CMN_ROOT_MAX_KEYS];
    size_t n_manifest_keys;
    struct cmn_key release_keys[CMN_ROOT_MAX_KEYS]; /* may be empty: the verifier keeps its configured ones */
    size_t n_release_keys;
    char revoked[CMN_ROOT_MAX_REVOKED][CMN_KEYID_HEX]; /* key ids taken out of service, sorted */
    size_t n_revoked;
    /* set by open/accept: the exact envelope bytes (what a cache stores), owned */
    char *env;
    size_t env_len;
};

/* Free a root from open/accept/new; NULL does nothing. */
void cmn_root_free(struct cmn_root *r);

/*
 * Open a root trusted by construction (embedded in the app, an edge's --root
 * file, a device's cache): strict envelope and payload, canonical payload,
 * every field valid, and a threshold of its own root keys signed it (so a
 * damaged or hand-edited file is refused). Expiry is NOT checked here: a
 * verifier may walk forward from an expired root. `app` NULL = any.
 * Errors: CMN_E_TOOBIG, CMN_E_PARSE, CMN_E_UNSUPPORTED, CMN_E_SIG (below
 * threshold), CMN_E_INVAL (another app).
 */
enum cmn_err cmn_root_open(const void *doc, size_t len, const char *app, struct cmn_root **out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/*
 * Accept `doc` as the successor of `trusted`: a threshold of trusted's root
 * keys signed it (checked over the exact payload bytes before they are
 * parsed), it is for the same app, its version is exactly trusted->version+1
 * (lower: CMN_E_REPLAY, a rollback; other: CMN_E_INVAL), and a threshold of
 * its own root keys signed it. Errors as cmn_root_open, CMN_E_SIG naming the
 * key set that fell short.
 */
enum cmn_err cmn_root_accept(const struct cmn_root *trusted, const void *doc, size_t len, struct cmn_root **out,
                             struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/*
 * Fetch root `version` of the walk into `out`: CMN_OK, CMN_E_NOTFOUND when
 * there is none (the walk ends), any other code to stop the walk with an error.
 */
typedef enum cmn_err (*cmn_root_fetch_fn)(void *ctx, uint64_t version, struct cmn_buf *out, struct cmn_errbuf *eb);

/*
 * Walk forward from *cur: fetch version+1, accept, repeat until the fetch
 * answers CMN_E_NOTFOUND or CMN_ROOT_MAX_WALK versions were accepted. *cur is
 * replaced by each accepted root as it is accepted (the old one freed), so on
 * an error it holds the newest root that was accepted; *advanced counts them.
 * Then the newest root must not have expired at `now` (CMN_E_EXPIRED). A
 * refused successor stops the walk with its error.
 */
enum cmn_err cmn_root_walk(struct cmn_root **cur, cmn_root_fetch_fn fetch, void *ctx, int64_t now, unsigned *advanced,
                           struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* CMN_E_EXPIRED (with a message naming the version) when now >= expires_at. */
enum cmn_err cmn_root_fresh(const struct cmn_root *r, int64_t now, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* The manifest keys as a keyring (borrowed: valid while r is). */
void cmn_root_keyring(const struct cmn_root *r, struct cmn_keyring *ring);

/*
 * Open a manifest with the root's manifest keys. An untrusted signer is
 * explained in terms of the root: a key the root revoked is named as
 * revoked ("... key X, revoked by root version N"), any other as not listed.
 */
enum cmn_err cmn_root_open_manifest(const struct cmn_root *r, const void *doc, size_t len,
                                    const struct cmn_manifest_expect *expect, int64_t now, struct cmn_manifest **out,
                                    struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* 1 when `keyid` is in r's revoked list. */
int cmn_root_is_revoked(const struct cmn_root *r, const char *keyid);

/* ---- writers (the CLI) ---- */

/* A new empty root for `app` (schema 1, version 0); NULL on allocation failure. */
struct cmn_root *cmn_root_new(const char *app);
/* Check every field as open does (keys sorted and unique, threshold in range...). */
enum cmn_err cmn_root_validate(const struct cmn_root *r, struct cmn_errbuf *eb) __attribute__((warn_unused_result));
/* Sort the key lists and the revoked list into canonical order (writers call this before sealing). */
void cmn_root_sort(struct cmn_root *r);
/* Append the canonical payload bytes. */
enum cmn_err cmn_root_render_payload(const struct cmn_root *r, struct cmn_buf *out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
/*
 * Validate, render and sign with keys[0..n) (secrets, distinct key ids, 0..16;
 * 0 gives an envelope with no signature yet, which no verifier accepts:
 * signatures are added with cmn_root_add_signature). Appends the envelope.
 */
enum cmn_err cmn_root_seal(const struct cmn_root *r, const struct cmn_key *keys, size_t n, struct cmn_buf *out,
                           struct cmn_errbuf *eb) __attribute__((warn_unused_result));
/*
 * Add `key`'s signature to an envelope (threshold signing, one key file at a
 * time): the payload must be a canonical, valid root; a key that already
 * signed is CMN_E_EXISTS. Appends the new envelope to `out`.
 */
enum cmn_err cmn_root_add_signature(const void *doc, size_t len, const struct cmn_key *key, struct cmn_buf *out,
                                    struct cmn_errbuf *eb) __attribute__((warn_unused_result));
/*
 * Parse an envelope and its payload strictly, without any signature
 * requirement (writers: `root sign` of a draft, `root show`).
 */
enum cmn_err cmn_root_parse_unverified(const void *doc, size_t len, struct cmn_root **out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
/* Number of distinct keys of keys[0..n) whose signature over doc's payload verifies. */
enum cmn_err cmn_root_count_signatures(const void *doc, size_t len, const struct cmn_key *keys, size_t n,
                                       unsigned *count, struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* The storage key of root `version` ("roots/<app>/<version>.json") or, version 0, of "roots/<app>/root.json". */
int cmn_root_storage_key(const char *app, uint64_t version, char *out, size_t cap);

#endif
