/*
 * Unit tests for publisher/multipart.c: boundary extraction, parts handed
 * over intact however the body is split into chunks (one byte at a time,
 * random splits), delimiter look-alikes inside part data, and every
 * malformation refused with a reason. Inputs sit right before a guard page.
 */
#include "common/compat.h"

#include "../../lib/test.h"
#include "common/buf.h"
#include "pub_multipart.h"

struct rec {
    char names[8][PUB_MP_NAME_MAX];
    char files[8][PUB_MP_NAME_MAX];
    char data[8][4096];
    size_t len[8];
    int n, ended, stop_at_begin;
};

static int on_begin(void *ctx, const struct pub_mp_part *p)
{
    struct rec *r = ctx;
    if (r->stop_at_begin)
        return 1;
    int k = r->n % 8; /* more than 8 parts only in the too-many-parts case */
    snprintf(r->names[k], PUB_MP_NAME_MAX, "%s", p->name);
    snprintf(r->files[k], PUB_MP_NAME_MAX, "%s", p->filename);
    r->len[k] = 0;
    return 0;
}

static int on_data(void *ctx, const void *p, size_t n)
{
    struct rec *r = ctx;
    int k = r->n % 8;
    if (r->len[k] + n > sizeof(r->data[0]))
        return 1;
    memcpy(r->data[k] + r->len[k], p, n);
    r->len[k] += n;
    return 0;
}

static int on_end(void *ctx)
{
    struct rec *r = ctx;
    r->n++;
    r->ended++;
    return 0;
}

/* Parse `body` split into pieces of `step` bytes (0 = random sizes). */
static enum cmn_err run(const char *boundary, const char *body, size_t len, size_t step, struct rec *r,
                        struct cmn_errbuf *eb)
{
    memset(r, 0, sizeof(*r));
    memset(eb, 0, sizeof(*eb));
    struct pub_mp mp;
    struct pub_mp_cb cb = {on_begin, on_data, on_end, r};
    pub_mp_init(&mp, boundary, &cb);
    char *g = test_guard_alloc(body, len);
    size_t off = 0;
    enum cmn_err rc = CMN_OK;
    unsigned seed = 7;
    while (off < len && !rc) {
        size_t n = step;
        if (!n) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 16) % 23;
        }
        if (n > len - off)
            n = len - off;
        /* each piece in its own guard allocation: no read past the piece */
        char *piece = test_guard_alloc(g + off, n);
        rc = pub_mp_feed(&mp, piece, n, eb);
        test_guard_free(piece);
        off += n;
    }
    if (!rc)
        rc = pub_mp_finish(&mp, eb);
    test_guard_free(g);
    return rc;
}

#define B "XyZ-boundary"
static const char good[] = "--" B "\r\n"
                           "Content-Disposition: form-data; name=\"metadata\"\r\n"
                           "Content-Type: application/json\r\n\r\n"
                           "{\"a\":1}\r\n"
                           "--" B "\r\n"
                           "Content-Disposition: form-data; name=\"bundle\"; filename=\"b.zip\"\r\n\r\n"
                           "PK\r\n--XyZ-boundarY\r\n--XyZ-bo\r\r\n-- \r\r\n\r\n--" B "\r\n"
                           "Content-Disposition: form-data; name=\"empty\"\r\n\r\n"
                           "\r\n--" B "--\r\nepilogue is ignored";

static const char bundle_want[] = "PK\r\n--XyZ-boundarY\r\n--XyZ-bo\r\r\n-- \r\r\n";

