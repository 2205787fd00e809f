/*
 * s3xml.c - a pull walker over the small XML subset S3 replies use, and the
 * four reply readers built on it. The walker keeps a fixed stack of element
 * names (slices into the input) and one fixed text buffer, so memory use is
 * bounded whatever the input; only list entries (counted, capped) and their
 * keys are allocated. Every read is checked against the end pointer, so the
 * input needs no terminator. Events reach a handler as START(name),
 * END(name, direct text of the element); names are compared without any
 * namespace prefix.
 */
#include "common/compat.h"

#include "common/s3xml.h"

enum ev { EV_START, EV_END };

struct slice {
    const char *s;
    size_t n;
};

struct walker;
typedef enum cmn_err (*handler_fn)(struct walker *w, enum ev ev, void *ctx);

struct walker {
    const char *start, *p, *end;
    int depth;                               /* number of open elements */
    struct slice stack[CMN_S3XML_MAX_DEPTH]; /* local names of open elements */
    char text[CMN_S3XML_MAX_TEXT + 1];       /* direct text of the innermost element */
    size_t tlen;
    int root_done;
    struct cmn_errbuf *eb;
};

static int name_is(const struct slice *s, const char *name)
{
    size_t k = strlen(name);
    return s->n == k && memcmp(s->s, name, k) == 0;
}

/* Is the open element at 1-based depth d named `name`? */
static int at(const struct walker *w, int d, const char *name)
{
    return d >= 1 && d <= w->depth && name_is(&w->stack[d - 1], name);
}

static int is_name_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
}

