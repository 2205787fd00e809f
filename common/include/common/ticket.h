/*
 * ticket.h - telemetry tickets (issue 12 #8, docs/interfaces.md "Telemetry
 * tickets"): a short-lived Ed25519 signature by the edge over (app,
 * platform, channel, release id, device id, expiry), issued when the edge
 * offers a release to a device. The device attaches it to its installation
 * reports about that release; the publisher counts toward the auto-halt only
 * reports whose ticket verifies against a configured ticket PUBLIC key, so
 * neither a leaked publisher config nor a forged report can mint one.
 *
 * Encoding (ASCII, at most CMN_TICKET_MAX bytes):
 *
 *     "t1." base64(body) "." base64(signature)
 *     body      = keyid LF app LF platform LF channel LF release LF device LF expires
 *     signature = Ed25519(CMN_SIGCTX_TICKET || body)
 *
 * base64 is the standard alphabet with padding (crypto.h). keyid is the
 * signing key's id (16 hex), app/platform/channel/release are identifiers
 * (ident.h), device a device id (ident.h: 1..128 bytes of UTF-8, no control
 * character), expires is decimal Unix
 * seconds without leading zeros. Nothing allocates: the edge issues tickets
 * on its request path.
 */
#ifndef COMMON_TICKET_H
#define COMMON_TICKET_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/err.h"
#include "common/ident.h"

#define CMN_SIGCTX_TICKET "hotpatch-ticket-v1\n"
#define CMN_TICKET_DEVICE_MAX CMN_DEVICE_ID_MAX
#define CMN_TICKET_BODY_MAX 512
#define CMN_TICKET_MAX 800 /* "t1." + base64(512) + "." + base64(64) < 800 */
#define CMN_TICKET_TTL_DEFAULT (7 * 86400)

/* A parsed ticket: the fields are NUL-terminated copies of the body's. */
struct cmn_ticket {
    char keyid[CMN_KEYID_HEX];
    char app[CMN_ID_MAX + 1];
    char platform[CMN_ID_MAX + 1];
    char channel[CMN_ID_MAX + 1];
    char release[CMN_ID_MAX + 1];
    char device[CMN_TICKET_DEVICE_MAX + 1];
    int64_t expires;
    uint8_t sig[CMN_SIG_BYTES];
    uint8_t body[CMN_TICKET_BODY_MAX]; /* the signed bytes, exactly as received */
    size_t body_len;
};

/*
 * Sign a ticket with `key` (must hold its secret) into out[cap], NUL-terminated;
 * *outlen (may be NULL) gets the length. CMN_E_INVAL when a field breaks the
 * rules above or the key has no secret, CMN_E_TOOBIG when cap is too small.
 */
enum cmn_err cmn_ticket_issue(const struct cmn_key *key, const char *app, const char *platform, const char *channel,
                              const char *release, const char *device, int64_t expires, char *out, size_t cap,
                              size_t *outlen) __attribute__((warn_unused_result));

/*
 * Parse (no signature check) n bytes of a ticket. CMN_E_PARSE for anything
 * not in the encoding above, CMN_E_TOOBIG past CMN_TICKET_MAX. *t is written
 * only on success.
 */
enum cmn_err cmn_ticket_parse(const char *s, size_t n, struct cmn_ticket *t) __attribute__((warn_unused_result));

/* What a report claims; the ticket must name the same app, release and device. */
struct cmn_ticket_claim {
    const char *app, *release, *device;
};

/*
 * Verify n bytes of a ticket for `claim` at time `now` against the trusted
 * public keys: parse, the claim's fields (constant-time compares), expiry,
 * a known key id, then the signature over the exact body bytes received.
 * Cheap checks first, so a flood of replayed or garbage tickets costs no
 * signature checks. Codes: CMN_OK; CMN_E_PARSE / CMN_E_TOOBIG (malformed),
 * CMN_E_DENIED (for another app, release or device), CMN_E_EXPIRED,
 * CMN_E_UNKNOWN_KEY, CMN_E_SIG.
 */
enum cmn_err cmn_ticket_verify(const char *s, size_t n, const struct cmn_key *keys, size_t nkeys,
                               const struct cmn_ticket_claim *claim, int64_t now) __attribute__((warn_unused_result));

/* Short reason for a cmn_ticket_verify code ("valid", "malformed", "wrong_claim", ...). */
const char *cmn_ticket_reason(enum cmn_err rc);

#endif
