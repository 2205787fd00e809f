/*
 * dashboard_test.c - what the dashboard relies on in the publisher, over real
 * HTTP against a real Postgres and file:// storage:
 *   - the static files at / and /ui/<file>, and the security headers (CSP
 *     without inline script, frame-ancestors 'none', nosniff, no referrer) on
 *     pages and API replies alike;
 *   - sign-in into a session cookie (HttpOnly, SameSite=Strict, Secure behind
 *     TLS), only the token's SHA-256 stored, expiry, sign-out;
 *   - CSRF: a cookie-authenticated state change without the session's token,
 *     with a wrong one, from another Origin or with no origin evidence is
 *     refused before anything happens; a read-only user's session is refused
 *     by the same role checks as a bearer token;
 *   - the read endpoints (release time series, version distribution, adoption,
 *     device lookup, API key list) with exact distinct-device counts in hour
 *     buckets, idempotent under a retried batch, and their bad-input errors.
 */
#include "../../lib/test.h"
#include "pub_itest.h"

static struct it_pub P;
static struct it_world W;

struct hresp {
    long status;
    struct cmn_buf body;
    char cookie[512]; /* Set-Cookie */
    char csp[512];
    char nosniff[64];
    char referrer[64];
    char ctype[128];
    json_t *json;
};

static void copy_header(const char *p, size_t len, const char *name, char *dst, size_t cap)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
        return;
    const char *v = p + nl + 1;
    while (*v == ' ')
        v++;
    size_t vl = strcspn(v, "\r\n");
    snprintf(dst, cap, "%.*s", (int)vl, v);
}

static size_t hdr_cb(char *p, size_t sz, size_t n, void *ud)
{
    struct hresp *r = ud;
    size_t len = sz * n;
    copy_header(p, len, "Set-Cookie", r->cookie, sizeof(r->cookie));
    copy_header(p, len, "Content-Security-Policy", r->csp, sizeof(r->csp));
    copy_header(p, len, "X-Content-Type-Options", r->nosniff, sizeof(r->nosniff));
    copy_header(p, len, "Referrer-Policy", r->referrer, sizeof(r->referrer));
    copy_header(p, len, "Content-Type", r->ctype, sizeof(r->ctype));
    return len;
}

static size_t body_cb(char *p, size_t sz, size_t n, void *ud)
{
    struct hresp *r = ud;
    return cmn_buf_add(&r->body, p, sz * n) ? 0 : sz * n;
}

