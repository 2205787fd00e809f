/*
 * ticket.c - telemetry tickets (ticket.h): issued by the edge when it offers
 * a release, verified by the publisher before a report may count toward the
 * auto-halt. Fixed-size stack buffers only (the edge signs on its request
 * path, which never allocates), so libsodium is called directly rather than
 * through cmn_sign, whose ctx || msg join allocates.
 */
#include "common/compat.h"

#include <sodium.h>

#include "common/ticket.h"

#define PREFIX "t1."
#define NFIELDS 7
#define CTX_LEN (sizeof(CMN_SIGCTX_TICKET) - 1)

static int valid_keyid(const char *s, size_t n)
{
    if (n != CMN_KEYID_HEX - 1)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/*
 * Only the base64 alphabet: libsodium's decoder reads some bytes with the
 * high bit set as alphabet characters (0xAF as '/'), which would give one
 * ticket several spellings.
 */
static int b64_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
              c == '='))
            return 0;
    }
    return 1;
}

/* Decimal without sign or leading zero, 1..18 digits (fits int64 with room). */
static int parse_expires(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 18 || (s[0] == '0' && n > 1))
        return 0;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

enum cmn_err cmn_ticket_issue(const struct cmn_key *key, const char *app, const char *platform, const char *channel,
                              const char *release, const char *device, int64_t expires, char *out, size_t cap,
                              size_t *outlen)
{
    if (!key || !key->has_secret || !cmn_id_valid(app) || !cmn_id_valid(platform) || !cmn_id_valid(channel) ||
        !cmn_id_valid(release) || !device || !cmn_device_id_valid(device, strlen(device)) || expires < 0 ||
        expires > 999999999999999999LL)
        return CMN_E_INVAL;
    /* CTX || body in one buffer: the signed message */
    uint8_t msg[CTX_LEN + CMN_TICKET_BODY_MAX];
    memcpy(msg, CMN_SIGCTX_TICKET, CTX_LEN);
    int bl = snprintf((char *)msg + CTX_LEN, CMN_TICKET_BODY_MAX, "%s\n%s\n%s\n%s\n%s\n%s\n%lld", key->keyid, app,
                      platform, channel, release, device, (long long)expires);
    if (bl < 0 || (size_t)bl >= CMN_TICKET_BODY_MAX)
        return CMN_E_INVAL;
    uint8_t sig[CMN_SIG_BYTES];
    if (crypto_sign_ed25519_detached(sig, NULL, msg, CTX_LEN + (size_t)bl, key->sk) != 0)
        return CMN_E_INVAL;
    size_t b1 = cmn_base64_len((size_t)bl), b2 = cmn_base64_len(CMN_SIG_BYTES); /* each with its NUL */
    size_t total = sizeof(PREFIX) - 1 + (b1 - 1) + 1 + (b2 - 1);
    if (total + 1 > cap)
        return CMN_E_TOOBIG;
    char *p = out;
    memcpy(p, PREFIX, sizeof(PREFIX) - 1);
    p += sizeof(PREFIX) - 1;
    cmn_base64_encode(msg + CTX_LEN, (size_t)bl, p);
    p += b1 - 1;
    *p++ = '.';
    cmn_base64_encode(sig, CMN_SIG_BYTES, p);
    if (outlen)
        *outlen = total;
    return CMN_OK;
}

