/*
 * pub_session.h - dashboard sessions (session.c, domain layer): a browser
 * signs in with email + password and gets a random session token in an
 * HttpOnly cookie; the server keeps only the token's SHA-256, the user, an
 * expiry and a per-session CSRF token. A cookie-authenticated request maps
 * onto the same principal (a user) as a user's bearer token, so every role
 * check is the same; state changes additionally need the CSRF token in
 * X-CSRF-Token (compared in constant time) and a same-origin Origin.
 */
#ifndef PUB_SESSION_H
#define PUB_SESSION_H

#include <stdint.h>

#include "pub.h"

#define PUB_SESSION_COOKIE "hp_session"
#define PUB_SESSION_TOKEN_MAX 64 /* "hps_" + 43 base64url characters + NUL fits */
#define PUB_CSRF_MAX 48          /* 43 base64url characters + NUL fits */

struct pub_session {
    int64_t user_id;
    int64_t expires_at; /* unix seconds */
    char csrf[PUB_CSRF_MAX];
    char email[256];
};

/* 1 when `tok` has the shape of a session token ("hps_" + 43 base64url), else 0. */
int pub_session_token_valid(const char *tok);

/*
 * New session for a user who has just proved their password: a random token
 * (the cookie value) and CSRF token, stored as SHA-256(token) with an expiry
 * of cfg->session_ttl seconds. Expired sessions are purged on the way.
 * CMN_E_DB on failure. The caller wipes `token` after sending it.
 */
enum cmn_err pub_session_create(struct pub_srv *s, struct pub_dbconn *c, int64_t user_id, const char *ip,
                                char token[PUB_SESSION_TOKEN_MAX], char csrf[PUB_CSRF_MAX], int64_t *expires_at)
    __attribute__((warn_unused_result));

/* The live session behind a cookie value: CMN_OK, CMN_E_DENIED (bad shape, unknown, expired), CMN_E_DB. */
enum cmn_err pub_session_lookup(struct pub_dbconn *c, const char *token, struct pub_session *out)
    __attribute__((warn_unused_result));

/*
 * Authenticate a cookie value into a principal (a user, like a user's JWT),
 * with p->via_session set; `csrf` (nullable) gets the session's CSRF token.
 * CMN_E_DENIED (message in eb) or CMN_E_DB.
 */
enum cmn_err pub_auth_session(struct pub_dbconn *c, const char *token, struct pub_principal *p, char csrf[PUB_CSRF_MAX],
                              struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* Sign out: delete the session (a no-op when it is already gone). */
enum cmn_err pub_session_delete(struct pub_dbconn *c, const char *token) __attribute__((warn_unused_result));

/* Constant-time comparison of the CSRF token the client sent with the session's; 1 when equal. */
int pub_csrf_equal(const char *want, const char *got);

/*
 * Is `origin` (an Origin header) this server's own origin? With `public_url`
 * set it must equal it; otherwise it must be http:// or https:// followed by
 * `host` (the Host header the browser sent). NULL origin or host: 0.
 */
int pub_origin_ok(const char *origin, const char *host, const char *public_url);

#endif
