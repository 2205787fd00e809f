/*
 * Unit tests for publisher/auth.c and ratelimit.c: API key shape and hashing,
 * JWT issue/verify (expiry, tampering, wrong secret, alg "none"), Argon2id
 * passwords, role names, and token buckets (burst, refill, Retry-After, the
 * entry cap).
 */
#include "common/compat.h"

#include <jwt.h>

#include "../../lib/test.h"
#include "pub.h"

int main(void)
{
    if (cmn_crypto_init())
        return 1;
    char key[80], lookup[16], hash[CMN_SHA256_HEX];
    pub_apikey_generate(key, lookup, hash);
    ok(!strncmp(key, "hp_", 3) && strlen(key) == 59, "key shape hp_<12>_<43> (%s)", key);
    char l2[16];
    uint8_t h2[CMN_SHA256_BYTES];
    char hex2[CMN_SHA256_HEX];
    is_int(pub_apikey_parse(key, l2, h2), 0, "generated key parses");
    cmn_hex_encode(h2, sizeof(h2), hex2);
    is_str(l2, lookup, "lookup id round-trips");
    is_str(hex2, hash, "hash is SHA-256 of the whole key");
    char other[80], ol[16], oh[CMN_SHA256_HEX];
    pub_apikey_generate(other, ol, oh);
    ok(strcmp(other, key) != 0 && strcmp(ol, lookup) != 0, "keys are random");
    char badk[80];
    snprintf(badk, sizeof(badk), "%s", key);
    badk[5] = 'Z';
    is_int(pub_apikey_parse(badk, l2, h2), -1, "non-hex lookup refused");
    is_int(pub_apikey_parse("hp_short", l2, h2), -1, "short key refused");
    snprintf(badk, sizeof(badk), "%s", key);
    badk[40] = '!';
    is_int(pub_apikey_parse(badk, l2, h2), -1, "bad secret alphabet refused");

    struct pub_config cfg;
    pub_config_init(&cfg);
    cfg.jwt_secret = strdup("0123456789abcdef0123456789abcdef0123");
    struct pub_srv s;
    memset(&s, 0, sizeof(s));
    s.cfg = &cfg;
    struct pub_principal p = {0}, q;
    p.kind = PUB_PRINC_KEY;
    p.id = 42;
    long exp = 0;
    char *tok = pub_jwt_issue(&s, &p, &exp);
    ok(tok != NULL && exp == 900, "JWT issued for 900 s");
    is_int(pub_jwt_verify(&s, tok, &q), CMN_OK, "JWT verifies");
    ok(q.kind == PUB_PRINC_KEY && q.id == 42 && q.via_jwt, "subject key:42");
    char *t2 = strdup(tok);
    size_t tl = strlen(t2);
    t2[tl - 2] = t2[tl - 2] == 'A' ? 'B' : 'A';
    is_int(pub_jwt_verify(&s, t2, &q), CMN_E_DENIED, "tampered signature refused");
    free(t2);
    free(cfg.jwt_secret);
    cfg.jwt_secret = strdup("another-secret-another-secret-another-secret");
    is_int(pub_jwt_verify(&s, tok, &q), CMN_E_DENIED, "other secret refused");
    free(tok);
    p.kind = PUB_PRINC_USER;
    p.id = 7;
    cfg.jwt_ttl = -5; /* already expired when issued */
    tok = pub_jwt_issue(&s, &p, &exp);
    is_int(pub_jwt_verify(&s, tok, &q), CMN_E_DENIED, "expired token refused");
    free(tok);
    cfg.jwt_ttl = 900;
    /* alg none: a token without a signature */
    jwt_t *j = NULL;
    jwt_new(&j);
    jwt_add_grant(j, "iss", "hotpatch-publisher");
    jwt_add_grant(j, "sub", "user:1");
    jwt_add_grant_int(j, "exp", (long)time(NULL) + 600);
    char *none = jwt_encode_str(j);
    jwt_free(j);
    is_int(pub_jwt_verify(&s, none ? none : "x.y.z", &q), CMN_E_DENIED, "alg none refused");
    free(none);
    /* HS256 with the right secret but a foreign issuer */
    jwt_new(&j);
    jwt_add_grant(j, "iss", "someone-else");
    jwt_add_grant(j, "sub", "user:1");
    jwt_add_grant_int(j, "exp", (long)time(NULL) + 600);
    jwt_set_alg(j, JWT_ALG_HS256, (const unsigned char *)cfg.jwt_secret, (int)strlen(cfg.jwt_secret));
    char *foreign = jwt_encode_str(j);
    jwt_free(j);
    is_int(pub_jwt_verify(&s, foreign, &q), CMN_E_DENIED, "foreign issuer refused");
    free(foreign);
    is_int(pub_jwt_verify(&s, "a.b", &q), CMN_E_DENIED, "two-part token refused");
    pub_config_release(&cfg);

    char ph[128];
    is_int(pub_password_hash("correct horse", ph), CMN_OK, "password hashed");
    ok(!strncmp(ph, "$argon2id$", 10), "Argon2id hash string");
    ok(pub_password_verify(ph, "correct horse"), "right password verifies");
    ok(!pub_password_verify(ph, "wrong horse"), "wrong password refused");

    is_int(pub_role_parse("write"), PUB_ROLE_WRITE, "role parse");
    is_int(pub_role_parse("root"), -1, "unknown role");
    is_str(pub_role_name(PUB_ROLE_OWNER), "owner", "role name");

    struct pub_rl *rl = pub_rl_new(2.0, 3.0, 2);
    int allowed = 0;
    for (int i = 0; i < 5; i++)
        allowed += pub_rl_take(rl, "1.2.3.4", 100.0) == 0;
    is_int(allowed, 3, "burst of 3 at one instant");
    ok(pub_rl_take(rl, "1.2.3.4", 100.0) >= 1, "then Retry-After >= 1");
    is_int(pub_rl_take(rl, "1.2.3.4", 100.6), 0, "refilled after half a second (rate 2/s)");
    is_int(pub_rl_take(rl, "5.6.7.8", 100.6), 0, "another name has its own bucket");
    /* the table holds 2 names: a third shares the overflow bucket until idle ones are swept */
    ok(pub_rl_take(rl, "9.9.9.9", 100.6) == 0, "a third name is served (overflow bucket)");
    is_int(pub_rl_take(rl, "9.9.9.9", 200.0), 0, "after everyone is idle the table is swept");
    pub_rl_free(rl);
    return done_testing();
}
