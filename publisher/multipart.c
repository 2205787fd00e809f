/*
 * multipart.c - streaming multipart/form-data parser (see pub_multipart.h).
 *
 * The delimiter is CRLF "--" boundary; the stream is treated as if it began
 * with a CRLF so that a body starting directly with "--boundary" matches. The
 * boundary alphabet (RFC 2046 section 5.1.1) has no CR, so CR occurs only at
 * the start of the delimiter: when a partial match fails, the bytes matched so
 * far can be released as body data and matching restarts at the current byte,
 * without backtracking. Body runs without a CR are passed on with one memchr.
 */
#include "common/compat.h"

#include "pub_multipart.h"

static int bchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || strchr("'()+_,-./:=? ", c);
}

enum cmn_err pub_mp_boundary(const char *ct, char out[PUB_MP_MAX_BOUNDARY + 1], struct cmn_errbuf *eb)
{
    static const char want[] = "multipart/form-data";
    if (!ct)
        return cmn_errf(eb, CMN_E_UNSUPPORTED, "missing Content-Type (want multipart/form-data)");
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, want, sizeof(want) - 1) != 0 ||
        (ct[sizeof(want) - 1] && ct[sizeof(want) - 1] != ';' && ct[sizeof(want) - 1] != ' '))
        return cmn_errf(eb, CMN_E_UNSUPPORTED, "Content-Type is not multipart/form-data");
    const char *p = ct + sizeof(want) - 1;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *name = p;
        while (*p && *p != '=' && *p != ';')
            p++;
        size_t nl = (size_t)(p - name);
        while (nl && (name[nl - 1] == ' ' || name[nl - 1] == '\t'))
            nl--;
        if (*p != '=') {
            if (nl)
                continue; /* a bare token: ignore */
            break;
        }
        p++;
        char val[PUB_MP_MAX_BOUNDARY + 2];
        size_t vl = 0;
        int toolong = 0;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                if (vl < sizeof(val) - 1)
                    val[vl++] = *p;
                else
                    toolong = 1;
                p++;
            }
            if (*p != '"')
                return cmn_errf(eb, CMN_E_PARSE, "unterminated quoted parameter in Content-Type");
            p++;
        } else {
            while (*p && *p != ';' && *p != ' ' && *p != '\t') {
                if (vl < sizeof(val) - 1)
                    val[vl++] = *p;
                else
                    toolong = 1;
                p++;
            }
        }
        val[vl] = '\0';
        if (nl == 8 && strncasecmp(name, "boundary", 8) == 0) {
            if (toolong || vl > PUB_MP_MAX_BOUNDARY)
                return cmn_errf(eb, CMN_E_PARSE, "multipart boundary longer than %d characters", PUB_MP_MAX_BOUNDARY);
            if (vl == 0 || val[vl - 1] == ' ')
                return cmn_errf(eb, CMN_E_PARSE, "empty or badly terminated multipart boundary");
            for (size_t i = 0; i < vl; i++)
                if (!bchar((unsigned char)val[i]))
                    return cmn_errf(eb, CMN_E_PARSE, "invalid character in multipart boundary");
            memcpy(out, val, vl + 1);
            return CMN_OK;
        }
    }
    return cmn_errf(eb, CMN_E_PARSE, "multipart/form-data without a boundary parameter");
}

void pub_mp_init(struct pub_mp *mp, const char *boundary, const struct pub_mp_cb *cb)
{
    memset(mp, 0, sizeof(*mp));
    size_t bl = strlen(boundary);
    if (bl > PUB_MP_MAX_BOUNDARY)
        bl = PUB_MP_MAX_BOUNDARY;
    memcpy(mp->delim, "\r\n--", 4);
    memcpy(mp->delim + 4, boundary, bl);
    mp->dlen = 4 + bl;
    mp->delim[mp->dlen] = '\0';
    mp->matched = 2; /* the virtual CRLF before the first boundary */
    mp->state = PUB_MP_PREAMBLE;
    mp->cb = *cb;
}

static enum cmn_err fail(struct pub_mp *mp, struct cmn_errbuf *eb, enum cmn_err code, const char *msg)
{
    mp->state = PUB_MP_ERROR;
    return cmn_errf(eb, code, "%s", msg);
}