enum cmn_err cmn_ticket_parse(const char *s, size_t n, struct cmn_ticket *out)
{
    if (n > CMN_TICKET_MAX)
        return CMN_E_TOOBIG;
    if (!s || n < sizeof(PREFIX) - 1 || memcmp(s, PREFIX, sizeof(PREFIX) - 1) != 0)
        return CMN_E_PARSE;
    const char *b = s + sizeof(PREFIX) - 1, *end = s + n;
    const char *dot = memchr(b, '.', (size_t)(end - b));
    if (!dot || !b64_chars(b, (size_t)(dot - b)) || !b64_chars(dot + 1, (size_t)(end - dot - 1)))
        return CMN_E_PARSE;
    struct cmn_ticket t;
    memset(&t, 0, sizeof(t));
    size_t sl = 0;
    if (cmn_base64_decode(b, (size_t)(dot - b), t.body, sizeof(t.body), &t.body_len) != CMN_OK ||
        cmn_base64_decode(dot + 1, (size_t)(end - dot - 1), t.sig, sizeof(t.sig), &sl) != CMN_OK || sl != CMN_SIG_BYTES)
        return CMN_E_PARSE;
    /* the body: exactly NFIELDS fields separated by LF */
    const char *f[NFIELDS];
    size_t fl[NFIELDS];
    const char *p = (const char *)t.body, *bend = p + t.body_len;
    for (int i = 0; i < NFIELDS; i++) {
        const char *lf = i < NFIELDS - 1 ? memchr(p, '\n', (size_t)(bend - p)) : bend;
        if (!lf)
            return CMN_E_PARSE;
        f[i] = p;
        fl[i] = (size_t)(lf - p);
        p = lf + (i < NFIELDS - 1);
    }
    if (!valid_keyid(f[0], fl[0]) || !cmn_id_valid_n(f[1], fl[1]) || !cmn_id_valid_n(f[2], fl[2]) ||
        !cmn_id_valid_n(f[3], fl[3]) || !cmn_id_valid_n(f[4], fl[4]) || !cmn_device_id_valid(f[5], fl[5]) ||
        memchr(f[5], '\n', fl[5]) || !parse_expires(f[6], fl[6], &t.expires))
        return CMN_E_PARSE;
    char *dst[6] = {t.keyid, t.app, t.platform, t.channel, t.release, t.device};
    for (int i = 0; i < 6; i++) {
        memcpy(dst[i], f[i], fl[i]);
        dst[i][fl[i]] = '\0';
    }
    *out = t;
    return CMN_OK;
}

/* Constant-time equality of a NUL-terminated field and a claimed value (lengths compared first: they are public). */
static int same(const char *field, const char *claim)
{
    size_t a = strlen(field);
    return claim && strlen(claim) == a && cmn_ct_equal(field, claim, a);
}

enum cmn_err cmn_ticket_verify(const char *s, size_t n, const struct cmn_key *keys, size_t nkeys,
                               const struct cmn_ticket_claim *claim, int64_t now)
{
    struct cmn_ticket t;
    enum cmn_err rc = cmn_ticket_parse(s, n, &t);
    if (rc)
        return rc;
    if (!same(t.app, claim->app) || !same(t.release, claim->release) || !same(t.device, claim->device))
        return CMN_E_DENIED;
    if (now >= t.expires)
        return CMN_E_EXPIRED;
    const struct cmn_key *k = NULL;
    for (size_t i = 0; i < nkeys; i++)
        if (cmn_ct_equal(keys[i].keyid, t.keyid, CMN_KEYID_HEX - 1))
            k = &keys[i];
    if (!k)
        return CMN_E_UNKNOWN_KEY;
    uint8_t msg[CTX_LEN + CMN_TICKET_BODY_MAX];
    memcpy(msg, CMN_SIGCTX_TICKET, CTX_LEN);
    memcpy(msg + CTX_LEN, t.body, t.body_len);
    if (crypto_sign_ed25519_verify_detached(t.sig, msg, CTX_LEN + t.body_len, k->pk) != 0)
        return CMN_E_SIG;
    return CMN_OK;
}

const char *cmn_ticket_reason(enum cmn_err rc)
{
    switch (rc) {
    case CMN_OK:
        return "valid";
    case CMN_E_PARSE:
    case CMN_E_TOOBIG:
        return "malformed";
    case CMN_E_DENIED:
        return "wrong_claim";
    case CMN_E_EXPIRED:
        return "expired";
    case CMN_E_UNKNOWN_KEY:
        return "unknown_key";
    case CMN_E_SIG:
        return "bad_signature";
    default:
        return "invalid";
    }
}
