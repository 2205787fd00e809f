/*
 * common_http1.c - fuzz target for the HTTP/1.1 request-head parser
 * (common/http1.c). The input is parsed whole, then fed as a slow client
 * would (growing prefixes with last_len), and both ways must agree; every
 * returned slice must lie inside the input; the header helpers run over the
 * result. The first byte picks the header-array size so the count cap is
 * exercised too.
 */
#include "common/compat.h"

#include "common/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *buf, size_t len, struct cmn_slice s)
{
    if (s.n && (s.p < buf || s.p + s.n > buf + len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cmn_http1_header hdrs[64];
    struct cmn_http1_request req;
    if (size < 1)
        return 0;
    size_t maxh = data[0] % 65;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;

    int whole = cmn_http1_parse_request(buf, len, 0, &req, hdrs, maxh);
    if (whole > (int)len || whole < -3 || whole == 0)
        abort();
    if (whole > 0) {
        inside(buf, len, req.method);
        inside(buf, len, req.target);
        inside(buf, len, req.path);
        inside(buf, len, req.query);
        if (req.num_headers > maxh)
            abort();
        for (size_t i = 0; i < req.num_headers; i++) {
            inside(buf, (size_t)whole, req.headers[i].name);
            inside(buf, (size_t)whole, req.headers[i].value);
        }
        (void)cmn_http1_keep_alive(&req);
        const struct cmn_http1_header *h = cmn_http1_find_header(&req, "content-length");
        if (h)
            (void)cmn_http1_content_length(h->value);
        /* query helpers over the parsed target */
        struct cmn_slice rest = req.query, k, v;
        char out[256];
        while (cmn_query_next(&rest, &k, &v)) {
            inside(buf, len, k);
            inside(buf, len, v);
            long n = cmn_pct_decode(v, out, sizeof(out), 1);
            if (n >= (long)sizeof(out) || (n >= 0 && out[n] != '\0'))
                abort();
        }
    }

    /* incremental: prefixes of growing size must say -2 until the same answer appears */
    size_t last = 0;
    for (size_t k = len < 7 ? len : 7;; k = k * 2 + 1 < len ? k * 2 + 1 : len) {
        int r = cmn_http1_parse_request(buf, k, last, &req, hdrs, maxh);
        if (r != -2) {
            if (k == len && r != whole)
                abort();
            /* a head that ends inside the prefix is judged the same way as the whole input */
            if (r > 0 && r != whole)
                abort();
            break;
        }
        if (k == len) {
            /* with last_len the parser only looks for the end of the head in new bytes,
             * so malformed input may read as incomplete until the head ends (documented) */
            if (whole != -2 && whole != -1 && whole != -3)
                abort();
            break;
        }
        last = k;
    }
    return 0;
}