static void hresp_free(struct hresp *r)
{
    cmn_buf_release(&r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* One request with any extra headers (NULL-terminated "Name: value" list). */
static long req(const char *method, const char *path, const char *body, const char *const *headers, struct hresp *r)
{
    memset(r, 0, sizeof(*r));
    cmn_buf_init(&r->body, 8u << 20);
    char url[512];
    snprintf(url, sizeof(url), "%s%s", P.base, path);
    CURL *h = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
    if (body)
        hl = curl_slist_append(hl, "Content-Type: application/json");
    for (const char *const *x = headers; x && *x; x++)
        hl = curl_slist_append(hl, *x);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, hdr_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    if (r->body.len)
        r->json = json_loadb(r->body.ptr, r->body.len, 0, NULL);
    return r->status;
}

static const char *err_code(const struct hresp *r)
{
    return it_jstr(r->json, "error.code") ? it_jstr(r->json, "error.code") : "";
}

struct sess {
    char cookie[128]; /* "Cookie: hp_session=..." */
    char token[80];
    char csrf[128]; /* "X-CSRF-Token: ..." */
    char origin[128];
};

static int sign_in(const char *email, const char *pw, struct sess *s)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    struct hresp r;
    req("POST", "/v1/session", body, NULL, &r);
    int okay = r.status == 201 && !strncmp(r.cookie, "hp_session=", 11) && it_jstr(r.json, "csrf_token");
    if (okay) {
        snprintf(s->token, sizeof(s->token), "%.*s", (int)strcspn(r.cookie + 11, ";"), r.cookie + 11);
        snprintf(s->cookie, sizeof(s->cookie), "Cookie: hp_session=%s", s->token);
        snprintf(s->csrf, sizeof(s->csrf), "X-CSRF-Token: %s", it_jstr(r.json, "csrf_token"));
        snprintf(s->origin, sizeof(s->origin), "Origin: %s", P.base);
    }
    hresp_free(&r);
    return okay ? 0 : -1;
}

/* POST /v1/installations with one event. */
static void report(char *buf, size_t cap, const char *dev, const char *rel, const char *status, long long ts)
{
    size_t used = strlen(buf);
    snprintf(buf + used, cap - used,
             "%s{\"event_id\":\"%s-%s-%s\",\"device_id\":\"%s\",\"app\":\"demo\",\"platform\":\"android\","
             "\"channel\":\"production\",\"release_id\":\"%s\",\"status\":\"%s\",\"binary_version\":\"1.0.0\","
             "\"ts\":%lld}",
             used > 11 ? "," : "", dev, rel, status, dev, rel, status, ts);
}

static json_t *point(json_t *o, size_t i)
{
    return json_array_get(json_object_get(o, "points"), i);
}

static long long pint(json_t *o, size_t i, const char *k)
{
    json_t *v = json_object_get(point(o, i), k);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* Devices on `version` in point i of a /versions answer (0 when absent). */
static long long on_version(json_t *o, size_t i, const char *version)
{
    json_t *vs = json_object_get(point(o, i), "versions"), *v;
    size_t k;
    json_array_foreach(vs, k, v)
    {
        if (it_jstr(v, "version") && !strcmp(it_jstr(v, "version"), version))
            return json_integer_value(json_object_get(v, "devices"));
    }
    return 0;
}

static json_t *adoption_of(json_t *o, const char *rid)
{
    json_t *rs = json_object_get(o, "releases"), *v;
    size_t k;
    json_array_foreach(rs, k, v)
    {
        if (it_jstr(v, "release_id") && !strcmp(it_jstr(v, "release_id"), rid))
            return v;
    }
    return NULL;
}

static void static_files(void)
{
    struct hresp r;
    is_int(req("GET", "/", NULL, NULL, &r), 200, "GET / serves the dashboard");
    ok(!strncmp(r.ctype, "text/html", 9), "as text/html (%s)", r.ctype);
    ok(r.body.ptr && strstr(r.body.ptr, "<script type=\"module\" src=\"/ui/app.js\"></script>"),
       "index.html loads its script from /ui/app.js");
    ok(strstr(r.csp, "default-src 'self'") && strstr(r.csp, "script-src 'self'") &&
           strstr(r.csp, "frame-ancestors 'none'") && !strstr(r.csp, "unsafe-inline") && !strstr(r.csp, "unsafe-eval"),
       "CSP: self only, no inline script, never framed (%s)", r.csp);
    is_str(r.nosniff, "nosniff", "X-Content-Type-Options: nosniff");
    is_str(r.referrer, "no-referrer", "Referrer-Policy: no-referrer");
    hresp_free(&r);
    is_int(req("GET", "/ui/app.js", NULL, NULL, &r), 200, "GET /ui/app.js");
    ok(!strncmp(r.ctype, "text/javascript", 15), "served as JavaScript (%s)", r.ctype);
    hresp_free(&r);
    is_int(req("GET", "/ui/style.css", NULL, NULL, &r), 200, "GET /ui/style.css");
    ok(!strncmp(r.ctype, "text/css", 8), "served as CSS");
    hresp_free(&r);
    is_int(req("GET", "/ui/nope.js", NULL, NULL, &r), 404, "an unknown file is a 404");
    hresp_free(&r);
    is_int(req("GET", "/ui/..%2fmain.c", NULL, NULL, &r), 404, "no path tricks: files are looked up by name only");
    hresp_free(&r);
    is_int(req("GET", "/v1/apps", NULL, NULL, &r), 401, "API replies carry the headers too");
    ok(strstr(r.csp, "frame-ancestors 'none'") && !strcmp(r.nosniff, "nosniff"), "(CSP and nosniff on a 401)");
    hresp_free(&r);
}

static void sessions(void)
{
    struct hresp r;
    is_int(req("POST", "/v1/session", "{\"email\":\"owner@example.com\",\"password\":\"wrong password\"}", NULL, &r),
           401, "sign-in with a wrong password -> 401");
    ok(!r.cookie[0], "and no cookie");
    hresp_free(&r);
    is_int(req("POST", "/v1/session", "{\"email\":\"nobody@example.com\",\"password\":\"whatever1\"}", NULL, &r), 401,
           "sign-in as an unknown user -> 401");
    hresp_free(&r);
    is_int(req("POST", "/v1/session", "{\"email\":\"owner@example.com\"}", NULL, &r), 400,
           "sign-in without a password -> 400");
    hresp_free(&r);
    const char *evil[] = {"Origin: http://evil.example", NULL};
    is_int(req("POST", "/v1/session", "{\"email\":\"owner@example.com\",\"password\":\"correct horse battery\"}", evil,
               &r),
           403, "sign-in posted from another origin -> 403 (login CSRF)");
    ok(!r.cookie[0], "and no cookie");
    hresp_free(&r);

    is_int(req("POST", "/v1/session", "{\"email\":\"owner@example.com\",\"password\":\"correct horse battery\"}", NULL,
               &r),
           201, "sign-in with email + password -> 201");
    ok(strstr(r.cookie, "HttpOnly") && strstr(r.cookie, "SameSite=Strict") && strstr(r.cookie, "Path=/") &&
           strstr(r.cookie, "Max-Age=28800") && !strstr(r.cookie, "Secure"),
       "cookie: HttpOnly, SameSite=Strict, Path=/, 8 h, not Secure over plain HTTP (%s)", r.cookie);
    ok(it_jstr(r.json, "csrf_token") && strlen(it_jstr(r.json, "csrf_token")) == 43, "the answer carries a CSRF token");
    ok(!strstr(r.body.ptr ? r.body.ptr : "", "hps_"), "the session token is only in the cookie, never in the body");
    hresp_free(&r);
    const char *tls[] = {"X-Forwarded-Proto: https", NULL};
    req("POST", "/v1/session", "{\"email\":\"owner@example.com\",\"password\":\"correct horse battery\"}", tls, &r);
    ok(r.status == 201 && strstr(r.cookie, "; Secure"), "behind TLS (X-Forwarded-Proto: https) the cookie is Secure");
    hresp_free(&r);

    struct sess s;
    if (!ok(!sign_in("owner@example.com", "correct horse battery", &s), "owner signs in"))
        return;
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM sessions WHERE token_hash = sha256('%s'::bytea)", s.token);
    is_int(it_sql_int(P.dburl, sql), 1, "the session is stored as the SHA-256 of its token");
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM sessions WHERE csrf_token = '%s' OR encode(token_hash, 'escape') = '%s'", s.token,
             s.token);
    is_int(it_sql_int(P.dburl, sql), 0, "the token itself is stored nowhere");

    const char *c_only[] = {s.cookie, NULL};
    is_int(req("GET", "/v1/apps", NULL, c_only, &r), 200, "the cookie authenticates reads");
    hresp_free(&r);
    is_int(req("GET", "/v1/session", NULL, c_only, &r), 200, "GET /v1/session");
    ok(it_jstr(r.json, "user.email") && !strcmp(it_jstr(r.json, "user.email"), "owner@example.com") &&
           it_jstr(r.json, "csrf_token") && !strcmp(it_jstr(r.json, "csrf_token"), s.csrf + 14),
       "names the user and returns the session's CSRF token (after a reload)");
    hresp_free(&r);

    /* state changes: CSRF token and Origin */
    const char *body = "{\"name\":\"other\"}";
    is_int(req("POST", "/v1/apps", body, (const char *[]){s.cookie, s.origin, NULL}, &r), 403,
           "a cookie POST without X-CSRF-Token -> 403");
    is_str(err_code(&r), "csrf", "(code csrf)");
    hresp_free(&r);
    is_int(req("POST", "/v1/apps", body,
               (const char *[]){s.cookie, s.origin, "X-CSRF-Token: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL},
               &r),
           403, "a wrong CSRF token of the right length -> 403");
    hresp_free(&r);
    is_int(req("POST", "/v1/apps", body, (const char *[]){s.cookie, s.csrf, "Origin: http://evil.example", NULL}, &r),
           403, "the right token from another Origin -> 403");
    is_str(err_code(&r), "cross_origin", "(code cross_origin)");
    hresp_free(&r);
    is_int(req("POST", "/v1/apps", body, (const char *[]){s.cookie, s.csrf, "Origin: null", NULL}, &r), 403,
           "Origin: null (a sandboxed frame) -> 403");
    hresp_free(&r);
    is_int(req("POST", "/v1/apps", body, (const char *[]){s.cookie, s.csrf, NULL}, &r), 403,
           "no Origin and no Sec-Fetch-Site -> 403");
    hresp_free(&r);
    is_int(req("POST", "/v1/apps", body, (const char *[]){s.cookie, s.csrf, "Sec-Fetch-Site: cross-site", NULL}, &r),
           403, "Sec-Fetch-Site: cross-site -> 403");
    hresp_free(&r);
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM apps WHERE name = 'other'"), 0, "none of those created the app");
    is_int(req("POST", "/v1/apps", body, (const char *[]){s.cookie, s.csrf, s.origin, NULL}, &r), 201,
           "cookie + CSRF token + own Origin -> the app is created");
    hresp_free(&r);
    is_int(req("DELETE", "/v1/api-keys/000000000000", NULL,
               (const char *[]){s.cookie, s.csrf, "Sec-Fetch-Site: same-origin", NULL}, &r),
           404, "Sec-Fetch-Site: same-origin stands in for a missing Origin (reaches the handler: 404)");
    hresp_free(&r);
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM audit_events WHERE action = 'app.create' AND actor LIKE 'user:%'"),
           1, "the audit log names the signed-in user");

    /* expiry and sign-out */
    struct sess s2;
    ok(!sign_in("owner@example.com", "correct horse battery", &s2), "a second session");
    snprintf(sql, sizeof(sql),
             "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = sha256('%s'::bytea)",
             s2.token);
    free(it_sql(P.dburl, sql));
    is_int(req("GET", "/v1/apps", NULL, (const char *[]){s2.cookie, NULL}, &r), 401, "an expired session -> 401");
    hresp_free(&r);
    is_int(req("DELETE", "/v1/session", NULL, (const char *[]){s.cookie, s.origin, NULL}, &r), 403,
           "sign-out needs the CSRF token too");
    hresp_free(&r);
    is_int(req("DELETE", "/v1/session", NULL, (const char *[]){s.cookie, s.csrf, s.origin, NULL}, &r), 200, "sign-out");
    ok(strstr(r.cookie, "hp_session=;") && strstr(r.cookie, "Max-Age=0"), "sign-out clears the cookie (%s)", r.cookie);
    hresp_free(&r);
    is_int(req("GET", "/v1/apps", NULL, (const char *[]){s.cookie, NULL}, &r), 401, "the signed-out session is dead");
    hresp_free(&r);
    is_int(req("GET", "/v1/apps", NULL, (const char *[]){"Cookie: hp_session=hps_short", NULL}, &r), 401,
           "a malformed cookie -> 401");
    hresp_free(&r);
    is_int(req("DELETE", "/v1/session", NULL, (const char *[]){"Authorization: Bearer x", NULL}, &r), 401,
           "DELETE /v1/session with a bad bearer -> 401");
    hresp_free(&r);
}

static void read_only(const char *rid)
{
    struct hresp r;
    is_int(it_call(&P, "POST", "/v1/users", W.owner,
                   "{\"email\":\"viewer@example.com\",\"password\":\"read only person\",\"role\":\"read\"}", NULL),
           201, "a read-only user is added");
    struct sess v;
    if (!ok(!sign_in("viewer@example.com", "read only person", &v), "the read-only user signs in"))
        return;
    is_int(req("GET", "/v1/apps/demo", NULL, (const char *[]){v.cookie, NULL}, &r), 200, "reads the app");
    is_str(it_jstr(r.json, "app.role") ? it_jstr(r.json, "app.role") : "", "read", "and is told its role: read");
    hresp_free(&r);
    char path[256];
    snprintf(path, sizeof(path), "/v1/releases/%s/halt", rid);
    is_int(req("POST", path, "{}", (const char *[]){v.cookie, v.csrf, v.origin, NULL}, &r), 403,
           "a forged halt with the read-only user's valid session and CSRF token -> 403");
    is_str(err_code(&r), "forbidden", "(the role check, not the CSRF check)");
    hresp_free(&r);
    is_int(req("GET", "/v1/apps/demo/api-keys", NULL, (const char *[]){v.cookie, NULL}, &r), 403,
           "the API key list needs admin");
    hresp_free(&r);
    snprintf(path, sizeof(path), "SELECT state FROM releases WHERE id = '%s'", rid);
    char *st = it_sql(P.dburl, path);
    is_str(st ? st : "", "active", "the release is still active");
    free(st);
}

static void insights(const char *ra, const char *rb)
{
    /* stay clear of an hour boundary: the buckets are computed here and in the server */
    while (time(NULL) % 3600 > 3570)
        sleep(5);
    long long h0 = (long long)time(NULL) / 3600 * 3600;
    char batch[8192] = "{\"events\":[";
    for (int i = 1; i <= 3; i++) {
        char dev[16];
        snprintf(dev, sizeof(dev), "d%d", i);
        report(batch, sizeof(batch), dev, ra, "applied", h0 - 3 * 3600 + 60);
        report(batch, sizeof(batch), dev, rb, "applied", h0 - 2 * 3600 + 60 + i);
    }
    report(batch, sizeof(batch), "d4", rb, "failed", h0 - 3600 + 60);
    report(batch, sizeof(batch), "d1", rb, "rolled_back", h0);
    size_t used = strlen(batch);
    snprintf(batch + used, sizeof(batch) - used, "]}");
    json_t *o = NULL;
    is_int(it_call(&P, "POST", "/v1/installations", NULL, batch, &o), 200, "telemetry batch accepted");
    json_decref(o);
    is_int(it_call(&P, "POST", "/v1/installations", NULL, batch, NULL), 200, "the same batch retried");
    is_int(it_call(&P, "POST", "/v1/devices", NULL,
                   "{\"devices\":[{\"device_id\":\"d1\",\"app\":\"demo\",\"platform\":\"android\","
                   "\"binary_version\":\"1.0.0\",\"os\":\"android 14\"}]}",
                   NULL),
           200, "device d1 reported");

    char path[256];
    snprintf(path, sizeof(path), "/v1/releases/%s/series?bucket=hour&buckets=3", rb);
    is_int(it_call(&P, "GET", path, W.owner, NULL, &o), 200, "GET series (hour, 3 buckets)");
    is_int((long long)json_array_size(json_object_get(o, "points")), 3, "three points");
    is_int(pint(o, 0, "t"), h0 - 2 * 3600, "buckets are UTC hours ending with the current one");
    ok(pint(o, 0, "applied") == 3 && pint(o, 0, "failed") == 0 && pint(o, 0, "active") == 3,
       "hour -2: 3 devices applied (not 6: the retry is not counted), 3 on the release");
    ok(pint(o, 1, "failed") == 1 && pint(o, 1, "applied") == 0 && pint(o, 1, "active") == 3,
       "hour -1: 1 device failed, still 3 on the release");
    ok(pint(o, 2, "rolled_back") == 1 && pint(o, 2, "active") == 2, "this hour: 1 rolled back, 2 left on the release");
    ok(it_jstr(o, "counts.statuses") && strstr(it_jstr(o, "counts.statuses"), "distinct devices"),
       "the answer says what it counts");
    json_decref(o);
    snprintf(path, sizeof(path), "/v1/releases/%s/series?bucket=day", rb);
    is_int(it_call(&P, "GET", path, W.owner, NULL, &o), 200, "series by day (default 30 buckets)");
    ok(json_array_size(json_object_get(o, "points")) == 30 && pint(o, 29, "active") == 2, "30 days, 2 on it today");
    json_decref(o);
    const char *bad[] = {"?bucket=week", "?buckets=0", "?bucket=hour&buckets=337", "?bucket=day&buckets=367",
                         "?buckets=3x",  "?buckets=-1"};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
        snprintf(path, sizeof(path), "/v1/releases/%s/series%s", rb, bad[i]);
        is_int(it_call(&P, "GET", path, W.owner, NULL, NULL), 400, "series%s -> 400", bad[i]);
    }
    is_int(it_call(&P, "GET", "/v1/releases/nope/series", W.owner, NULL, NULL), 404,
           "series of an unknown release -> 404");

    is_int(it_call(&P, "GET", "/v1/apps/demo/versions?platform=android&bucket=hour&buckets=3", W.owner, NULL, &o), 200,
           "GET versions");
    ok(on_version(o, 0, "1.0.1") == 3 && on_version(o, 0, "1.0.0") == 0, "hour -2: 3 devices run 1.0.1");
    ok(on_version(o, 2, "1.0.1") == 2 && on_version(o, 2, "1.0.0") == 1,
       "this hour: 2 on 1.0.1, the rolled-back device is back on 1.0.0");
    json_decref(o);
    is_int(it_call(&P, "GET", "/v1/apps/demo/versions?platform=ios", W.owner, NULL, &o), 200, "versions for ios");
    is_int((long long)json_array_size(json_object_get(o, "points")), 0, "no ios devices: no points");
    json_decref(o);
    is_int(it_call(&P, "GET", "/v1/apps/demo/versions?platform=../x", W.owner, NULL, NULL), 400, "bad platform -> 400");

    is_int(it_call(&P, "GET", "/v1/apps/demo/adoption", W.owner, NULL, &o), 200, "GET adoption");
    json_t *a = adoption_of(o, ra), *b = adoption_of(o, rb);
    ok(b && it_jint(b, "installs") == 3 && it_jint(b, "failures") == 1 && it_jint(b, "rollbacks") == 1 &&
           it_jint(b, "current_devices") == 2 && it_jint(b, "adoption_bp") == 6666,
       "1.0.1: 3 installs, 1 failure, 1 rollback, 2 devices on it = 66.66%% of 3");
    ok(a && it_jint(a, "current_devices") == 1 && it_jint(a, "adoption_bp") == 3333, "1.0.0: 1 device = 33.33%%");
    is_int(it_jint(o, "devices_by_platform.android"), 3, "3 android devices have a current release");
    json_decref(o);

    is_int(it_call(&P, "GET", "/v1/apps/demo/device?id=d1", W.owner, NULL, &o), 200, "device lookup d1");
    is_str(it_jstr(o, "current_release.version") ? it_jstr(o, "current_release.version") : "", "1.0.0",
           "d1's current release is 1.0.0 (it rolled 1.0.1 back)");
    json_t *hist = json_object_get(o, "history");
    ok(json_array_size(hist) == 3 && !strcmp(it_jstr(json_array_get(hist, 0), "status"), "rolled_back"),
       "its three reports, newest first");
    is_str(it_jstr(o, "device.os") ? it_jstr(o, "device.os") : "", "android 14", "with the device's own record");
    json_decref(o);
    is_int(it_call(&P, "GET", "/v1/apps/demo/device?id=d4", W.owner, NULL, &o), 200, "device lookup d4");
    ok(json_is_null(json_object_get(o, "current_release")) && json_is_null(json_object_get(o, "device")),
       "d4 only failed: no current release, no device record");
    json_decref(o);
    is_int(it_call(&P, "GET", "/v1/apps/demo/device?id=never-seen", W.owner, NULL, NULL), 404, "unknown device -> 404");
    is_int(it_call(&P, "GET", "/v1/apps/demo/device", W.owner, NULL, NULL), 400, "no id -> 400");
    is_int(it_call(&P, "GET", "/v1/apps/nope/device?id=d1", W.owner, NULL, NULL), 404, "unknown app -> 404");

    is_int(it_call(&P, "GET", "/v1/apps/demo/api-keys", W.owner, NULL, &o), 200, "GET api-keys (owner)");
    json_t *keys = json_object_get(o, "api_keys"), *k;
    size_t i;
    int org = 0, app = 0, secret = 0;
    json_array_foreach(keys, i, k)
    {
        const char *scope = it_jstr(k, "scope");
        org += scope && !strcmp(scope, "org");
        app += scope && !strcmp(scope, "app");
        secret += json_object_get(k, "api_key") != NULL || json_object_get(k, "key_hash") != NULL;
    }
    ok(org == 1 && app == 1 && secret == 0, "lists the org-wide bootstrap key and the app's key, no secrets");
    char *dump = json_dumps(o, 0);
    ok(dump && !strstr(dump, W.owner + 16), "the key's secret part appears nowhere");
    free(dump);
    json_decref(o);
    is_int(it_call(&P, "GET", "/v1/apps/demo/api-keys", W.app_key, NULL, NULL), 403, "a write key cannot list keys");
}

