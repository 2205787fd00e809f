/*
 * aws_creds.c - temporary AWS credentials from the ECS container endpoint or
 * EC2 IMDSv2 (aws_creds_int.h), so the publisher on Fargate/EC2 and any other
 * S3 user can run on its IAM role instead of long-lived access keys.
 */
#include "common/compat.h"

#include <pthread.h>

#include "aws_creds_int.h"
#include "common/buf.h"
#include "common/cjson.h"
#include "common/crypto.h"
#include "common/http.h"

#define CREDS_DOC_MAX 16384
#define REFRESH_MARGIN 300 /* seconds before expiry */

void cmn_aws_creds_clear(struct cmn_aws_creds *c)
{
    if (!c)
        return;
    free(c->access_key);
    if (c->secret_key)
        cmn_wipe(c->secret_key, strlen(c->secret_key));
    free(c->secret_key);
    if (c->token)
        cmn_wipe(c->token, strlen(c->token));
    free(c->token);
    memset(c, 0, sizeof(*c));
}

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" -> unix seconds; -1 when malformed. */
static int64_t parse_iso8601(const char *s)
{
    int Y, M, D, h, m, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6 || n != 19)
        return -1;
    const char *rest = s + n;
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            ;
    if (strcmp(rest, "Z") != 0 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -1;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec};
    return (int64_t)timegm(&tm);
}

static int field_ok(const char *v)
{
    return v && *v && strlen(v) < 4096 && !strpbrk(v, ":\r\n");
}

enum cmn_err cmn_aws_creds_parse(const char *p, size_t n, struct cmn_aws_creds *out, struct cmn_errbuf *eb)
{
    json_t *doc = NULL;
    enum cmn_err rc = cmn_cjson_parse(p, n, CREDS_DOC_MAX, &doc, eb);
    if (rc)
        return rc;
    const char *ak = json_string_value(json_object_get(doc, "AccessKeyId"));
    const char *sk = json_string_value(json_object_get(doc, "SecretAccessKey"));
    const char *tk = json_string_value(json_object_get(doc, "Token"));
    const char *ex = json_string_value(json_object_get(doc, "Expiration"));
    struct cmn_aws_creds c = {0};
    if (!json_is_object(doc) || !field_ok(ak) || !sk || !*sk || strpbrk(sk, "\r\n") || (tk && strpbrk(tk, "\r\n"))) {
        rc = cmn_errf(eb, CMN_E_PARSE, "credentials answer lacks a valid AccessKeyId / SecretAccessKey");
        goto out;
    }
    c.expires = INT64_MAX;
    if (ex && (c.expires = parse_iso8601(ex)) < 0) {
        rc = cmn_errf(eb, CMN_E_PARSE, "credentials answer has a malformed Expiration '%.40s'", ex);
        goto out;
    }
    c.access_key = strdup(ak);
    c.secret_key = strdup(sk);
    c.token = tk && *tk ? strdup(tk) : NULL;
    if (!c.access_key || !c.secret_key || (tk && *tk && !c.token)) {
        rc = CMN_E_NOMEM;
        goto out;
    }
    *out = c;
    memset(&c, 0, sizeof(c));
out:
    cmn_aws_creds_clear(&c);
    json_decref(doc);
    return rc;
}

/* http:// only to hosts that cannot be on the network path (what the AWS SDKs allow for FULL_URI). */
static int full_uri_allowed(const char *u)
{
    if (strncmp(u, "https://", 8) == 0)
        return 1;
    static const char *const hosts[] = {"127.0.0.1", "localhost", "169.254.170.2", "169.254.170.23", "[::1]"};
    if (strncmp(u, "http://", 7) != 0)
        return 0;
    const char *h = u + 7;
    for (size_t i = 0; i < CMN_ARRAY_SIZE(hosts); i++) {
        size_t l = strlen(hosts[i]);
        if (strncmp(h, hosts[i], l) == 0 && (h[l] == ':' || h[l] == '/' || h[l] == '\0'))
            return 1;
    }
    return 0;
}

