/*
 * api.c - publisher mode: the CLI's HTTP client for hotpatch-publisher
 * (docs/interfaces.md "Publisher HTTP API"), on libcurl.
 *
 * JSON in and out, `Authorization: Bearer <token>`, answers capped at
 * CLI_API_MAX_RESPONSE. The release upload is multipart/form-data with the
 * zip streamed from its file by libcurl's mime API (never held in memory)
 * and a progress bar on a TTY. HTTP statuses map to the CLI's exit codes and
 * the server's {"error":{"code","message"}} becomes the one-line error.
 */
#include "common/compat.h"

#include <curl/curl.h>
#include <unistd.h>

#include "cli.h"
#include "common/log.h"

struct sink {
    struct cmn_buf *b;
    int overflow;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
    struct sink *s = ctx;
    if (cmn_buf_add(s->b, p, sz * n)) {
        s->overflow = 1;
        return 0;
    }
    return sz * n;
}

static int on_xfer(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    if (ultotal > 0)
        cli_progress_cb(ctx, (uint64_t)ulnow, (uint64_t)ultotal);
    return 0;
}

int cli_api_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == '~';
        if (j + (plain ? 1 : 3) + 1 > cap)
            return -1;
        if (plain) {
            out[j++] = (char)c;
        } else {
            out[j++] = '%';
            out[j++] = hex[c >> 4];
            out[j++] = hex[c & 15];
        }
    }
    out[j] = '\0';
    return 0;
}

