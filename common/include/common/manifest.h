/*
 * manifest.h - the signed per-channel manifest: model, open (verify + parse),
 * seal (render + sign), and the update decision shared by the edge and the SDK.
 *
 * Wire form (manifests/SPEC.md): an envelope
 *   {"payload":"<canonical manifest JSON as a string>",
 *    "payload_type":"application/vnd.hotpatch.manifest.v1+json",
 *    "signatures":[{"keyid":"<16 hex>","sig":"<base64 Ed25519>"}]}
 * Each signature is over CMN_SIGCTX_MANIFEST || payload bytes. Opening parses
 * the envelope strictly, verifies a signature by a trusted key over the exact
 * payload bytes, requires those bytes to be canonical, and only then parses
 * them: the verified bytes are the parsed bytes.
 *
 * Payload fields (all required unless noted):
 *   schema (1), app, platform, channel, sequence (>=1), issued_at, expires_at
 *   (unix seconds), releases: [release...] ordered oldest first.
 * Release fields: id, version, target_binary (semver range), bundle_url (relative
 *   to the storage root, or https://), sha256 (hex), size, bundle_sig (base64),
 *   bundle_keyid, mandatory (bool), rollout_bp (0..10000), state ("active" |
 *   "halted" | "rolled_back" | "disabled"), created_at; optional: notes,
 *   targeting {device_ids: [..] (sorted, unique, inline), device_list: "name"
 *   (an edge-held list)}, content_sha256 + content_sig (the release key's
 *   signature over the bundle's content digest), patches [{base, url, sha256,
 *   size}] (sorted by base; only with content_sha256), legacy_signature (base64
 *   Ed25519 by the release key over the raw 32-byte SHA-256 of the bundle, no
 *   domain prefix: for seed 000/001 clients only, SPEC section 15),
 *   codepush_hash (the CodePush client's package hash of the unzipped bundle,
 *   common/codepush.h).
 * Optional payload field: codepush_keys [sha256 hex of a CodePush deployment
 *   key, ...] (sorted, unique, 1..CMN_MANIFEST_MAX_CODEPUSH_KEYS): the keys
 *   whose update checks this channel answers (SPEC section 16).
 */
#ifndef COMMON_MANIFEST_H
#define COMMON_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/err.h"
#include "common/ident.h"
#include "common/semver.h"

#define CMN_MANIFEST_SCHEMA 1
#define CMN_MANIFEST_PAYLOAD_TYPE "application/vnd.hotpatch.manifest.v1+json"
#define CMN_MANIFEST_MAX_BYTES (4u << 20) /* whole envelope */
#define CMN_MANIFEST_MAX_RELEASES 256
#define CMN_MANIFEST_MAX_INLINE_DEVICES 10000
#define CMN_NOTES_MAX 4096
#define CMN_MANIFEST_MAX_PATCHES 16 /* patches listed per release */
#define CMN_MANIFEST_MAX_CODEPUSH_KEYS 64

enum cmn_release_state {
    CMN_REL_ACTIVE = 0,  /* offered to its cohort */
    CMN_REL_HALTED,      /* frozen: kept by devices that have it, offered to no one new */
    CMN_REL_ROLLED_BACK, /* withdrawn: devices on it move to the newest eligible older release or the embedded bundle */
    CMN_REL_DISABLED,    /* kept for the record only; never offered */
};

const char *cmn_release_state_name(enum cmn_release_state s);
/* -1 when unknown. */
int cmn_release_state_parse(const char *s);

/* A differential patch to this release from one base bundle (SPEC section 14). */
struct cmn_patch_ref {
    char base[CMN_SHA256_HEX];   /* content digest of the base bundle */
    char *url;                   /* like bundle_url */
    char sha256[CMN_SHA256_HEX]; /* of the patch file */
    uint64_t size;               /* of the patch file */
};