/* One small GET/PUT to a metadata endpoint; body into `out`. */
static enum cmn_err meta_call(struct cmn_http *h, const char *method, const char *url, const char *hdr1,
                              struct cmn_buf *out, struct cmn_errbuf *eb)
{
    struct cmn_http_req rq = {.method = method,
                              .url = url,
                              .body_out = out,
                              .timeout_ms = 3000,
                              .connect_timeout_ms = 1000,
                              .max_retries = 1,
                              .retry_base_ms = 100};
    struct cmn_http_resp resp;
    enum cmn_err rc = hdr1 ? cmn_http_req_header(&rq, hdr1) : CMN_OK;
    if (rc)
        return rc;
    if (strcmp(method, "PUT") == 0) {
        rq.body = "";
        rq.body_len = 0;
    }
    rc = cmn_http_perform(h, &rq, &resp, eb);
    long st = resp.status;
    cmn_http_resp_release(&resp);
    if (rc)
        return cmn_errf(eb, CMN_E_NOTFOUND, "credentials endpoint '%s' unreachable", url);
    if (st == 401 || st == 403)
        return cmn_errf(eb, CMN_E_DENIED, "credentials endpoint '%s' refused the request (HTTP %ld)", url, st);
    if (st != 200)
        return cmn_errf(eb, CMN_E_HTTP, "credentials endpoint '%s' answered HTTP %ld", url, st);
    return CMN_OK;
}

static enum cmn_err from_container(struct cmn_http *h, struct cmn_aws_creds *out, struct cmn_errbuf *eb)
{
    const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    struct cmn_buf url, body, auth;
    cmn_buf_init(&url, 2048);
    cmn_buf_init(&body, CREDS_DOC_MAX);
    cmn_buf_init(&auth, 4200);
    enum cmn_err rc;
    if (rel && *rel) {
        rc = cmn_buf_addf(&url, "http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/", rel);
    } else if (!full || !full_uri_allowed(full)) {
        rc = cmn_errf(eb, CMN_E_INVAL, "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https:// or a loopback http:// URL");
    } else {
        rc = cmn_buf_addstr(&url, full);
    }
    if (rc)
        goto out;
    const char *tok = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    const char *tokfile = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (tokfile && *tokfile) {
        FILE *f = fopen(tokfile, "r");
        char t[4096];
        size_t n = f ? fread(t, 1, sizeof(t) - 1, f) : 0;
        if (f)
            fclose(f);
        if (!f || n == 0) {
            rc = cmn_errf(eb, CMN_E_IO, "cannot read '%s'", tokfile);
            goto out;
        }
        t[n] = '\0';
        t[strcspn(t, "\r\n")] = '\0';
        rc = cmn_buf_addf(&auth, "Authorization: %s", t);
        cmn_wipe(t, sizeof(t));
    } else if (tok && *tok) {
        rc = strpbrk(tok, "\r\n") ? CMN_E_INVAL : cmn_buf_addf(&auth, "Authorization: %s", tok);
    }
    if (!rc)
        rc = meta_call(h, "GET", url.ptr, auth.len ? auth.ptr : NULL, &body, eb);
    if (!rc)
        rc = cmn_aws_creds_parse(body.ptr ? body.ptr : "", body.len, out, eb);
out:
    if (auth.ptr)
        cmn_wipe(auth.ptr, auth.len);
    if (body.ptr)
        cmn_wipe(body.ptr, body.len);
    cmn_buf_release(&auth);
    cmn_buf_release(&body);
    cmn_buf_release(&url);
    return rc;
}