int main(void)
{
    char bnd[PUB_MP_MAX_BOUNDARY + 1];
    struct cmn_errbuf eb = {0};
    is_int(pub_mp_boundary("multipart/form-data; boundary=abc", bnd, &eb), CMN_OK, "plain boundary");
    is_str(bnd, "abc", "boundary value");
    is_int(pub_mp_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"", bnd, &eb), CMN_OK,
           "quoted boundary with a space, other parameters first");
    is_str(bnd, "a b:c", "quoted boundary value");
    is_int(pub_mp_boundary("application/json", bnd, &eb), CMN_E_UNSUPPORTED, "not multipart");
    is_int(pub_mp_boundary(NULL, bnd, &eb), CMN_E_UNSUPPORTED, "no content type");
    is_int(pub_mp_boundary("multipart/form-data", bnd, &eb), CMN_E_PARSE, "no boundary");
    is_int(pub_mp_boundary("multipart/form-data; boundary=", bnd, &eb), CMN_E_PARSE, "empty boundary");
    is_int(pub_mp_boundary("multipart/form-data; boundary=\"abc", bnd, &eb), CMN_E_PARSE, "unterminated quote");
    is_int(pub_mp_boundary("multipart/form-data; boundary=a\x01z", bnd, &eb), CMN_E_PARSE, "control char refused");
    char longb[200];
    memset(longb, 0, sizeof(longb));
    snprintf(longb, sizeof(longb), "multipart/form-data; boundary=%071d", 1);
    is_int(pub_mp_boundary(longb, bnd, &eb), CMN_E_PARSE, "71-character boundary refused");
    is_int(pub_mp_boundary("multipart/form-dataX; boundary=a", bnd, &eb), CMN_E_UNSUPPORTED, "type prefix only");

    struct rec r;
    size_t steps[] = {sizeof(good) - 1, 1, 2, 3, 7, 64, 0};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(steps); i++) {
        enum cmn_err rc = run(B, good, sizeof(good) - 1, steps[i], &r, &eb);
        int okay = rc == CMN_OK && r.n == 3 && !strcmp(r.names[0], "metadata") && !strcmp(r.names[1], "bundle") &&
                   !strcmp(r.files[1], "b.zip") && r.len[0] == 7 && !memcmp(r.data[0], "{\"a\":1}", 7) &&
                   r.len[1] == sizeof(bundle_want) - 1 && !memcmp(r.data[1], bundle_want, r.len[1]) && r.len[2] == 0;
        if (!okay)
            diag("rc %d n %d len %zu %zu %zu", rc, r.n, r.len[0], r.len[1], r.len[2]);
        ok(okay, "three parts intact with chunks of %zu bytes%s (%s)", steps[i], steps[i] ? "" : " (random)",
           rc ? eb.msg : "ok");
    }
    /* a preamble before the first boundary is skipped */
    const char pre[] = "preamble text\r\n--" B "\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--" B "--";
    ok(run(B, pre, sizeof(pre) - 1, 5, &r, &eb) == CMN_OK && r.n == 1 && r.len[0] == 1, "preamble skipped");
    const char pad[] = "--" B "  \t\r\nContent-Disposition: form-data; name=x\r\n\r\nv\r\n--" B "--";
    ok(run(B, pad, sizeof(pad) - 1, 1, &r, &eb) == CMN_OK && !strcmp(r.names[0], "x"),
       "transport padding and an unquoted name");

    struct {
        const char *body, *why;
    } bad[] = {
        {"--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nxx", "no closing delimiter"},
        {"", "empty body"},
        {"just some text without any boundary", "no boundary at all"},
        {"--" B "--\r\n", "no parts"},
        {"--" B "\r\nContent-Type: text/plain\r\n\r\nx\r\n--" B "--", "no Content-Disposition"},
        {"--" B "\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--" B "--", "not form-data"},
        {"--" B "\r\nContent-Disposition: form-data\r\n\r\nx\r\n--" B "--", "no name"},
        {"--" B "\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n--" B "--", "empty name"},
        {"--" B "\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--" B "--", "unterminated quoted name"},
        {"--" B "\r\n\r\nx\r\n--" B "--", "part without headers"},
        {"--" B "\r\nno colon here\r\n\r\nx\r\n--" B "--", "header line without a colon"},
        {"--" B "x\r\n", "garbage after the delimiter"},
        {"--" B "-x", "single dash after the delimiter"},
        {"--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n",
         "two Content-Disposition headers"},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
        memset(&eb, 0, sizeof(eb));
        enum cmn_err rc = run(B, bad[i].body, strlen(bad[i].body), 3, &r, &eb);
        ok(rc != CMN_OK && eb.msg[0], "refused: %s (%s)", bad[i].why, eb.msg);
    }
    /* a NUL inside a header block */
    const char nul[] = "--" B "\r\nContent-Disposition: form-data; name=\"a\0\"\r\n\r\nx\r\n--" B "--";
    ok(run(B, nul, sizeof(nul) - 1, 4, &r, &eb) != CMN_OK, "NUL in part headers refused");
    /* oversized header block */
    char *hdr = malloc(PUB_MP_MAX_HEADER + 200);
    int n = snprintf(hdr, 64, "--" B "\r\nX-Pad: ");
    memset(hdr + n, 'a', PUB_MP_MAX_HEADER + 50);
    memcpy(hdr + n + PUB_MP_MAX_HEADER + 50, "\r\n\r\n", 4);
    memset(&eb, 0, sizeof(eb));
    is_int(run(B, hdr, (size_t)n + PUB_MP_MAX_HEADER + 54, 1000, &r, &eb), CMN_E_TOOBIG, "header block over the cap");
    free(hdr);
    /* too many parts */
    struct cmn_buf many;
    cmn_buf_init(&many, 1 << 20);
    for (int i = 0; i <= PUB_MP_MAX_PARTS; i++)
        if (cmn_buf_addf(&many, "--" B "\r\nContent-Disposition: form-data; name=\"p%d\"\r\n\r\nx\r\n", i))
            break;
    if (cmn_buf_addstr(&many, "--" B "--"))
        return 1;
    is_int(run(B, many.ptr, many.len, 50, &r, &eb), CMN_E_TOOBIG, "more than %d parts refused", PUB_MP_MAX_PARTS);
    cmn_buf_release(&many);
    /* preamble too long */
    char *longpre = malloc(PUB_MP_MAX_PREAMBLE + 100);
    memset(longpre, 'p', PUB_MP_MAX_PREAMBLE + 100);
    ok(run(B, longpre, PUB_MP_MAX_PREAMBLE + 100, 100, &r, &eb) != CMN_OK, "endless preamble refused");
    free(longpre);
    /* a callback can stop the parse */
    memset(&r, 0, sizeof(r));
    r.stop_at_begin = 1;
    struct pub_mp mp;
    struct pub_mp_cb cb = {on_begin, on_data, on_end, &r};
    pub_mp_init(&mp, B, &cb);
    is_int(pub_mp_feed(&mp, good, sizeof(good) - 1, &eb), CMN_E_CANCELLED, "callback cancels");
    ok(pub_mp_feed(&mp, "x", 1, &eb) != CMN_OK, "a failed parser refuses further input");
    return done_testing();
}