struct cmn_release {
    char *id;
    char *version;
    char *target_binary;
    struct cmn_semver_range target; /* pre-compiled target_binary */
    char *bundle_url;
    char sha256[CMN_SHA256_HEX];
    uint64_t size;
    char *bundle_sig;
    char bundle_keyid[CMN_KEYID_HEX];
    int mandatory;
    uint32_t rollout_bp;
    enum cmn_release_state state;
    int64_t created_at;
    char *notes;       /* NULL when absent */
    char **device_ids; /* sorted ascending (strcmp), NULL when absent */
    size_t n_device_ids;
    char *device_list; /* NULL when absent */
    /* Optional (both or neither): content digest of the bundle's files and the
     * release key's signature over it (SPEC section 14). content_sig NULL when absent. */
    char content_sha256[CMN_SHA256_HEX];
    char *content_sig;
    struct cmn_patch_ref *patches; /* sorted by base, unique; only with a content digest */
    size_t n_patches;
    /* Optional: the release key's signature over the raw bundle digest, no
     * domain prefix (SPEC section 15, opt-in per app); NULL when absent. */
    char *legacy_signature;
    char codepush_hash[CMN_SHA256_HEX]; /* optional (SPEC section 16); "" when absent */
};

struct cmn_manifest {
    int schema;
    char *app;
    char *platform;
    char *channel;
    uint64_t sequence;
    int64_t issued_at;
    int64_t expires_at;
    struct cmn_release *releases; /* oldest first */
    size_t n_releases;
    /*
     * A tombstone: the channel is retired. Signed, sequenced and verified like
     * any manifest, with no releases; devices and edges offer nothing from it
     * and keep its sequence, so an older manifest cannot be replayed over it.
     * Rendered as "retired": true only when set (SPEC.md section 7).
     */
    int retired;
    /* Optional (SPEC section 16): SHA-256 hex of the CodePush deployment keys
     * this channel answers, sorted ascending and unique; NULL when absent.
     * Owned by the manifest (freed by cmn_manifest_free). */
    char (*codepush_keys)[CMN_SHA256_HEX];
    size_t n_codepush_keys;
    char *signed_by; /* key id that verified (set by open), NULL for built manifests */
};

struct cmn_keyring {
    const struct cmn_key *keys;
    size_t n;
};

/* What the opener expects; NULL fields are not checked. */
struct cmn_manifest_expect {
    const char *app;
    const char *platform;
    const char *channel;
    uint64_t min_sequence; /* reject (CMN_E_REPLAY) when sequence < this; 0 = no check */
};

#define CMN_MANIFEST_ALLOW_EXPIRED 0x1 /* writers re-reading to re-sign; never on devices or edges */

/*
 * Verify and parse an envelope. `now` is unix seconds (expiry: CMN_E_EXPIRED when
 * now >= expires_at unless CMN_MANIFEST_ALLOW_EXPIRED). Errors: CMN_E_PARSE /
 * CMN_E_TOOBIG (malformed), CMN_E_UNKNOWN_KEY (no signature by a trusted key),
 * CMN_E_SIG (a trusted key's signature fails), CMN_E_EXPIRED, CMN_E_REPLAY,
 * CMN_E_INVAL (expect mismatch: wrong app/platform/channel). On success *out
 * is a new manifest freed with cmn_manifest_free().
 */