static enum cmn_err from_imds(struct cmn_http *h, struct cmn_aws_creds *out, struct cmn_errbuf *eb)
{
    const char *base = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (!base || !*base)
        base = "http://169.254.169.254";
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    struct cmn_buf url, token, role, body, hdr;
    cmn_buf_init(&url, 2048);
    cmn_buf_init(&token, 1024);
    cmn_buf_init(&role, 1024);
    cmn_buf_init(&body, CREDS_DOC_MAX);
    cmn_buf_init(&hdr, 1200);
    enum cmn_err rc = cmn_buf_addf(&url, "%.*s/latest/api/token", (int)bl, base);
    if (!rc)
        rc = meta_call(h, "PUT", url.ptr, "X-aws-ec2-metadata-token-ttl-seconds: 21600", &token, eb);
    if (!rc && (!token.len || strpbrk(token.ptr, "\r\n")))
        rc = cmn_errf(eb, CMN_E_PARSE, "instance metadata gave no session token");
    if (!rc)
        rc = cmn_buf_addf(&hdr, "X-aws-ec2-metadata-token: %s", token.ptr);
    cmn_buf_reset(&url);
    if (!rc)
        rc = cmn_buf_addf(&url, "%.*s/latest/meta-data/iam/security-credentials/", (int)bl, base);
    if (!rc)
        rc = meta_call(h, "GET", url.ptr, hdr.ptr, &role, eb);
    if (!rc) {
        role.ptr[strcspn(role.ptr, "\r\n")] = '\0';
        if (!role.ptr[0] || strpbrk(role.ptr, "/?# "))
            rc = cmn_errf(eb, CMN_E_NOTFOUND, "this instance has no IAM role");
    }
    if (!rc) {
        rc = cmn_buf_addstr(&url, role.ptr);
        if (!rc)
            rc = meta_call(h, "GET", url.ptr, hdr.ptr, &body, eb);
    }
    if (!rc)
        rc = cmn_aws_creds_parse(body.ptr ? body.ptr : "", body.len, out, eb);
    if (body.ptr)
        cmn_wipe(body.ptr, body.len);
    if (hdr.ptr)
        cmn_wipe(hdr.ptr, hdr.len);
    if (token.ptr)
        cmn_wipe(token.ptr, token.len);
    cmn_buf_release(&url);
    cmn_buf_release(&token);
    cmn_buf_release(&role);
    cmn_buf_release(&body);
    cmn_buf_release(&hdr);
    return rc;
}

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cmn_aws_creds cache;

static enum cmn_err copy_creds(const struct cmn_aws_creds *from, struct cmn_aws_creds *to)
{
    struct cmn_aws_creds c = {0};
    c.expires = from->expires;
    c.access_key = strdup(from->access_key);
    c.secret_key = strdup(from->secret_key);
    c.token = from->token ? strdup(from->token) : NULL;
    if (!c.access_key || !c.secret_key || (from->token && !c.token)) {
        cmn_aws_creds_clear(&c);
        return CMN_E_NOMEM;
    }
    *to = c;
    return CMN_OK;
}

enum cmn_err cmn_aws_creds_get(int64_t now, struct cmn_aws_creds *out, struct cmn_errbuf *eb)
{
    const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *off = getenv("AWS_EC2_METADATA_DISABLED");
    int container = (rel && *rel) || (full && *full);
    if (!container && off && strcasecmp(off, "true") == 0)
        return cmn_errf(eb, CMN_E_NOTFOUND, "no credentials provider configured");

    pthread_mutex_lock(&cache_mu);
    enum cmn_err rc;
    if (cache.access_key && cache.expires - REFRESH_MARGIN > now) {
        rc = copy_creds(&cache, out);
        goto out;
    }
    struct cmn_http *h = NULL;
    rc = cmn_http_new(&h, eb);
    if (rc)
        goto out;
    struct cmn_aws_creds fresh = {0};
    rc = container ? from_container(h, &fresh, eb) : from_imds(h, &fresh, eb);
    cmn_http_free(h);
    if (rc)
        goto out;
    cmn_aws_creds_clear(&cache);
    cache = fresh;
    rc = copy_creds(&cache, out);
out:
    pthread_mutex_unlock(&cache_mu);
    return rc;
}
