/*
 * session.c - dashboard sessions: create, look up, delete, and the two
 * checks every cookie-authenticated state change passes (CSRF token in
 * constant time, same Origin). See pub_session.h.
 *
 * The cookie value is "hps_" + 32 random bytes in base64url. Only its
 * SHA-256 is stored and looked up (an index lookup on a digest of a
 * 256-bit secret leaks nothing useful by timing); the CSRF token is a
 * second random value, returned to the signed-in page and compared with
 * cmn_ct_equal.
 */
#include "common/compat.h"

#include <sodium.h>

#include "pub_session.h"

#define TOKEN_PREFIX "hps_"
#define B64_32 43 /* base64url, no padding, of 32 bytes */

static int b64url_char(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_';
}

int pub_session_token_valid(const char *tok)
{
    if (!tok || strncmp(tok, TOKEN_PREFIX, 4) != 0 || strlen(tok) != 4 + B64_32)
        return 0;
    for (const char *p = tok + 4; *p; p++)
        if (!b64url_char(*p))
            return 0;
    return 1;
}

static void random_b64(char *out, size_t cap)
{
    uint8_t raw[32];
    cmn_random(raw, sizeof(raw));
    sodium_bin2base64(out, cap, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    cmn_wipe(raw, sizeof(raw));
}

static void token_hash_hex(const char *token, char hex[CMN_SHA256_HEX])
{
    uint8_t h[CMN_SHA256_BYTES];
    cmn_sha256(token, strlen(token), h);
    cmn_hex_encode(h, sizeof(h), hex);
}

enum cmn_err pub_session_create(struct pub_srv *s, struct pub_dbconn *c, int64_t user_id, const char *ip,
                                char token[PUB_SESSION_TOKEN_MAX], char csrf[PUB_CSRF_MAX], int64_t *expires_at)
{
    char secret[B64_32 + 1], hex[CMN_SHA256_HEX], uid[24], ttl[24];
    random_b64(secret, sizeof(secret));
    snprintf(token, PUB_SESSION_TOKEN_MAX, TOKEN_PREFIX "%s", secret);
    cmn_wipe(secret, sizeof(secret));
    random_b64(csrf, PUB_CSRF_MAX);
    token_hash_hex(token, hex);
    snprintf(uid, sizeof(uid), "%lld", (long long)user_id);
    snprintf(ttl, sizeof(ttl), "%ld", s->cfg->session_ttl);
    PQclear(pub_q(c, Q_SESS_PURGE, NULL));
    const char *p[] = {hex, csrf, uid, ttl, ip ? ip : ""};
    PGresult *r = pub_q(c, Q_SESS_INSERT, p);
    enum cmn_err rc = pub_res_ok(r) && PQntuples(r) == 1 ? CMN_OK : CMN_E_DB;
    if (!rc && expires_at)
        *expires_at = pub_cell_i64(r, 0, 0);
    PQclear(r);
    if (rc) {
        cmn_wipe(token, PUB_SESSION_TOKEN_MAX);
        cmn_wipe(csrf, PUB_CSRF_MAX);
    }
    return rc;
}

enum cmn_err pub_session_lookup(struct pub_dbconn *c, const char *token, struct pub_session *out)
{
    if (!pub_session_token_valid(token))
        return CMN_E_DENIED;
    char hex[CMN_SHA256_HEX];
    token_hash_hex(token, hex);
    const char *p[] = {hex};
    PGresult *r = pub_q(c, Q_SESS_BY_HASH, p);
    enum cmn_err rc = CMN_E_DENIED;
    if (!pub_res_ok(r))
        rc = CMN_E_DB;
    else if (PQntuples(r) == 1) {
        memset(out, 0, sizeof(*out));
        out->user_id = pub_cell_i64(r, 0, 0);
        snprintf(out->csrf, sizeof(out->csrf), "%s", pub_cell(r, 0, 1));
        out->expires_at = pub_cell_i64(r, 0, 2);
        snprintf(out->email, sizeof(out->email), "%s", pub_cell(r, 0, 3));
        rc = CMN_OK;
    }
    PQclear(r);
    return rc;
}

enum cmn_err pub_auth_session(struct pub_dbconn *c, const char *token, struct pub_principal *p, char csrf[PUB_CSRF_MAX],
                              struct cmn_errbuf *eb)
{
    struct pub_session sess;
    enum cmn_err rc = pub_session_lookup(c, token, &sess);
    if (rc == CMN_E_DB)
        return rc;
    if (rc)
        return cmn_errf(eb, CMN_E_DENIED, "your session has expired or was signed out; sign in again");
    if (pub_auth_user(c, sess.user_id, p)) {
        cmn_wipe(sess.csrf, sizeof(sess.csrf));
        return CMN_E_DB;
    }
    p->via_session = 1;
    if (csrf)
        memcpy(csrf, sess.csrf, PUB_CSRF_MAX);
    cmn_wipe(sess.csrf, sizeof(sess.csrf));
    return CMN_OK;
}

enum cmn_err pub_session_delete(struct pub_dbconn *c, const char *token)
{
    if (!pub_session_token_valid(token))
        return CMN_OK;
    char hex[CMN_SHA256_HEX];
    token_hash_hex(token, hex);
    const char *p[] = {hex};
    PGresult *r = pub_q(c, Q_SESS_DELETE, p);
    enum cmn_err rc = pub_res_ok(r) ? CMN_OK : CMN_E_DB;
    PQclear(r);
    return rc;
}

int pub_csrf_equal(const char *want, const char *got)
{
    if (!want || !got)
        return 0;
    size_t n = strlen(want);
    /* the length of a random token is public; the bytes are compared in constant time */
    if (n == 0 || strlen(got) != n)
        return 0;
    return cmn_ct_equal(want, got, n);
}

int pub_origin_ok(const char *origin, const char *host, const char *public_url)
{
    if (!origin)
        return 0;
    if (public_url && *public_url)
        return strcmp(origin, public_url) == 0;
    if (!host || !*host)
        return 0;
    const char *rest = !strncmp(origin, "http://", 7)    ? origin + 7
                       : !strncmp(origin, "https://", 8) ? origin + 8
                                                         : NULL;
    return rest && strcmp(rest, host) == 0;
}
