/*
 * auth.c - who is calling: API keys, JWTs, passwords and roles.
 *
 * API keys look like "hp_<12 hex lookup>_<43 base64url secret>". Only the
 * SHA-256 of the whole key is stored; a presented key is found by its lookup
 * part and its hash compared in constant time. JWTs are HS256 (libjwt) with
 * JWT_SECRET, carry "sub" = "key:<id>" or "user:<id>", and are short-lived;
 * the principal behind a JWT is re-read from the database on every request,
 * so revoking a key also stops the tokens made from it. Passwords are hashed
 * with Argon2id (libsodium crypto_pwhash_str).
 */
#include "common/compat.h"

#include <jwt.h>
#include <sodium.h>

#include "common/log.h"
#include "pub.h"

static const char *const role_names[] = {"none", "read", "write", "admin", "owner"};

const char *pub_role_name(int role)
{
    if (role < 0 || role > PUB_ROLE_OWNER)
        return "none";
    return role_names[role];
}

int pub_role_parse(const char *s)
{
    for (int i = PUB_ROLE_READ; i <= PUB_ROLE_OWNER; i++)
        if (s && !strcmp(s, role_names[i]))
            return i;
    return -1;
}

static void b64url(const uint8_t *in, size_t n, char *out, size_t cap)
{
    sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void pub_apikey_generate(char key[80], char lookup[16], char hash_hex[CMN_SHA256_HEX])
{
    uint8_t id[6], secret[32], h[CMN_SHA256_BYTES];
    char sec[64];
    cmn_random(id, sizeof(id));
    cmn_random(secret, sizeof(secret));
    cmn_hex_encode(id, sizeof(id), lookup);
    b64url(secret, sizeof(secret), sec, sizeof(sec));
    snprintf(key, 80, "hp_%s_%s", lookup, sec);
    cmn_sha256(key, strlen(key), h);
    cmn_hex_encode(h, sizeof(h), hash_hex);
    cmn_wipe(secret, sizeof(secret));
    cmn_wipe(sec, sizeof(sec));
}

int pub_apikey_parse(const char *key, char lookup[16], uint8_t hash[CMN_SHA256_BYTES])
{
    size_t n = strlen(key);
    if (n != 3 + 12 + 1 + 43 || strncmp(key, "hp_", 3) != 0 || key[15] != '_')
        return -1;
    for (int i = 3; i < 15; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return -1;
    for (size_t i = 16; i < n; i++) {
        char ch = key[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '-' ||
              ch == '_'))
            return -1;
    }
    memcpy(lookup, key + 3, 12);
    lookup[12] = '\0';
    cmn_sha256(key, n, hash);
    return 0;
}

static void principal_from_key_row(const PGresult *r, struct pub_principal *p)
{
    p->kind = PUB_PRINC_KEY;
    p->id = pub_cell_i64(r, 0, 0);
    p->org_id = pub_cell_i64(r, 0, 2);
    p->app_id = pub_cell_i64(r, 0, 3);
    int role = pub_role_parse(pub_cell(r, 0, 4));
    p->role = role < 0 ? PUB_ROLE_NONE : role;
    snprintf(p->actor, sizeof(p->actor), "key:%lld", (long long)p->id);
    snprintf(p->rl_key, sizeof(p->rl_key), "key:%lld", (long long)p->id);
}

enum cmn_err pub_auth_apikey(struct pub_dbconn *c, const char *key, struct pub_principal *p)
{
    char lookup[16];
    uint8_t h[CMN_SHA256_BYTES], stored[CMN_SHA256_BYTES];
    if (pub_apikey_parse(key, lookup, h))
        return CMN_E_DENIED;
    const char *params[] = {lookup};
    PGresult *r = pub_q(c, Q_APIKEY_BY_LOOKUP, params);
    enum cmn_err rc = CMN_E_DENIED;
    if (!pub_res_ok(r)) {
        rc = CMN_E_DB;
        goto out;
    }
    if (PQntuples(r) != 1)
        goto out;
    if (cmn_hex_decode(pub_cell(r, 0, 1), stored, sizeof(stored)))
        goto out;
    if (!cmn_ct_equal(stored, h, sizeof(h)))
        goto out;
    memset(p, 0, sizeof(*p));
    principal_from_key_row(r, p);
    rc = CMN_OK;
out:
    PQclear(r);
    return rc;
}

char *pub_jwt_issue(struct pub_srv *s, const struct pub_principal *p, long *expires_in)
{
    jwt_t *jwt = NULL;
    char *tok = NULL;
    if (jwt_new(&jwt))
        return NULL;
    char sub[48];
    snprintf(sub, sizeof(sub), "%s:%lld", p->kind == PUB_PRINC_USER ? "user" : "key", (long long)p->id);
    time_t now = time(NULL);
    long ttl = s->cfg->jwt_ttl;
    uint8_t jti_raw[12];
    char jti[32];
    cmn_random(jti_raw, sizeof(jti_raw));
    cmn_hex_encode(jti_raw, sizeof(jti_raw), jti);
    if (jwt_add_grant(jwt, "iss", "hotpatch-publisher") || jwt_add_grant(jwt, "sub", sub) ||
        jwt_add_grant(jwt, "jti", jti) || jwt_add_grant_int(jwt, "iat", (long)now) ||
        jwt_add_grant_int(jwt, "exp", (long)now + ttl) ||
        jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)s->cfg->jwt_secret, (int)strlen(s->cfg->jwt_secret)))
        goto out;
    tok = jwt_encode_str(jwt);
    if (tok && expires_in)
        *expires_in = ttl;