static int is_name_char(unsigned char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static enum cmn_err bad(struct walker *w, const char *what)
{
    return cmn_errf(w->eb, CMN_E_PARSE, "malformed s3 xml: %s at offset %zu", what, (size_t)(w->p - w->start));
}

/* Find `pat` from w->p; returns pointer to its start or NULL. */
static const char *find(const char *p, const char *end, const char *pat)
{
    size_t k = strlen(pat);
    while ((size_t)(end - p) >= k) {
        if (memcmp(p, pat, k) == 0)
            return p;
        p++;
    }
    return NULL;
}

static int starts(const struct walker *w, const char *pat)
{
    size_t k = strlen(pat);
    return (size_t)(w->end - w->p) >= k && memcmp(w->p, pat, k) == 0;
}

static enum cmn_err text_add(struct walker *w, const char *s, size_t n)
{
    if (w->tlen + n > CMN_S3XML_MAX_TEXT)
        return cmn_errf(w->eb, CMN_E_TOOBIG, "s3 xml text node longer than %d bytes", CMN_S3XML_MAX_TEXT);
    memcpy(w->text + w->tlen, s, n);
    w->tlen += n;
    w->text[w->tlen] = '\0';
    return CMN_OK;
}

static enum cmn_err text_add_cp(struct walker *w, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return bad(w, "invalid character reference");
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return text_add(w, u, n);
}

/* Decode an entity at w->p ('&'), appending to the text when `keep`. */
static enum cmn_err entity(struct walker *w, int keep)
{
    const char *semi = memchr(w->p, ';', (size_t)(w->end - w->p) < 12 ? (size_t)(w->end - w->p) : 12);
    if (!semi)
        return bad(w, "unterminated entity");
    const char *e = w->p + 1;
    size_t n = (size_t)(semi - e);
    enum cmn_err rc = CMN_OK;
    char ch = 0;
    if (n == 2 && memcmp(e, "lt", 2) == 0)
        ch = '<';
    else if (n == 2 && memcmp(e, "gt", 2) == 0)
        ch = '>';
    else if (n == 3 && memcmp(e, "amp", 3) == 0)
        ch = '&';
    else if (n == 4 && memcmp(e, "quot", 4) == 0)
        ch = '"';
    else if (n == 4 && memcmp(e, "apos", 4) == 0)
        ch = '\'';
    else if (n >= 2 && e[0] == '#') {
        uint32_t cp = 0;
        size_t i = 1;
        int hex = 0;
        if (e[1] == 'x') {
            hex = 1;
            i = 2;
        }
        if (i >= n)
            return bad(w, "empty character reference");
        for (; i < n; i++) {
            unsigned c = (unsigned char)e[i];
            unsigned d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (hex && c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else if (hex && c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            else
                return bad(w, "bad character reference");
            cp = cp * (hex ? 16 : 10) + d;
            if (cp > 0x10FFFF)
                return bad(w, "character reference out of range");
        }
        w->p = semi + 1;
        return keep ? text_add_cp(w, cp) : (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) ? bad(w, "bad reference") : 0);
    } else {
        return bad(w, "unknown entity");
    }
    w->p = semi + 1;
    if (keep)
        rc = text_add(w, &ch, 1);
    return rc;
}

static struct slice local_name(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    struct slice r = {s, n};
    if (colon) {
        r.s = colon + 1;
        r.n = n - (size_t)(colon + 1 - s);
    }
    return r;
}

static enum cmn_err read_name(struct walker *w, struct slice *out)
{
    const char *s = w->p;
    if (w->p >= w->end || !is_name_start((unsigned char)*w->p))
        return bad(w, "bad element name");
    while (w->p < w->end && is_name_char((unsigned char)*w->p))
        w->p++;
    if ((size_t)(w->p - s) > 256)
        return bad(w, "element name too long");
    *out = local_name(s, (size_t)(w->p - s));
    if (out->n == 0)
        return bad(w, "empty local name");
    return CMN_OK;
}

static void skip_space(struct walker *w)
{
    while (w->p < w->end && is_space(*w->p))
        w->p++;
}

/* Attributes are checked for form and otherwise ignored. */
static enum cmn_err skip_attributes(struct walker *w)
{
    enum cmn_err rc;
    struct slice nm;
    for (;;) {
        const char *before = w->p;
        skip_space(w);
        if (w->p >= w->end)
            return bad(w, "truncated tag");
        if (*w->p == '>' || *w->p == '/')
            return CMN_OK;
        if (w->p == before)
            return bad(w, "missing space before attribute");
        rc = read_name(w, &nm);
        if (rc)
            return rc;
        skip_space(w);
        if (w->p >= w->end || *w->p != '=')
            return bad(w, "attribute without value");
        w->p++;
        skip_space(w);
        if (w->p >= w->end || (*w->p != '"' && *w->p != '\''))
            return bad(w, "unquoted attribute");
        char q = *w->p++;
        while (w->p < w->end && *w->p != q) {
            if (*w->p == '<')
                return bad(w, "'<' in attribute");
            if (*w->p == '&') {
                rc = entity(w, 0);
                if (rc)
                    return rc;
                continue;
            }
            w->p++;
        }
        if (w->p >= w->end)
            return bad(w, "truncated attribute");
        w->p++;
    }
}

static enum cmn_err walk(const char *xml, size_t n, handler_fn fn, void *ctx, struct cmn_errbuf *eb)
{
    struct walker *w = calloc(1, sizeof(*w));
    enum cmn_err rc = CMN_OK;
    if (!w)
        return CMN_E_NOMEM;
    w->start = w->p = xml;
    w->end = xml + n;
    w->eb = eb;
    /* A UTF-8 byte order mark may precede the declaration. */
    if (n >= 3 && memcmp(xml, "\xEF\xBB\xBF", 3) == 0)
        w->p += 3;
    while (w->p < w->end) {
        if (*w->p != '<') {
            if (*w->p == '&') {
                if (w->depth == 0) {
                    rc = bad(w, "text outside the root element");
                    goto out;
                }
                rc = entity(w, 1);
                if (rc)
                    goto out;
                continue;
            }
            const char *s = w->p;
            while (w->p < w->end && *w->p != '<' && *w->p != '&') {
                if (*w->p == '\0') {
                    rc = bad(w, "NUL byte");
                    goto out;
                }
                if (w->depth == 0 && !is_space(*w->p)) {
                    rc = bad(w, "text outside the root element");
                    goto out;
                }
                w->p++;
            }
            if (w->depth > 0) {
                rc = text_add(w, s, (size_t)(w->p - s));
                if (rc)
                    goto out;
            }
            continue;
        }
        if (starts(w, "<?")) {
            const char *e = find(w->p + 2, w->end, "?>");
            if (!e) {
                rc = bad(w, "unterminated processing instruction");
                goto out;
            }
            w->p = e + 2;
        } else if (starts(w, "<!--")) {
            const char *e = find(w->p + 4, w->end, "-->");
            if (!e) {
                rc = bad(w, "unterminated comment");
                goto out;
            }
            w->p = e + 3;
        } else if (starts(w, "<![CDATA[")) {
            if (w->depth == 0) {
                rc = bad(w, "CDATA outside the root element");
                goto out;
            }
            const char *s = w->p + 9;
            const char *e = find(s, w->end, "]]>");
            if (!e) {
                rc = bad(w, "unterminated CDATA");
                goto out;
            }
            rc = text_add(w, s, (size_t)(e - s));
            if (rc)
                goto out;
            w->p = e + 3;
        } else if (starts(w, "<!")) {
            rc = bad(w, "DOCTYPE and declarations are not accepted");
            goto out;
        } else if (starts(w, "</")) {
            struct slice nm;
            w->p += 2;
            rc = read_name(w, &nm);
            if (rc)
                goto out;
            skip_space(w);
            if (w->p >= w->end || *w->p != '>') {
                rc = bad(w, "bad end tag");
                goto out;
            }
            w->p++;
            if (w->depth == 0 || w->stack[w->depth - 1].n != nm.n ||
                memcmp(w->stack[w->depth - 1].s, nm.s, nm.n) != 0) {
                rc = bad(w, "mismatched end tag");
                goto out;
            }
            rc = fn(w, EV_END, ctx);
            if (rc)
                goto out;
            w->depth--;
            w->tlen = 0;
            w->text[0] = '\0';
            if (w->depth == 0)
                w->root_done = 1;
        } else {
            struct slice nm;
            w->p++;
            rc = read_name(w, &nm);
            if (rc)
                goto out;
            rc = skip_attributes(w);
            if (rc)
                goto out;
            int empty = 0;
            if (*w->p == '/') {
                if (w->p + 1 >= w->end || w->p[1] != '>') {
                    rc = bad(w, "bad empty-element tag");
                    goto out;
                }
                empty = 1;
                w->p += 2;
            } else {
                w->p++; /* '>' */
            }
            if (w->depth == 0 && w->root_done) {
                rc = bad(w, "second root element");
                goto out;
            }
            if (w->depth >= CMN_S3XML_MAX_DEPTH) {
                rc = cmn_errf(eb, CMN_E_TOOBIG, "s3 xml nested deeper than %d", CMN_S3XML_MAX_DEPTH);
                goto out;
            }
            w->stack[w->depth++] = nm;
            w->tlen = 0;
            w->text[0] = '\0';
            rc = fn(w, EV_START, ctx);
            if (rc)
                goto out;
            if (empty) {
                rc = fn(w, EV_END, ctx);
                if (rc)
                    goto out;
                w->depth--;
                if (w->depth == 0)
                    w->root_done = 1;
            }
        }
    }
    if (w->depth != 0 || !w->root_done)
        rc = bad(w, "truncated document");
out:
    free(w);
    return rc;
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Strip surrounding quotes (S3 ETags are quoted in XML too). */
static enum cmn_err copy_etag(struct walker *w, char *dst)
{
    const char *v = w->text;
    size_t n = w->tlen;
    while (n && is_space(*v)) {
        v++;
        n--;
    }
    while (n && is_space(v[n - 1]))
        n--;
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    if (n >= CMN_S3XML_ETAG_MAX)
        return cmn_errf(w->eb, CMN_E_TOOBIG, "s3 etag longer than %d bytes", CMN_S3XML_ETAG_MAX - 1);
    memcpy(dst, v, n);
    dst[n] = '\0';
    return CMN_OK;
}

/* ---- ListBucketResult ---- */

struct list_ctx {
    struct cmn_s3_list l;
    size_t alloc;
    struct cmn_s3_entry cur;
    int in_contents;
    int have_size;
};

static enum cmn_err list_handler(struct walker *w, enum ev ev, void *vctx)
{
    struct list_ctx *c = vctx;
    if (w->depth == 1 && ev == EV_START && !at(w, 1, "ListBucketResult"))
        return cmn_errf(w->eb, CMN_E_PARSE, "s3 xml: expected ListBucketResult");
    if (w->depth == 2 && at(w, 2, "Contents")) {
        if (ev == EV_START) {
            memset(&c->cur, 0, sizeof(c->cur));
            c->in_contents = 1;
            c->have_size = 0;
            return CMN_OK;
        }
        c->in_contents = 0;
        if (!c->cur.key)
            return cmn_errf(w->eb, CMN_E_PARSE, "s3 xml: Contents without Key");
        if (c->l.n >= CMN_S3XML_MAX_ENTRIES) {
            CMN_SAFEFREE(c->cur.key);
            return cmn_errf(w->eb, CMN_E_TOOBIG, "s3 list page with more than %d entries", CMN_S3XML_MAX_ENTRIES);
        }
        if (c->l.n == c->alloc) {
            size_t na = c->alloc ? c->alloc * 2 : 64;
            struct cmn_s3_entry *ni = realloc(c->l.items, na * sizeof(*ni));
            if (!ni) {
                CMN_SAFEFREE(c->cur.key);
                return CMN_E_NOMEM;
            }
            c->l.items = ni;
            c->alloc = na;
        }
        c->l.items[c->l.n++] = c->cur;
        memset(&c->cur, 0, sizeof(c->cur));
        return CMN_OK;
    }
    if (ev != EV_END)
        return CMN_OK;
    if (w->depth == 3 && c->in_contents) {
        if (at(w, 3, "Key")) {
            if (c->cur.key)
                return cmn_errf(w->eb, CMN_E_PARSE, "s3 xml: duplicate Key");
            if (w->tlen == 0 || memchr(w->text, '\0', w->tlen))
                return cmn_errf(w->eb, CMN_E_PARSE, "s3 xml: empty or invalid Key");
            c->cur.key = strdup(w->text);
            return c->cur.key ? CMN_OK : CMN_E_NOMEM;
        }
        if (at(w, 3, "ETag"))
            return copy_etag(w, c->cur.etag);
        if (at(w, 3, "Size")) {
            uint64_t v = 0;
            if (w->tlen == 0 || w->tlen > 20)
                return cmn_errf(w->eb, CMN_E_PARSE, "s3 xml: bad Size");
            for (size_t i = 0; i < w->tlen; i++) {
                char d = w->text[i];
                if (d < '0' || d > '9' || v > (UINT64_MAX - 9) / 10)
                    return cmn_errf(w->eb, CMN_E_PARSE, "s3 xml: bad Size");
                v = v * 10 + (uint64_t)(d - '0');
            }
            c->cur.size = v;
            c->have_size = 1;
        }
        return CMN_OK;
    }
    if (w->depth == 2 && at(w, 2, "IsTruncated")) {
        if (strcmp(w->text, "true") == 0)
            c->l.truncated = 1;
        else if (strcmp(w->text, "false") == 0)
            c->l.truncated = 0;
        else
            return cmn_errf(w->eb, CMN_E_PARSE, "s3 xml: bad IsTruncated");
        return CMN_OK;
    }
    if (w->depth == 2 && at(w, 2, "NextContinuationToken")) {
        free(c->l.next_token);
        c->l.next_token = strdup(w->text);
        return c->l.next_token ? CMN_OK : CMN_E_NOMEM;
    }
    return CMN_OK;
}

void cmn_s3_list_release(struct cmn_s3_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].key);
    free(l->items);
    free(l->next_token);
    memset(l, 0, sizeof(*l));
}

enum cmn_err cmn_s3xml_parse_list(const char *xml, size_t n, struct cmn_s3_list *out, struct cmn_errbuf *eb)
{
    struct list_ctx c;
    memset(&c, 0, sizeof(c));
    enum cmn_err rc = walk(xml, n, list_handler, &c, eb);
    if (!rc && c.l.truncated && (!c.l.next_token || !c.l.next_token[0]))
        rc = cmn_errf(eb, CMN_E_PARSE, "s3 xml: truncated listing without NextContinuationToken");
    if (rc) {
        free(c.cur.key);
        cmn_s3_list_release(&c.l);
        return rc;
    }
    *out = c.l;
    return CMN_OK;
}

/* ---- Error ---- */

struct error_ctx {
    struct cmn_s3_error e;
    int is_error;
};

static enum cmn_err error_handler(struct walker *w, enum ev ev, void *vctx)
{
    struct error_ctx *c = vctx;
    if (w->depth == 1 && ev == EV_START)
        c->is_error = at(w, 1, "Error");
    if (ev != EV_END || w->depth != 2 || !c->is_error)
        return CMN_OK;
    if (at(w, 2, "Code"))
        copy_text(c->e.code, sizeof(c->e.code), w->text);
    else if (at(w, 2, "Message"))
        copy_text(c->e.message, sizeof(c->e.message), w->text);
    return CMN_OK;
}

enum cmn_err cmn_s3xml_parse_error(const char *xml, size_t n, struct cmn_s3_error *out)
{
    struct error_ctx c;
    memset(&c, 0, sizeof(c));
    enum cmn_err rc = walk(xml, n, error_handler, &c, NULL);
    if (rc)
        return rc;
    if (!c.is_error || !c.e.code[0])
        return CMN_E_PARSE;
    *out = c.e;
    return CMN_OK;
}

/* ---- InitiateMultipartUploadResult ---- */

struct upload_ctx {
    char id[CMN_S3XML_MAX_TEXT + 1];
    int found;
};

static enum cmn_err upload_handler(struct walker *w, enum ev ev, void *vctx)
{
    struct upload_ctx *c = vctx;
    if (w->depth == 1 && ev == EV_START && !at(w, 1, "InitiateMultipartUploadResult"))
        return cmn_errf(w->eb, CMN_E_PARSE, "s3 xml: expected InitiateMultipartUploadResult");
    if (ev == EV_END && w->depth == 2 && at(w, 2, "UploadId")) {
        memcpy(c->id, w->text, w->tlen + 1);
        c->found = 1;
    }
    return CMN_OK;
}

enum cmn_err cmn_s3xml_parse_upload_id(const char *xml, size_t n, char *out, size_t cap, struct cmn_errbuf *eb)
{
    struct upload_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return CMN_E_NOMEM;
    enum cmn_err rc = walk(xml, n, upload_handler, c, eb);
    if (!rc && (!c->found || !c->id[0]))
        rc = cmn_errf(eb, CMN_E_PARSE, "s3 xml: no UploadId");
    if (!rc && strlen(c->id) >= cap)
        rc = cmn_errf(eb, CMN_E_TOOBIG, "s3 UploadId too long");
    if (!rc)
        memcpy(out, c->id, strlen(c->id) + 1);
    free(c);
    return rc;
}

/* ---- CompleteMultipartUploadResult ---- */

struct complete_ctx {
    char etag[CMN_S3XML_ETAG_MAX];
    int found;
    int is_error;
    struct cmn_s3_error e;
};

static enum cmn_err complete_handler(struct walker *w, enum ev ev, void *vctx)
{
    struct complete_ctx *c = vctx;
    if (w->depth == 1 && ev == EV_START) {
        if (at(w, 1, "Error"))
            c->is_error = 1;
        else if (!at(w, 1, "CompleteMultipartUploadResult"))
            return cmn_errf(w->eb, CMN_E_PARSE, "s3 xml: expected CompleteMultipartUploadResult");
    }
    if (ev != EV_END || w->depth != 2)
        return CMN_OK;
    if (c->is_error) {
        if (at(w, 2, "Code"))
            copy_text(c->e.code, sizeof(c->e.code), w->text);
        else if (at(w, 2, "Message"))
            copy_text(c->e.message, sizeof(c->e.message), w->text);
        return CMN_OK;
    }
    if (at(w, 2, "ETag")) {
        c->found = 1;
        return copy_etag(w, c->etag);
    }
    return CMN_OK;
}

enum cmn_err cmn_s3xml_parse_complete(const char *xml, size_t n, char etag[CMN_S3XML_ETAG_MAX], struct cmn_errbuf *eb)
{
    struct complete_ctx c;
    memset(&c, 0, sizeof(c));
    enum cmn_err rc = walk(xml, n, complete_handler, &c, eb);
    if (rc)
        return rc;
    if (c.is_error)
        return cmn_errf(eb, CMN_E_HTTP, "s3: %s: %s", c.e.code[0] ? c.e.code : "unknown error", c.e.message);
    if (!c.found)
        return cmn_errf(eb, CMN_E_PARSE, "s3 xml: no ETag in CompleteMultipartUploadResult");
    memcpy(etag, c.etag, sizeof(c.etag));
    return CMN_OK;
}