int main(void)
{
    if (!getenv("HP_TEST_PG_URL")) {
        test_skip(1, "HP_TEST_PG_URL not set (run through make test)");
        return done_testing();
    }
    if (cmn_crypto_init())
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (it_pub_setup(&P, "dash", 0) || it_pub_start(&P, NULL) || it_world_setup(&P, "demo", &W)) {
        ok(0, "publisher starts with an org, app and release key");
        it_pub_stop(&P);
        return done_testing();
    }
    ok(1, "publisher starts with an org, app and release key");
    static_files();
    sessions();
    struct it_bundle b1, b2;
    it_bundle_make(&b1, 3000, 1, &W.rkey);
    it_bundle_make(&b2, 3000, 2, &W.rkey);
    char *m1 = it_meta("demo", "android", "production", "1.0.0", &b1, &W.rkey, NULL);
    char *m2 = it_meta("demo", "android", "production", "1.0.1", &b2, &W.rkey, NULL);
    json_t *o1 = NULL, *o2 = NULL;
    int okay = it_post_release(&P, W.owner, m1, &b1, &o1) == 201 && it_post_release(&P, W.owner, m2, &b2, &o2) == 201;
    ok(okay, "two releases published");
    char ra[64] = "", rb[64] = "";
    snprintf(ra, sizeof(ra), "%s", it_jstr(o1, "release.id") ? it_jstr(o1, "release.id") : "");
    snprintf(rb, sizeof(rb), "%s", it_jstr(o2, "release.id") ? it_jstr(o2, "release.id") : "");
    if (okay) {
        read_only(rb);
        insights(ra, rb);
    }
    /* last: sign-in attempts from one address are limited (each costs an Argon2id hash) */
    long st = 0;
    int tries = 0;
    struct hresp r;
    while (tries < 40 && st != 429) {
        /* the limit is taken before the body is looked at: cheap 400s use it up as fast as wrong passwords */
        st = req("POST", "/v1/session", "{\"email\":\"owner@example.com\"}", NULL, &r);
        hresp_free(&r);
        tries++;
    }
    is_int(st, 429, "repeated sign-ins from one address are answered 429 (after %d tries)", tries);
    ok(tries > 1 && tries <= 21, "after a burst of at most 20");
    req("POST", "/v1/session", "{\"email\":\"owner@example.com\",\"password\":\"correct horse battery\"}", NULL, &r);
    ok(r.status == 429 && !r.cookie[0], "then even the right password waits (429, no cookie)");
    hresp_free(&r);
    json_decref(o1);
    json_decref(o2);
    free(m1);
    free(m2);
    it_bundle_free(&b1);
    it_bundle_free(&b2);
    it_pub_stop(&P);
    return done_testing();
}