enum cmn_err cmn_manifest_open(const void *doc, size_t len, const struct cmn_keyring *trusted,
                               const struct cmn_manifest_expect *expect, int64_t now, unsigned flags,
                               struct cmn_manifest **out, struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* Validate a manifest's fields (what open checks after parsing); for writers before sealing. */
enum cmn_err cmn_manifest_validate(const struct cmn_manifest *m, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* Append the canonical payload bytes. */
enum cmn_err cmn_manifest_render_payload(const struct cmn_manifest *m, struct cmn_buf *out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* Validate, render, sign with `key` (must hold a secret) and append the envelope to `out`. */
enum cmn_err cmn_manifest_seal(const struct cmn_manifest *m, const struct cmn_key *key, struct cmn_buf *out,
                               struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/*
 * The same with several keys, one signature each, in the given order (key
 * rotation: sign with the old and the new key while devices trusting either
 * are in the field). 1..CMN_MANIFEST_MAX_SIGNATURES keys, all with secrets and
 * distinct key ids, else CMN_E_INVAL.
 */
#define CMN_MANIFEST_MAX_SIGNATURES 16
enum cmn_err cmn_manifest_seal_keys(const struct cmn_manifest *m, const struct cmn_key *keys, size_t n,
                                    struct cmn_buf *out, struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/*
 * The sequence of the next manifest a writer issues for a channel:
 * max(prev + 1, now_ms), where prev is the highest sequence the writer knows
 * of (0 when it knows none) and now_ms its clock in milliseconds since the
 * epoch. Flooring by the clock means a writer that lost the previous manifest
 * (deleted object, restored database) still issues a sequence above every one
 * it issued before, so devices never refuse it as a replay (SPEC.md section
 * 7). Capped at 2^53-1; 0 when prev is already there (nothing can follow).
 */
uint64_t cmn_manifest_next_sequence(uint64_t prev, int64_t now_ms);
/* The wall clock in milliseconds since the epoch (CLOCK_REALTIME). */
int64_t cmn_now_ms(void);

/* A new empty manifest (schema 1, sequence 0, no releases); NULL on allocation failure. */
struct cmn_manifest *cmn_manifest_new(const char *app, const char *platform, const char *channel);
/* Deep copy of `r` appended to m->releases. */
enum cmn_err cmn_manifest_add_release(struct cmn_manifest *m, const struct cmn_release *r)
    __attribute__((warn_unused_result));
/* Index of the release with this id, or -1. */
long cmn_manifest_find(const struct cmn_manifest *m, const char *release_id);
/* CodePush deployment key hashes (64 hex, SPEC section 16), kept sorted and unique.
 * find: index or -1. add: CMN_E_EXISTS when listed, CMN_E_TOOBIG past the cap,
 * CMN_E_INVAL for a malformed hash. remove: CMN_E_NOTFOUND when not listed;
 * removing the last one makes the field absent. */
long cmn_manifest_codepush_key_find(const struct cmn_manifest *m, const char *hash_hex);
enum cmn_err cmn_manifest_codepush_key_add(struct cmn_manifest *m, const char *hash_hex)
    __attribute__((warn_unused_result));
enum cmn_err cmn_manifest_codepush_key_remove(struct cmn_manifest *m, const char *hash_hex)
    __attribute__((warn_unused_result));
/* Free everything; NULL does nothing. */
void cmn_manifest_free(struct cmn_manifest *m);
/* Free the strings a release owns (used for releases built by hand). */
void cmn_release_clear(struct cmn_release *r);

/* ---- the update decision (manifests/SPEC.md "Decision") ---- */

/*
 * Membership of a device in an edge-held targeting list. Return 1 if member,
 * 0 if not. When the caller has no lists (the static CDN path), pass NULL:
 * releases targeted by device_list are then never offered.
 */
typedef int (*cmn_list_member_fn)(void *ctx, const char *list_name, const char *device_id);

struct cmn_device {
    const char *device_id;        /* required, 1..128 bytes */
    const char *binary_version;   /* required: the native app version */
    const char *current_release;  /* installed release id; NULL or "" = embedded bundle */
    const char *const *blocklist; /* release ids this device refuses (it rolled them back) */
    size_t n_blocklist;
};

enum cmn_decision_kind {
    CMN_DECIDE_NONE = 0, /* keep what is installed */
    CMN_DECIDE_UPDATE,   /* install m->releases[index] */
    CMN_DECIDE_ROLLBACK, /* the installed release was rolled back and nothing older applies: revert to embedded */
};

struct cmn_decision {
    enum cmn_decision_kind kind;
    size_t index;       /* valid for CMN_DECIDE_UPDATE */
    int mandatory;      /* mandatory-survives-skip applied */
    const char *reason; /* static text, for logs and --json output */
};

/*
 * Decide for one device. Eligible release: state active (or the device's own
 * release when halted), target range matches binary_version, in cohort, matches
 * targeting, not blocklisted. Candidate: the newest eligible. Never a downgrade
 * unless the installed release is rolled_back. Mandatory when any release newer
 * than the installed one and not newer than the candidate, matching the binary
 * version and not rolled_back/disabled, is mandatory.
 * CMN_E_INVAL when device_id / binary_version are missing or unparsable.
 */
enum cmn_err cmn_decide(const struct cmn_manifest *m, const struct cmn_device *dev, cmn_list_member_fn member,
                        void *member_ctx, struct cmn_decision *out) __attribute__((warn_unused_result));

#endif
