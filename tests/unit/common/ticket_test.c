/*
 * Unit tests for common/ticket.c: a ticket issued by one key verifies for
 * its own claim only (app, release, device), not after its expiry, not under
 * an unknown key, not with one bit flipped anywhere; the parser refuses
 * every malformed shape; rotation (several trusted keys) works.
 */
#include "common/compat.h"

#include "common/ticket.h"
#include "../../lib/test.h"

static enum cmn_err vfy(const char *t, const struct cmn_key *keys, size_t n, const char *app, const char *rel,
                        const char *dev, int64_t now)
{
    struct cmn_ticket_claim cl = {app, rel, dev};
    return cmn_ticket_verify(t, strlen(t), keys, n, &cl, now);
}

int main(void)
{
    is_int(cmn_crypto_init(), CMN_OK, "crypto init");
    struct cmn_key k1, k2, pub[2];
    ok(!cmn_key_generate(&k1) && !cmn_key_generate(&k2), "two ticket keys");
    pub[0] = k1;
    pub[1] = k2;
    memset(pub[0].sk, 0, sizeof(pub[0].sk));
    memset(pub[1].sk, 0, sizeof(pub[1].sk));
    pub[0].has_secret = pub[1].has_secret = 0;

    char t[CMN_TICKET_MAX + 1];
    size_t tl = 0;
    is_int(cmn_ticket_issue(&k1, "demo", "android", "production", "rel_A", "dev 1/ü", 2000, t, sizeof(t), &tl), CMN_OK,
           "issue");
    is_int(tl, strlen(t), "length reported");
    ok(!strncmp(t, "t1.", 3), "versioned prefix");
    struct cmn_ticket pt;
    is_int(cmn_ticket_parse(t, tl, &pt), CMN_OK, "parses");
    is_str(pt.app, "demo", "app");
    is_str(pt.platform, "android", "platform");
    is_str(pt.channel, "production", "channel");
    is_str(pt.release, "rel_A", "release");
    is_str(pt.device, "dev 1/ü", "device (printable UTF-8)");
    is_int(pt.expires, 2000, "expiry");
    is_str(pt.keyid, k1.keyid, "key id");

    is_int(vfy(t, pub, 1, "demo", "rel_A", "dev 1/ü", 1999), CMN_OK, "valid for its own claim before expiry");
    is_int(vfy(t, pub + 1, 1, "demo", "rel_A", "dev 1/ü", 1999), CMN_E_UNKNOWN_KEY, "unknown key refused");
    is_int(vfy(t, pub, 2, "demo", "rel_A", "dev 1/ü", 1999), CMN_OK, "valid with the key among several (rotation)");
    is_int(vfy(t, pub, 1, "demo", "rel_A", "dev 1/ü", 2000), CMN_E_EXPIRED, "expired at its expiry");
    is_int(vfy(t, pub, 1, "demo", "rel_B", "dev 1/ü", 10), CMN_E_DENIED, "a ticket for release A is not for B");
    is_int(vfy(t, pub, 1, "demo", "rel_A", "dev 2", 10), CMN_E_DENIED, "replayed under another device id");
    is_int(vfy(t, pub, 1, "demo", "rel_A", "dev 1/", 10), CMN_E_DENIED, "a prefix of the device id is not it");
    is_int(vfy(t, pub, 1, "other", "rel_A", "dev 1/ü", 10), CMN_E_DENIED, "another app");
    is_int(vfy(t, pub, 1, NULL, "rel_A", "dev 1/ü", 10), CMN_E_DENIED, "no claimed app");

    /* one bit flipped anywhere: never valid */
    int all = 1;
    for (size_t i = 0; i < tl; i++) {
        for (int bit = 0; bit < 8; bit++) {
            char x[CMN_TICKET_MAX + 1];
            memcpy(x, t, tl + 1);
            x[i] = (char)(x[i] ^ (1 << bit));
            if (x[i] == '\0')
                continue;
            if (vfy(x, pub, 2, "demo", "rel_A", "dev 1/ü", 10) == CMN_OK) {
                all = 0;
                diag("flip at %zu bit %d ('%c' -> '%c') still verifies", i, bit, t[i], x[i]);
            }
        }
    }
    ok(all, "no single-bit change of the ticket verifies");

    /* a body signed by k2 but naming k1's key id */
    char t2[CMN_TICKET_MAX + 1];
    is_int(cmn_ticket_issue(&k2, "demo", "android", "production", "rel_A", "d", 2000, t2, sizeof(t2), NULL), CMN_OK,
           "issue with k2");
    is_int(vfy(t2, pub, 1, "demo", "rel_A", "d", 10), CMN_E_UNKNOWN_KEY, "k2's ticket unknown to a k1-only verifier");
    /* splice: k1's body with k2's signature */
    char sp[2 * CMN_TICKET_MAX];
    const char *d1 = strrchr(t, '.'), *d2 = strrchr(t2, '.');
    snprintf(sp, sizeof(sp), "%.*s%s", (int)(d1 - t), t, d2);
    is_int(vfy(sp, pub, 2, "demo", "rel_A", "dev 1/ü", 10), CMN_E_SIG, "another ticket's signature refused");

    /* malformed */
    const char *bad[] = {"",        "t1.",          "t1..",         "t2.AAAA.AAAA", "garbage",
                         "t1.AAAA", "t1.!!!!.AAAA", "t1.AAAA.AAAA", "t1.YQ==.AAAA"};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
        struct cmn_ticket_claim cl = {"demo", "rel_A", "d"};
        is_int(cmn_ticket_verify(bad[i], strlen(bad[i]), pub, 2, &cl, 10), CMN_E_PARSE, "malformed '%s' refused",
               bad[i]);
    }
    char huge[CMN_TICKET_MAX + 10];
    memset(huge, 'A', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    is_int(cmn_ticket_parse(huge, strlen(huge), &pt), CMN_E_TOOBIG, "over the size cap");

    /* issue refuses what the parser would refuse */
    is_int(cmn_ticket_issue(&k1, "de/mo", "android", "production", "r", "d", 5, t2, sizeof(t2), NULL), CMN_E_INVAL,
           "bad app");
    is_int(cmn_ticket_issue(&k1, "demo", "android", "production", "r", "d\n", 5, t2, sizeof(t2), NULL), CMN_E_INVAL,
           "device with LF");
    is_int(cmn_ticket_issue(&k1, "demo", "android", "production", "r", "", 5, t2, sizeof(t2), NULL), CMN_E_INVAL,
           "empty device");
    is_int(cmn_ticket_issue(&pub[0], "demo", "android", "production", "r", "d", 5, t2, sizeof(t2), NULL), CMN_E_INVAL,
           "a public key cannot issue");
    is_int(cmn_ticket_issue(&k1, "demo", "android", "production", "r", "d", 5, t2, 40, NULL), CMN_E_TOOBIG,
           "small buffer");
    char longdev[200];
    memset(longdev, 'x', 129);
    longdev[129] = '\0';
    is_int(cmn_ticket_issue(&k1, "demo", "android", "production", "r", longdev, 5, t2, sizeof(t2), NULL), CMN_E_INVAL,
           "device over 128 bytes");
    longdev[128] = '\0';
    is_int(cmn_ticket_issue(&k1, "demo", "android", "production", "r", longdev, 5, t2, sizeof(t2), NULL), CMN_OK,
           "device of 128 bytes");
    is_str(cmn_ticket_reason(CMN_E_EXPIRED), "expired", "reason text");
    cmn_key_clear(&k1);
    cmn_key_clear(&k2);
    return done_testing();
}