out:
    jwt_free(jwt);
    return tok;
}

enum cmn_err pub_jwt_verify(struct pub_srv *s, const char *token, struct pub_principal *p)
{
    jwt_t *jwt = NULL;
    enum cmn_err rc = CMN_E_DENIED;
    /* three base64url parts: refuse anything else before libjwt sees it */
    size_t dots = 0, n = strlen(token);
    if (n > 4096)
        return CMN_E_DENIED;
    for (size_t i = 0; i < n; i++)
        if (token[i] == '.')
            dots++;
    if (dots != 2)
        return CMN_E_DENIED;
    if (jwt_decode(&jwt, token, (const unsigned char *)s->cfg->jwt_secret, (int)strlen(s->cfg->jwt_secret)))
        return CMN_E_DENIED;
    if (jwt_get_alg(jwt) != JWT_ALG_HS256)
        goto out;
    const char *iss = jwt_get_grant(jwt, "iss");
    if (!iss || strcmp(iss, "hotpatch-publisher") != 0)
        goto out;
    errno = 0;
    long exp = jwt_get_grant_int(jwt, "exp");
    if (errno || exp <= (long)time(NULL))
        goto out;
    const char *sub = jwt_get_grant(jwt, "sub");
    if (!sub)
        goto out;
    memset(p, 0, sizeof(*p));
    if (!strncmp(sub, "user:", 5))
        p->kind = PUB_PRINC_USER;
    else if (!strncmp(sub, "key:", 4))
        p->kind = PUB_PRINC_KEY;
    else
        goto out;
    char *end;
    p->id = strtoll(strchr(sub, ':') + 1, &end, 10);
    if (*end || p->id <= 0)
        goto out;
    p->via_jwt = 1;
    rc = CMN_OK;
out:
    jwt_free(jwt);
    return rc;
}

enum cmn_err pub_auth_bearer(struct pub_srv *s, struct pub_dbconn *c, const char *authz, struct pub_principal *p,
                             struct cmn_errbuf *eb)
{
    if (strncasecmp(authz, "Bearer ", 7) != 0)
        return cmn_errf(eb, CMN_E_DENIED, "Authorization must be 'Bearer <api key or token>'");
    const char *tok = authz + 7;
    while (*tok == ' ')
        tok++;
    if (!strncmp(tok, "hp_", 3)) {
        enum cmn_err rc = pub_auth_apikey(c, tok, p);
        if (rc == CMN_E_DB)
            return rc;
        if (rc)
            return cmn_errf(eb, CMN_E_DENIED, "invalid or revoked API key");
        return CMN_OK;
    }
    struct pub_principal jp;
    if (pub_jwt_verify(s, tok, &jp))
        return cmn_errf(eb, CMN_E_DENIED, "invalid or expired token");
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)jp.id);
    const char *params[] = {id};
    if (jp.kind == PUB_PRINC_KEY) {
        PGresult *r = pub_q(c, Q_APIKEY_BY_ID, params);
        if (!pub_res_ok(r)) {
            PQclear(r);
            return CMN_E_DB;
        }
        if (PQntuples(r) != 1) {
            PQclear(r);
            return cmn_errf(eb, CMN_E_DENIED, "the API key behind this token was revoked");
        }
        memset(p, 0, sizeof(*p));
        principal_from_key_row(r, p);
        PQclear(r);
    } else if (pub_auth_user(c, jp.id, p)) {
        return CMN_E_DB;
    }
    p->via_jwt = 1;
    return CMN_OK;
}

enum cmn_err pub_auth_user(struct pub_dbconn *c, int64_t user_id, struct pub_principal *p)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)user_id);
    const char *params[] = {id};
    PGresult *r = pub_q(c, Q_USER_DEFAULT_ORG, params);
    if (!pub_res_ok(r)) {
        PQclear(r);
        return CMN_E_DB;
    }
    memset(p, 0, sizeof(*p));
    p->kind = PUB_PRINC_USER;
    p->id = user_id;
    p->org_id = PQntuples(r) ? pub_cell_i64(r, 0, 0) : 0;
    PQclear(r);
    snprintf(p->actor, sizeof(p->actor), "user:%lld", (long long)p->id);
    snprintf(p->rl_key, sizeof(p->rl_key), "user:%lld", (long long)p->id);
    return CMN_OK;
}

int pub_auth_role(struct pub_dbconn *c, const struct pub_principal *p, int64_t org_id, int64_t app_id)
{
    if (p->kind == PUB_PRINC_KEY) {
        if (p->org_id != org_id)
            return PUB_ROLE_NONE;
        if (p->app_id && p->app_id != app_id)
            return PUB_ROLE_NONE;
        return p->role;
    }
    if (p->kind != PUB_PRINC_USER)
        return PUB_ROLE_NONE;
    char uid[24], oid[24], aid[24];
    snprintf(uid, sizeof(uid), "%lld", (long long)p->id);
    snprintf(oid, sizeof(oid), "%lld", (long long)org_id);
    snprintf(aid, sizeof(aid), "%lld", (long long)app_id);
    const char *params[] = {uid, oid, app_id ? aid : NULL};
    PGresult *r = pub_q(c, Q_USER_ROLE, params);
    int role = PUB_ROLE_NONE;
    if (pub_res_ok(r) && PQntuples(r) == 1)
        role = (int)pub_cell_i64(r, 0, 0);
    PQclear(r);
    return role;
}

enum cmn_err pub_password_hash(const char *pw, char out[128])
{
    if (crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return CMN_E_NOMEM;
    return CMN_OK;
}

int pub_password_verify(const char *hash, const char *pw)
{
    return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}
