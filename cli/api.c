/*
 * api.c - publisher mode: the CLI's HTTP client for hotpatch-publisher
 * (docs/interfaces.md "Publisher HTTP API"), on common/http.c.
 *
 * JSON in and out, `Authorization: Bearer <token>`, answers capped at
 * CLI_API_MAX_RESPONSE. The release upload is multipart/form-data with the
 * zip streamed from its file as a multipart part (never held in memory)
 * and a progress bar on a TTY. HTTP statuses map to the CLI's exit codes and
 * the server's {"error":{"code","message"}} becomes the one-line error.
 */
#include "common/compat.h"

#include <unistd.h>

#include "cli.h"
#include "common/http.h"
#include "common/log.h"
#include "common/str.h"

static int on_progress(void *ctx, uint64_t dl_now, uint64_t dl_total, uint64_t ul_now, uint64_t ul_total)
{
    (void)dl_now;
    (void)dl_total;
    if (ul_total > 0)
        cli_progress_cb(ctx, ul_now, ul_total);
    return 0;
}

int cli_api_escape(const char *s, char *out, size_t cap)
{
    return cmn_url_encode_to(out, cap, s, 0) < 0 ? -1 : 0;
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

/* The request every call shares: URL from the endpoint, bearer token, JSON accepted, answer into `body`. */
struct call {
    struct cmn_http_req rq;
    char url[4096];
    char auth[4200];
};

static void call_init(struct call *k, const struct cli_api *api, const char *method, const char *path,
                      struct cmn_buf *body)
{
    const char *ep = api->endpoint;
    size_t n = strlen(ep);
    memset(k, 0, sizeof(*k));
    while (n && ep[n - 1] == '/')
        n--;
    snprintf(k->url, sizeof(k->url), "%.*s%s", (int)n, ep, path);
    k->rq.method = method;
    k->rq.url = k->url;
    k->rq.user_agent = "hotpatch-cli/1";
    k->rq.body_out = body;
    k->rq.timeout_ms = 60000;
    k->rq.connect_timeout_ms = 10000;
    if (api->token) {
        snprintf(k->auth, sizeof(k->auth), "Authorization: Bearer %s", api->token);
        (void)!cmn_http_req_header(&k->rq, k->auth);
    }
    (void)!cmn_http_req_header(&k->rq, "Accept: application/json");
}

static void call_release(struct call *k)
{
    cmn_wipe(k->auth, sizeof(k->auth));
}

/* Perform and translate transport errors; returns an exit code; fills rs (release it) on success. */
static int perform(struct call *k, const struct cli_api *api, struct cmn_http_resp *rs)
{
    struct cmn_http *h = NULL;
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc = cmn_http_new(&h, &eb);
    if (rc) {
        memset(rs, 0, sizeof(*rs));
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libcurl");
    }
    rc = cmn_http_perform(h, &k->rq, rs, &eb);
    cmn_http_free(h);
    if (rc == CMN_E_TOOBIG)
        return cli_fail(CLI_EXIT_FAIL, "publisher answer larger than %u bytes", CLI_API_MAX_RESPONSE);
    if (rc == CMN_E_IO)
        return cli_fail(CLI_EXIT_FAIL, "%s", cmn_errmsg(&eb, rc));
    if (rc)
        return cli_fail(CLI_EXIT_NET, "cannot reach the publisher at '%s': %s", api->endpoint, cmn_errmsg(&eb, rc));
    return 0;
}

/* The answer's body: the 2xx body, or the error body the client kept apart. */
static const struct cmn_buf *answer_body(const struct cmn_http_resp *rs, const struct cmn_buf *ok_body)
{
    return rs->status >= 200 && rs->status < 300 ? ok_body : &rs->err_body;
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
    struct call k;
    struct cmn_http_resp rs;
    struct cmn_buf b;
    char msg[600], what[300];
    char *payload = NULL;
    int ex, attempt;
    cmn_buf_init(&b, CLI_API_MAX_RESPONSE);
    call_init(&k, api, method, path, &b);
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        if (!payload) {
            ex = cli_fail(CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
        (void)!cmn_http_req_header(&k.rq, "Content-Type: application/json");
        k.rq.body = payload;
        k.rq.body_len = strlen(payload);
    } else if (strcmp(method, "GET") != 0) {
        /* An empty body (Content-Length: 0) and no Content-Type. */
        k.rq.body = "";
        k.rq.body_len = 0;
    }
    for (attempt = 0;; attempt++) {
        ex = perform(&k, api, &rs);
        if (ex)
            goto out;
        /* Reads are safe to repeat: wait out a rate limit or a brief outage. */
        if (strcmp(method, "GET") == 0 && (rs.status == 429 || rs.status == 503) && attempt < 3) {
            long wait_s = rs.retry_after_s > 0 ? rs.retry_after_s : 1;
            if (wait_s > 10)
                wait_s = 10;
            cmn_debug("publisher answered %ld to GET %s: retrying in %ld s", rs.status, path, wait_s);
            cmn_http_resp_release(&rs);
            sleep((unsigned)wait_s);
            cmn_buf_reset(&b);
            continue;
        }
        break;
    }
    const struct cmn_buf *ab = answer_body(&rs, &b);
    ex = cli_api_status(rs.status, ab->ptr, ab->len, msg, sizeof(msg));
    cmn_http_resp_release(&rs);
    if (ex) {
        snprintf(what, sizeof(what), "%s %s", method, path);
        ex = hint_fail(ex, what, msg);
        goto out;
    }
    ex = parse_answer(&b, resp);
out:
    free(payload);
    call_release(&k);
    cmn_buf_release(&b);
    return ex;
}

int cli_api_get_raw(const struct cli_api *api, const char *path, struct cmn_buf *out)
{
    struct call k;
    struct cmn_http_resp rs;
    char msg[600], what[300];
    call_init(&k, api, "GET", path, out);
    int ex = perform(&k, api, &rs);
    if (!ex) {
        const struct cmn_buf *ab = answer_body(&rs, out);
        ex = cli_api_status(rs.status, ab->ptr, ab->len, msg, sizeof(msg));
        cmn_http_resp_release(&rs);
        if (ex) {
            snprintf(what, sizeof(what), "GET %s", path);
            ex = hint_fail(ex, what, msg);
        }
    }
    call_release(&k);
    return ex;
}

int cli_api_upload(const struct cli_api *api, json_t *metadata, const char *zip_path, json_t **resp)
{
    return cli_api_upload_to(api, "/v1/releases", "the release", metadata, zip_path, resp);
}

int cli_api_upload_to(const struct cli_api *api, const char *path, const char *what, json_t *metadata,
                      const char *zip_path, json_t **resp)
{
    struct cli_progress prog;
    struct call k;
    struct cmn_http_resp rs;
    struct cmn_buf b;
    char msg[600];
    char *meta = NULL;
    int ex;
    cmn_buf_init(&b, CLI_API_MAX_RESPONSE);
    call_init(&k, api, "POST", path, &b);
    meta = json_dumps(metadata, JSON_COMPACT);
    if (!meta) {
        ex = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    if (access(zip_path, R_OK) != 0) {
        ex = cli_fail(CLI_EXIT_FAIL, "cannot read '%s'", zip_path);
        goto out;
    }
    /* The zip is streamed from its file (never held in memory). */
    k.rq.parts[0] =
        (struct cmn_http_part){.name = "metadata", .data = meta, .len = strlen(meta), .type = "application/json"};
    k.rq.parts[1] =
        (struct cmn_http_part){.name = "bundle", .path = zip_path, .filename = "bundle.zip", .type = "application/zip"};
    k.rq.nparts = 2;
    cli_progress_init(&prog, "uploading");
    if (prog.active) {
        k.rq.progress = on_progress;
        k.rq.progress_ctx = &prog;
    }
    /* Large uploads on slow links: no total timeout, but give up on a stalled transfer. */
    k.rq.timeout_ms = -1;
    k.rq.low_speed_bytes = 1;
    k.rq.low_speed_secs = 60;
    ex = perform(&k, api, &rs);
    cli_progress_done(&prog);
    if (ex)
        goto out;
    const struct cmn_buf *ab = answer_body(&rs, &b);
    ex = cli_api_status(rs.status, ab->ptr, ab->len, msg, sizeof(msg));
    cmn_http_resp_release(&rs);
    if (ex) {
        ex = hint_fail(ex, what, msg);
        goto out;
    }
    ex = parse_answer(&b, resp);
out:
    free(meta);
    call_release(&k);
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

int cli_api_find_release_eid(const struct cli_api *api, const char *app, const char *platform, const char *channel,
                             const char *id, const char *version, json_t **out, char *eid, size_t cap)
{
    json_t *rel = NULL;
    int ex = cli_api_find_release(api, app, platform, channel, id, version, &rel);
    if (ex)
        return ex;
    if (!json_is_string(json_object_get(rel, "id")) ||
        cli_api_escape(json_string_value(json_object_get(rel, "id")), eid, cap)) {
        json_decref(rel);
        return cli_fail(CLI_EXIT_FAIL, "publisher release has no usable 'id'");
    }
    *out = rel;
    return 0;
}
