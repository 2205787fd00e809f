/*
 * h_session.c - handlers for dashboard sessions: sign in with email +
 * password (POST /v1/session sets the HttpOnly, SameSite=Strict cookie and
 * returns the CSRF token), who am I (GET), sign out (DELETE). The checks on
 * later cookie-authenticated requests are in http.c; the rules in session.c.
 */
#include "common/compat.h"

#include "common/log.h"
#include "pub_handlers.h"
#include "pub_session.h"

/*
 * Sign-in attempts per client IP: each costs an Argon2id hash (tens of ms and
 * 64 MiB), so a burst of 20 then one every 2 s, on top of the general per-IP
 * limit. One limiter for the process, made on first use.
 */
static struct pub_rl *login_rl;
static pthread_once_t login_rl_once = PTHREAD_ONCE_INIT;

static void login_rl_make(void)
{
    login_rl = pub_rl_new(0.5, 20, 100000);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cookie_secure(struct pub_srv *s, struct pub_req *r)
{
    const char *proto = pub_req_header(r, "X-Forwarded-Proto");
    return s->cfg->cookie_secure || (proto && !strcasecmp(proto, "https"));
}

static void set_cookie(struct pub_srv *s, struct pub_req *r, struct pub_resp *out, const char *value, long max_age)
{
    snprintf(out->set_cookie, sizeof(out->set_cookie),
             PUB_SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld%s", value, max_age,
             cookie_secure(s, r) ? "; Secure" : "");
}

void pub_h_session_create(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    /* a browser always sends Origin on a POST: a sign-in form on another site is refused (login CSRF) */
    if (pub_req_header(r, "Origin") && !pub_req_same_origin(s, r)) {
        pub_err(out, 403, "cross_origin", "sign-in must come from the dashboard's own origin");
        return;
    }
    pthread_once(&login_rl_once, login_rl_make);
    long wait = login_rl ? pub_rl_take(login_rl, r->ip, now_s()) : 0;
    if (wait > 0) {
        out->retry_after = wait;
        pub_err(out, 429, "rate_limited", "too many sign-in attempts from %s; wait %ld s", r->ip, wait);
        return;
    }
    json_t *b = pub_h_body(s, r, 0, out);
    if (!b)
        return;
    static const char *const allowed[] = {"email", "password", NULL};
    const char *email, *pw;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc;
    char token[PUB_SESSION_TOKEN_MAX], csrf[PUB_CSRF_MAX];
    if ((rc = pub_jkeys(b, allowed, &eb)) || (rc = pub_jstr(b, "email", 1, 254, &email, &eb)) ||
        (rc = pub_jstr(b, "password", 1, 1024, &pw, &eb))) {
        pub_err(out, 400, "bad_request", "%s", cmn_errmsg(&eb, rc));
        goto done;
    }
    int64_t uid = 0, expires = 0;
    if (pub_h_password_check(c, email, pw, &uid, out))
        goto done;
    if (pub_session_create(s, c, uid, r->ip, token, csrf, &expires)) {
        pub_err(out, 503, "database_unavailable", "cannot start a session");
        goto done;
    }
    set_cookie(s, r, out, token, s->cfg->session_ttl);
    cmn_info("dashboard sign-in: user %lld from %s", (long long)uid, r->ip);
    pub_json_reply(out, 201,
                   json_pack("{s:{s:I,s:s},s:s,s:I}", "user", "id", (json_int_t)uid, "email", email, "csrf_token", csrf,
                             "expires_at", (json_int_t)expires));
    cmn_wipe(token, sizeof(token));
    cmn_wipe(csrf, sizeof(csrf));
done:
    json_decref(b);
}

static json_t *membership_row(const PGresult *q, int i)
{
    return json_pack("{s:s,s:s?,s:s}", "org", pub_cell(q, i, 0), "app", PQgetisnull(q, i, 1) ? NULL : pub_cell(q, i, 1),
                     "role", pub_cell(q, i, 2));
}

void pub_h_session_get(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    if (r->who.kind != PUB_PRINC_USER) {
        pub_json_reply(out, 200,
                       json_pack("{s:n,s:s,s:s}", "user", "key", r->who.actor, "role", pub_role_name(r->who.role)));
        return;
    }
    char uid[24];
    I64(uid, r->who.id);
    const char *p[] = {uid};
    PGresult *u = pub_h_query(c, Q_USER_BY_ID, p, out);
    if (!u)
        return;
    PGresult *m = pub_h_query(c, Q_USER_MEMBERSHIPS, p, out);
    if (!m) {
        PQclear(u);
        return;
    }
    json_t *o = json_pack("{s:{s:I,s:s},s:o}", "user", "id", (json_int_t)r->who.id, "email",
                          PQntuples(u) ? pub_cell(u, 0, 1) : "", "memberships", pub_h_rows(m, membership_row));
    PQclear(u);
    PQclear(m);
    struct pub_session sess;
    const char *cookie = pub_req_cookie(r, PUB_SESSION_COOKIE);
    if (r->who.via_session && cookie && !pub_session_lookup(c, cookie, &sess)) {
        json_object_set_new(o, "csrf_token", json_string(sess.csrf));
        json_object_set_new(o, "expires_at", json_integer(sess.expires_at));
        cmn_wipe(sess.csrf, sizeof(sess.csrf));
    }
    pub_json_reply(out, 200, o);
}

void pub_h_session_delete(struct pub_srv *s, struct pub_dbconn *c, struct pub_req *r, struct pub_resp *out)
{
    const char *cookie = pub_req_cookie(r, PUB_SESSION_COOKIE);
    if (!r->who.via_session || !cookie) {
        pub_err(out, 400, "bad_request", "no dashboard session to sign out of (tokens simply expire)");
        return;
    }
    if (pub_session_delete(c, cookie)) {
        pub_err(out, 503, "database_unavailable", "cannot sign out");
        return;
    }
    set_cookie(s, r, out, "", 0);
    pub_json_reply(out, 200, json_pack("{s:b}", "signed_out", 1));
}