/* Copy at most `max` bytes of untrusted text as one printable line. */
static void one_line(char *out, size_t cap, const char *s, size_t max)
{
    size_t i, j = 0;
    for (i = 0; s[i] && i < max && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[j++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[j] = '\0';
}

int cli_api_status(long status, const char *body, size_t len, char *msg, size_t cap)
{
    json_t *root = NULL, *err, *m, *c;
    json_error_t jerr;
    const char *code = NULL, *text = NULL;
    int ex;
    msg[0] = '\0';
    if (status >= 200 && status < 300)
        return CLI_EXIT_OK;
    if (body && len && len <= CLI_API_MAX_RESPONSE)
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root && json_is_object(root) && (err = json_object_get(root, "error")) != NULL) {
        if (json_is_object(err)) {
            m = json_object_get(err, "message");
            c = json_object_get(err, "code");
            if (json_is_string(m))
                text = json_string_value(m);
            if (json_is_string(c))
                code = json_string_value(c);
        } else if (json_is_string(err)) {
            text = json_string_value(err);
        }
    }
    if (status == 401 || status == 403)
        ex = CLI_EXIT_AUTH;
    else if (status == 404)
        ex = CLI_EXIT_NOTFOUND;
    else if (status == 409 || status == 412)
        ex = CLI_EXIT_CONFLICT;
    else if (status == 429 || status >= 500 || status < 100)
        ex = CLI_EXIT_NET;
    else if (code && (strstr(code, "signature") || strstr(code, "unknown_key") || strstr(code, "unregistered") ||
                      strstr(code, "hash")))
        ex = CLI_EXIT_VERIFY;
    else
        ex = CLI_EXIT_FAIL;
    if (text) {
        one_line(msg, cap, text, 400);
        if (code) {
            char cs[64];
            size_t n = strlen(msg);
            one_line(cs, sizeof(cs), code, 60);
            snprintf(msg + n, cap - n, " (%s, HTTP %ld)", cs, status);
        } else {
            size_t n = strlen(msg);
            snprintf(msg + n, cap - n, " (HTTP %ld)", status);
        }
    } else {
        snprintf(msg, cap, "HTTP %ld", status);
    }
    json_decref(root);
    return ex;
}

static int hint_fail(int ex, const char *what, const char *msg)
{
    const char *hint = "";
    if (ex == CLI_EXIT_AUTH)
        hint = ": check the token ('hotpatch login' or HOTPATCH_TOKEN) and its role";
    return cli_fail(ex, "publisher refused %s: %s%s", what, msg, hint);
}

static CURL *setup(const struct cli_api *api, const char *path, struct curl_slist **hdrs, struct sink *sink,
                   char *errbuf)
{
    char url[4096], auth[4200];
    const char *ep = api->endpoint;
    size_t n = strlen(ep);
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    while (n && ep[n - 1] == '/')
        n--;
    snprintf(url, sizeof(url), "%.*s%s", (int)n, ep, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hotpatch-cli/1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (api->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", api->token);
        *hdrs = curl_slist_append(*hdrs, auth);
        cmn_wipe(auth, sizeof(auth));
    }
    *hdrs = curl_slist_append(*hdrs, "Accept: application/json");
    return c;
}

/* Perform and translate transport errors; returns exit code, *status on success. */
static int perform(CURL *c, const struct cli_api *api, const char *errbuf, struct sink *sink, long *status)
{
    CURLcode cc = curl_easy_perform(c);
    if (sink->overflow)
        return cli_fail(CLI_EXIT_FAIL, "publisher answer larger than %u bytes", CLI_API_MAX_RESPONSE);
    if (cc != CURLE_OK)
        return cli_fail(CLI_EXIT_NET, "cannot reach the publisher at '%s': %s", api->endpoint,
                        errbuf[0] ? errbuf : curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

static int parse_answer(struct cmn_buf *b, json_t **resp)
{
    json_error_t jerr;
    json_t *v;
    if (!resp)
        return 0;
    *resp = NULL;
    if (!b->len)
        return 0;
    v = json_loadb(b->ptr, b->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v)
        return cli_fail(CLI_EXIT_FAIL, "publisher sent malformed JSON: %s (line %d)", jerr.text, jerr.line);
    *resp = v;
    return 0;
}

int cli_api_call(const struct cli_api *api, const char *method, const char *path, json_t *body, json_t **resp)
{
    struct curl_slist *hdrs = NULL;
    struct cmn_buf b;
    struct sink sink;
    char errbuf[CURL_ERROR_SIZE] = "", msg[600], what[300];
    char *payload = NULL;
    long status = 0;
    int ex, attempt;
    CURL *c;
    cmn_buf_init(&b, CLI_API_MAX_RESPONSE);
    sink.b = &b;
    sink.overflow = 0;
    c = setup(api, path, &hdrs, &sink, errbuf);
    if (!c)
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libcurl");
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        if (!payload) {
            ex = cli_fail(CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    } else if (strcmp(method, "GET") != 0) {
        /* An empty body: no form Content-Type that curl would add by itself. */
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        hdrs = curl_slist_append(hdrs, "Content-Type:");
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    for (attempt = 0;; attempt++) {
        ex = perform(c, api, errbuf, &sink, &status);
        if (ex)
            goto out;
        /* Reads are safe to repeat: wait out a rate limit or a brief outage. */
        if (strcmp(method, "GET") == 0 && (status == 429 || status == 503) && attempt < 3) {
            curl_off_t wait_s = 0;
            if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &wait_s) != CURLE_OK || wait_s <= 0)
                wait_s = 1;
            if (wait_s > 10)
                wait_s = 10;
            cmn_debug("publisher answered %ld to GET %s: retrying in %lld s", status, path, (long long)wait_s);
            sleep((unsigned)wait_s);
            cmn_buf_reset(&b);
            continue;
        }
        break;
    }
    ex = cli_api_status(status, b.ptr, b.len, msg, sizeof(msg));
    if (ex) {
        snprintf(what, sizeof(what), "%s %s", method, path);
        ex = hint_fail(ex, what, msg);
        goto out;
    }
    ex = parse_answer(&b, resp);
out:
    free(payload);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    cmn_buf_release(&b);
    return ex;
}

int cli_api_get_raw(const struct cli_api *api, const char *path, struct cmn_buf *out)
{
    struct curl_slist *hdrs = NULL;
    struct sink sink;
    char errbuf[CURL_ERROR_SIZE] = "", msg[600], what[300];
    long status = 0;
    int ex;
    CURL *c;
    sink.b = out;
    sink.overflow = 0;
    c = setup(api, path, &hdrs, &sink, errbuf);
    if (!c)
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libcurl");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    ex = perform(c, api, errbuf, &sink, &status);
    if (!ex) {
        ex = cli_api_status(status, out->ptr, out->len, msg, sizeof(msg));
        if (ex) {
            snprintf(what, sizeof(what), "GET %s", path);
            ex = hint_fail(ex, what, msg);
        }
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return ex;
}

int cli_api_upload(const struct cli_api *api, json_t *metadata, const char *zip_path, json_t **resp)
{
    struct curl_slist *hdrs = NULL;
    struct cli_progress prog;
    struct cmn_buf b;
    struct sink sink;
    char errbuf[CURL_ERROR_SIZE] = "", msg[600];
    char *meta = NULL;
    curl_mime *mime = NULL;
    curl_mimepart *part;
    long status = 0;
    int ex;
    CURL *c;
    cmn_buf_init(&b, CLI_API_MAX_RESPONSE);
    sink.b = &b;
    sink.overflow = 0;
    c = setup(api, "/v1/releases", &hdrs, &sink, errbuf);
    if (!c)
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libcurl");
    meta = json_dumps(metadata, JSON_COMPACT);
    mime = curl_mime_init(c);
    if (!meta || !mime) {
        ex = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    part = curl_mime_addpart(mime);
    curl_mime_name(part, "metadata");
    curl_mime_data(part, meta, CURL_ZERO_TERMINATED);
    curl_mime_type(part, "application/json");
    part = curl_mime_addpart(mime);
    curl_mime_name(part, "bundle");
    if (curl_mime_filedata(part, zip_path) != CURLE_OK) {
        ex = cli_fail(CLI_EXIT_FAIL, "cannot read '%s'", zip_path);
        goto out;
    }
    curl_mime_filename(part, "bundle.zip");
    curl_mime_type(part, "application/zip");
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    /* No "Expect: 100-continue" round trip. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    cli_progress_init(&prog, "uploading");
    if (prog.active) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xfer);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &prog);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    /* Large uploads on slow links: no total timeout, but give up on a stalled transfer. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    ex = perform(c, api, errbuf, &sink, &status);
    cli_progress_done(&prog);
    if (ex)
        goto out;
    ex = cli_api_status(status, b.ptr, b.len, msg, sizeof(msg));
    if (ex) {
        ex = hint_fail(ex, "the release", msg);
        goto out;
    }
    ex = parse_answer(&b, resp);
out:
    free(meta);
    curl_mime_free(mime);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    cmn_buf_release(&b);
    return ex;
}

/* Newest by created_at when numeric, else the list's order (first = newest). */
static int newer(json_t *a, json_t *b)
{
    json_t *ca = json_object_get(a, "created_at"), *cb = json_object_get(b, "created_at");
    if (json_is_integer(ca) && json_is_integer(cb))
        return json_integer_value(ca) > json_integer_value(cb);
    if (json_is_string(ca) && json_is_string(cb))
        return strcmp(json_string_value(ca), json_string_value(cb)) > 0; /* ISO 8601 sorts as text */
    return 0;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int cli_api_find_release(const struct cli_api *api, const char *app, const char *platform, const char *channel,
                         const char *id, const char *version, json_t **out)
{
    char path[2048], ea[200], ep[200], ec[200], cursor[400] = "";
    json_t *best = NULL;
    int page, ex;
    if (id) {
        json_t *resp = NULL, *r;
        if (cli_api_escape(id, ea, sizeof(ea)))
            return cli_fail(CLI_EXIT_USAGE, "bad release id '%s'", id);
        snprintf(path, sizeof(path), "/v1/releases/%s", ea);
        ex = cli_api_call(api, "GET", path, NULL, &resp);
        if (ex)
            return ex;
        r = json_object_get(resp, "release");
        if (!json_is_object(r)) {
            json_decref(resp);
            return cli_fail(CLI_EXIT_FAIL, "publisher answer has no 'release' object");
        }
        *out = json_incref(r);
        json_decref(resp);
        return 0;
    }
    if (cli_api_escape(app, ea, sizeof(ea)) || cli_api_escape(platform, ep, sizeof(ep)) ||
        cli_api_escape(channel, ec, sizeof(ec)))
        return cli_fail(CLI_EXIT_USAGE, "bad app/platform/channel");
    for (page = 0; page < 100; page++) {
        json_t *resp = NULL, *list, *r, *nc;
        size_t i;
        snprintf(path, sizeof(path), "/v1/releases?app=%s&platform=%s&channel=%s&limit=100%s%s", ea, ep, ec,
                 cursor[0] ? "&cursor=" : "", cursor);
        ex = cli_api_call(api, "GET", path, NULL, &resp);
        if (ex) {
            json_decref(best);
            return ex;
        }
        list = json_object_get(resp, "releases");
        if (!json_is_array(list)) {
            json_decref(resp);
            json_decref(best);
            return cli_fail(CLI_EXIT_FAIL, "publisher answer has no 'releases' list");
        }
        json_array_foreach(list, i, r)
        {
            const char *v = jstr(r, "version"), *st = jstr(r, "state");
            if (!json_is_object(r))
                continue;
            if (version ? (v && strcmp(v, version) == 0) : (st && strcmp(st, "active") == 0)) {
                if (!best || newer(r, best)) {
                    json_decref(best);
                    best = json_incref(r);
                }
            }
        }
        nc = json_object_get(resp, "next_cursor");
        if (!json_is_string(nc) || !*json_string_value(nc) ||
            cli_api_escape(json_string_value(nc), cursor, sizeof(cursor))) {
            json_decref(resp);
            break;
        }
        json_decref(resp);
    }
    if (!best) {
        if (version)
            return cli_fail(CLI_EXIT_NOTFOUND, "no release with version '%s' on %s/%s channel '%s'", version, app,
                            platform, channel);
        return cli_fail(CLI_EXIT_NOTFOUND, "no active release on %s/%s channel '%s': pass --release ID or --version V",
                        app, platform, channel);
    }
    *out = best;
    return 0;
}