/* Copy a parameter value (quoted or token) from a header value. */
static int header_param(const char *v, const char *param, char *out, size_t cap)
{
    size_t pl = strlen(param);
    const char *p = v;
    while ((p = strchr(p, ';')) != NULL) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, param, pl) != 0 || p[pl] != '=')
            continue;
        p += pl + 1;
        size_t n = 0;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                if (n + 1 >= cap)
                    return -1;
                out[n++] = *p++;
            }
            if (*p != '"')
                return -1;
        } else {
            while (*p && *p != ';' && *p != ' ' && *p != '\t') {
                if (n + 1 >= cap)
                    return -1;
                out[n++] = *p++;
            }
        }
        out[n] = '\0';
        return 1;
    }
    return 0;
}

/* Parse the header block in mp->hdr (NUL-terminated, CRLF lines) into mp->part. */
static enum cmn_err parse_headers(struct pub_mp *mp, struct cmn_errbuf *eb)
{
    memset(&mp->part, 0, sizeof(mp->part));
    int have_cd = 0;
    char *line = mp->hdr;
    while (*line) {
        char *eol = strstr(line, "\r\n");
        if (!eol)
            return fail(mp, eb, CMN_E_PARSE, "multipart part header line without CRLF");
        *eol = '\0';
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            return fail(mp, eb, CMN_E_PARSE, "malformed multipart part header line");
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        for (char *c = line; *c; c++)
            if (*c == ' ' || *c == '\t' || (unsigned char)*c < 33 || (unsigned char)*c > 126)
                return fail(mp, eb, CMN_E_PARSE, "malformed multipart part header name");
        if (!strcasecmp(line, "Content-Disposition")) {
            if (have_cd)
                return fail(mp, eb, CMN_E_PARSE, "duplicate Content-Disposition in a multipart part");
            have_cd = 1;
            if (strncasecmp(v, "form-data", 9) != 0 || (v[9] && v[9] != ';' && v[9] != ' '))
                return fail(mp, eb, CMN_E_PARSE, "multipart part is not form-data");
            int r = header_param(v, "name", mp->part.name, sizeof(mp->part.name));
            if (r <= 0 || !mp->part.name[0])
                return fail(mp, eb, CMN_E_PARSE, "multipart part without a valid name");
            if (header_param(v, "filename", mp->part.filename, sizeof(mp->part.filename)) < 0)
                return fail(mp, eb, CMN_E_PARSE, "multipart part with a bad filename parameter");
        } else if (!strcasecmp(line, "Content-Type")) {
            size_t vl = strlen(v);
            if (vl >= sizeof(mp->part.content_type))
                return fail(mp, eb, CMN_E_PARSE, "multipart part Content-Type too long");
            memcpy(mp->part.content_type, v, vl + 1);
        }
        line = eol + 2;
    }
    if (!have_cd)
        return fail(mp, eb, CMN_E_PARSE, "multipart part without Content-Disposition");
    return CMN_OK;
}

static enum cmn_err emit(struct pub_mp *mp, const void *p, size_t n, struct cmn_errbuf *eb)
{
    if (n == 0)
        return CMN_OK;
    if (mp->state == PUB_MP_PREAMBLE) {
        mp->preamble += n;
        if (mp->preamble > PUB_MP_MAX_PREAMBLE)
            return fail(mp, eb, CMN_E_PARSE, "multipart body does not start with the boundary");
        return CMN_OK;
    }
    if (mp->cb.data && mp->cb.data(mp->cb.ctx, p, n)) {
        mp->state = PUB_MP_ERROR;
        return CMN_E_CANCELLED;
    }
    return CMN_OK;
}

enum cmn_err pub_mp_feed(struct pub_mp *mp, const void *data, size_t n, struct cmn_errbuf *eb)
{
    const unsigned char *p = data;
    size_t i = 0;
    enum cmn_err rc;
    while (i < n) {
        switch (mp->state) {
        case PUB_MP_ERROR:
            return cmn_errf(eb, CMN_E_PARSE, "multipart parser already failed");
        case PUB_MP_DONE:
            return CMN_OK; /* epilogue */
        case PUB_MP_PREAMBLE:
        case PUB_MP_BODY: {
            if (mp->matched == 0) {
                /* fast path: release everything up to the next CR */
                const unsigned char *cr = memchr(p + i, '\r', n - i);
                size_t run = cr ? (size_t)(cr - (p + i)) : n - i;
                rc = emit(mp, p + i, run, eb);
                if (rc)
                    return rc;
                i += run;
                if (i == n)
                    break;
            }
            unsigned char c = p[i];
            if ((unsigned char)mp->delim[mp->matched] == c) {
                mp->matched++;
                i++;
                if (mp->matched == mp->dlen) {
                    mp->matched = 0;
                    if (mp->state == PUB_MP_BODY && mp->in_part) {
                        mp->in_part = 0;
                        if (mp->cb.end && mp->cb.end(mp->cb.ctx)) {
                            mp->state = PUB_MP_ERROR;
                            return CMN_E_CANCELLED;
                        }
                    }
                    mp->state = PUB_MP_AFTER_DELIM;
                }
            } else {
                /* The matched prefix is data; the delimiter's only CR is at 0. */
                size_t m = mp->matched;
                mp->matched = 0;
                rc = emit(mp, mp->delim, m, eb);
                if (rc)
                    return rc;
                if (c != '\r') {
                    rc = emit(mp, &c, 1, eb);
                    if (rc)
                        return rc;
                    i++;
                }
                /* else: the CR is re-examined as a delimiter start on the next turn */
            }
            break;
        }
        case PUB_MP_AFTER_DELIM:
            if (p[i] == '-') {
                mp->state = PUB_MP_AFTER_DASH;
                i++;
            } else {
                mp->state = PUB_MP_PAD;
            }
            break;
        case PUB_MP_AFTER_DASH:
            if (p[i] != '-')
                return fail(mp, eb, CMN_E_PARSE, "malformed multipart delimiter");
            i++;
            if (mp->nparts == 0)
                return fail(mp, eb, CMN_E_PARSE, "multipart body has no parts");
            mp->state = PUB_MP_DONE;
            break;
        case PUB_MP_PAD:
            /* transport padding (LWSP), then CRLF; the CR is kept in hdr */
            if (p[i] == ' ' || p[i] == '\t') {
                if (++mp->hlen > 64)
                    return fail(mp, eb, CMN_E_PARSE, "malformed multipart delimiter line");
                i++;
            } else if (p[i] == '\r' && mp->hdr[0] != '\r') {
                mp->hdr[0] = '\r';
                i++;
            } else if (p[i] == '\n' && mp->hdr[0] == '\r') {
                i++;
                if (mp->nparts >= PUB_MP_MAX_PARTS)
                    return fail(mp, eb, CMN_E_TOOBIG, "too many multipart parts");
                mp->hlen = 0;
                mp->hdr[0] = '\0';
                mp->state = PUB_MP_HEADERS;
            } else {
                return fail(mp, eb, CMN_E_PARSE, "malformed multipart delimiter line");
            }
            break;
        case PUB_MP_HEADERS: {
            if (mp->hlen + 1 >= sizeof(mp->hdr))
                return fail(mp, eb, CMN_E_TOOBIG, "multipart part headers too large");
            unsigned char c = p[i++];
            if (c == '\0')
                return fail(mp, eb, CMN_E_PARSE, "NUL byte in multipart part headers");
            mp->hdr[mp->hlen++] = (char)c;
            mp->hdr[mp->hlen] = '\0';
            if (mp->hlen == 2 && mp->hdr[0] == '\r' && mp->hdr[1] == '\n')
                return fail(mp, eb, CMN_E_PARSE, "multipart part without headers");
            if (mp->hlen >= 4 && !memcmp(mp->hdr + mp->hlen - 4, "\r\n\r\n", 4)) {
                mp->hdr[mp->hlen - 2] = '\0'; /* keep the last line's CRLF */
                rc = parse_headers(mp, eb);
                if (rc)
                    return rc;
                mp->nparts++;
                mp->in_part = 1;
                mp->state = PUB_MP_BODY;
                mp->matched = 0;
                mp->hlen = 0;
                mp->hdr[0] = '\0';
                if (mp->cb.begin && mp->cb.begin(mp->cb.ctx, &mp->part)) {
                    mp->state = PUB_MP_ERROR;
                    return CMN_E_CANCELLED;
                }
            }
            break;
        }
        }
    }
    return CMN_OK;
}

enum cmn_err pub_mp_finish(struct pub_mp *mp, struct cmn_errbuf *eb)
{
    if (mp->state == PUB_MP_DONE)
        return CMN_OK;
    if (mp->state == PUB_MP_ERROR)
        return cmn_errf(eb, CMN_E_PARSE, "malformed multipart body");
    if (mp->state == PUB_MP_PREAMBLE)
        return fail(mp, eb, CMN_E_PARSE, "multipart body without a boundary");
    return fail(mp, eb, CMN_E_PARSE, "multipart body ends before the closing boundary");
}
