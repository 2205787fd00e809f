/*
 * Unit tests for the route table (routes.c) and its matcher (http.c's
 * pub_route_find): every endpoint resolves to its handler, role and body
 * kind; HEAD answers like GET; a known path with the wrong method is a 405,
 * an unknown path (or one too deep) a 404; the table has no duplicate
 * (method, pattern) line and every route that needs no credentials is one of
 * the known public ones.
 */
#include "common/compat.h"

#include "../../lib/test.h"
#include "pub_handlers.h"

/* Fill a request from "METHOD /path" the way http.c splits it. */
static void req(struct pub_req *r, char *buf, const char *method, const char *path)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->method, sizeof(r->method), "%s", method);
    snprintf(buf, 512, "%s", path);
    char *p = buf;
    while (*p) {
        while (*p == '/')
            *p++ = '\0';
        if (!*p)
            break;
        if (r->nsegs == PUB_MAX_SEGS) {
            r->nsegs = PUB_MAX_SEGS + 1;
            return;
        }
        r->segs[r->nsegs++] = p;
        while (*p && *p != '/')
            p++;
    }
}

static const struct pub_route *find(const char *method, const char *path, int *rc)
{
    static char buf[512];
    struct pub_req r;
    const struct pub_route *e = NULL;
    req(&r, buf, method, path);
    *rc = pub_route_find(&pub_router, &r, &e);
    return *rc ? NULL : e;
}

int main(void)
{
    struct {
        const char *method, *path;
        pub_handler_fn fn;
        int role;
        enum pub_body_kind body;
    } cases[] = {
        {"GET", "/", pub_h_dash_index, PUB_ROLE_NONE, PUB_BODY_NONE},
        {"GET", "/ui/app.js", pub_h_dash_asset, PUB_ROLE_NONE, PUB_BODY_NONE},
        {"GET", "/favicon.ico", pub_h_dash_asset, PUB_ROLE_NONE, PUB_BODY_NONE},
        {"POST", "/v1/session", pub_h_session_create, PUB_ROLE_NONE, PUB_BODY_JSON},
        {"GET", "/v1/session", pub_h_session_get, PUB_ROLE_READ, PUB_BODY_NONE},
        {"DELETE", "/v1/session", pub_h_session_delete, PUB_ROLE_READ, PUB_BODY_JSON},
        {"GET", "/v1/apps/demo/api-keys", pub_h_apikeys_list, PUB_ROLE_ADMIN, PUB_BODY_NONE},
        {"POST", "/v1/apps/demo/platforms/android/embedded", pub_h_embedded_add, PUB_ROLE_WRITE, PUB_BODY_UPLOAD},
        {"GET", "/v1/apps/demo/platforms/android/embedded", pub_h_embedded_list, PUB_ROLE_READ, PUB_BODY_NONE},
        {"DELETE", "/v1/apps/demo/platforms/android/embedded/1.2.0", pub_h_embedded_remove, PUB_ROLE_WRITE,
         PUB_BODY_JSON},
        {"GET", "/v1/apps/demo/adoption", pub_h_app_adoption, PUB_ROLE_READ, PUB_BODY_NONE},
        {"GET", "/v1/apps/demo/versions", pub_h_app_versions, PUB_ROLE_READ, PUB_BODY_NONE},
        {"GET", "/v1/apps/demo/device", pub_h_device, PUB_ROLE_READ, PUB_BODY_NONE},
        {"GET", "/v1/releases/r1/series", pub_h_rel_series, PUB_ROLE_READ, PUB_BODY_NONE},
        {"GET", "/healthz", pub_h_health, PUB_ROLE_NONE, PUB_BODY_NONE},
        {"HEAD", "/healthz", pub_h_health, PUB_ROLE_NONE, PUB_BODY_NONE},
        {"GET", "/metrics", pub_h_metrics, PUB_ROLE_NONE, PUB_BODY_NONE},
        {"POST", "/v1/bootstrap", pub_h_bootstrap, PUB_ROLE_NONE, PUB_BODY_JSON},
        {"POST", "/v1/auth/token", pub_h_auth_token, PUB_ROLE_NONE, PUB_BODY_JSON},
        {"POST", "/v1/auth/refresh", pub_h_auth_refresh, PUB_ROLE_READ, PUB_BODY_JSON},
        {"POST", "/v1/users", pub_h_users_create, PUB_ROLE_ADMIN, PUB_BODY_JSON},
        {"DELETE", "/v1/api-keys/abc123", pub_h_apikey_revoke, PUB_ROLE_ADMIN, PUB_BODY_JSON},
        {"POST", "/v1/devices", pub_h_devices, PUB_ROLE_NONE, PUB_BODY_TELEMETRY},
        {"POST", "/v1/installations", pub_h_installations, PUB_ROLE_NONE, PUB_BODY_TELEMETRY},
        {"POST", "/v1/apps", pub_h_apps_create, PUB_ROLE_ADMIN, PUB_BODY_JSON},
        {"GET", "/v1/apps", pub_h_apps_list, PUB_ROLE_READ, PUB_BODY_NONE},
        {"GET", "/v1/apps/demo", pub_h_app_get, PUB_ROLE_READ, PUB_BODY_NONE},
        {"PATCH", "/v1/apps/demo", pub_h_app_patch, PUB_ROLE_ADMIN, PUB_BODY_JSON},
        {"POST", "/v1/apps/demo/keys", pub_h_keys_add, PUB_ROLE_ADMIN, PUB_BODY_JSON},
        {"GET", "/v1/apps/demo/keys", pub_h_keys_list, PUB_ROLE_READ, PUB_BODY_NONE},
        {"DELETE", "/v1/apps/demo/keys/0011", pub_h_key_revoke, PUB_ROLE_ADMIN, PUB_BODY_JSON},
        {"POST", "/v1/apps/demo/api-keys", pub_h_apikeys, PUB_ROLE_ADMIN, PUB_BODY_JSON},
        {"GET", "/v1/apps/demo/channels", pub_h_channels, PUB_ROLE_READ, PUB_BODY_NONE},
        {"POST", "/v1/apps/demo/channels/android/beta/retire", pub_h_chan_retire, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"GET", "/v1/apps/demo/audit", pub_h_audit_list, PUB_ROLE_READ, PUB_BODY_NONE},
        {"POST", "/v1/apps/demo/deployment-keys", pub_h_cpkey_add, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"GET", "/v1/apps/demo/deployment-keys", pub_h_cpkey_list, PUB_ROLE_READ, PUB_BODY_NONE},
        {"DELETE", "/v1/apps/demo/deployment-keys/12", pub_h_cpkey_revoke, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"POST", "/v1/releases", pub_h_rel_create, PUB_ROLE_WRITE, PUB_BODY_UPLOAD},
        {"GET", "/v1/releases", pub_h_rel_list, PUB_ROLE_READ, PUB_BODY_NONE},
        {"GET", "/v1/releases/r1", pub_h_rel_get, PUB_ROLE_READ, PUB_BODY_NONE},
        {"DELETE", "/v1/releases/r1", pub_h_rel_action, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"PATCH", "/v1/releases/r1/rollout", pub_h_rel_rollout, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"POST", "/v1/releases/r1/rollout", pub_h_rel_rollout, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"POST", "/v1/releases/r1/ramp", pub_h_rel_rollout, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"PATCH", "/v1/releases/r1/ramp", pub_h_rel_rollout, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"GET", "/v1/releases/r1/stats", pub_h_stats, PUB_ROLE_READ, PUB_BODY_NONE},
        {"POST", "/v1/releases/r1/promote", pub_h_rel_promote, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"POST", "/v1/releases/r1/rollback", pub_h_rel_action, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"POST", "/v1/releases/r1/abort", pub_h_rel_action, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"POST", "/v1/releases/r1/halt", pub_h_rel_action, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"POST", "/v1/releases/r1/resume", pub_h_rel_action, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"POST", "/v1/releases/r1/conclude", pub_h_rel_action, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"POST", "/v1/releases/r1/archive", pub_h_rel_action, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"GET", "/v1/manifests/demo/android/beta.json", pub_h_manifest, PUB_ROLE_READ, PUB_BODY_NONE},
        {"GET", "//v1//apps//demo/", pub_h_app_get, PUB_ROLE_READ, PUB_BODY_NONE},
        /* seed 000/001 (h_seed.c) */
        {"POST", "/auth/token", pub_h_auth_token, PUB_ROLE_NONE, PUB_BODY_JSON},
        {"POST", "/auth/refresh", pub_h_auth_refresh, PUB_ROLE_READ, PUB_BODY_JSON},
        {"POST", "/apps", pub_h_seed_apps_create, PUB_ROLE_ADMIN, PUB_BODY_JSON},
        {"POST", "/releases", pub_h_seed_rel_create, PUB_ROLE_WRITE, PUB_BODY_UPLOAD},
        {"GET", "/releases", pub_h_seed_rel_list, PUB_ROLE_READ, PUB_BODY_NONE},
        {"GET", "/releases/r1", pub_h_seed_rel_get, PUB_ROLE_READ, PUB_BODY_NONE},
        {"PATCH", "/releases/r1/rollback", pub_h_seed_rel_rollback, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"PATCH", "/releases/r1/rollout", pub_h_seed_rel_rollout, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"DELETE", "/releases/r1", pub_h_seed_rel_delete, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"GET", "/releases/r1/stats", pub_h_seed_rel_stats, PUB_ROLE_READ, PUB_BODY_NONE},
        {"POST", "/devices", pub_h_seed_devices, PUB_ROLE_NONE, PUB_BODY_TELEMETRY},
        {"POST", "/installations", pub_h_seed_installations, PUB_ROLE_NONE, PUB_BODY_TELEMETRY},
        /* seed 002 admin (h_esp.c) */
        {"POST", "/api/admin/firmware/upload", pub_h_esp_upload, PUB_ROLE_WRITE, PUB_BODY_UPLOAD},
        {"GET", "/api/admin/firmware/releases", pub_h_esp_releases, PUB_ROLE_READ, PUB_BODY_NONE},
        {"POST", "/api/admin/rollout/create", pub_h_esp_rollout, PUB_ROLE_WRITE, PUB_BODY_JSON},
        {"GET", "/api/admin/devices", pub_h_esp_devices, PUB_ROLE_READ, PUB_BODY_NONE},
        {"GET", "/api/admin/update-status", pub_h_esp_status, PUB_ROLE_READ, PUB_BODY_NONE},
        {"GET", "/api/admin/metrics", pub_h_esp_metrics, PUB_ROLE_READ, PUB_BODY_NONE},
    };
    int rc;
    for (size_t i = 0; i < CMN_ARRAY_SIZE(cases); i++) {
        const struct pub_route *e = find(cases[i].method, cases[i].path, &rc);
        ok(e && e->handler == cases[i].fn && e->role == cases[i].role && e->body == cases[i].body,
           "%s %s -> its handler, role %s, body kind %d (rc %d)", cases[i].method, cases[i].path,
           pub_role_name(cases[i].role), (int)cases[i].body, rc);
    }
    struct {
        const char *method, *path;
        int want;
    } misses[] = {
        {"POST", "/healthz", 405},
        {"GET", "/v1/apps/demo/platforms/android/embedded/1.2.0", 405},
        {"PUT", "/v1/apps/demo/platforms/android/embedded", 405},
        {"PUT", "/v1/apps", 405},
        {"GET", "/v1/releases/r1/rollout", 405},
        {"GET", "/v1/api-keys/abc", 405},
        {"PATCH", "/v1/releases", 405},
        {"GET", "/v1/releases/r1/frobnicate", 404},
        {"GET", "/v1/apps/demo/nope", 404},
        {"POST", "/v1/auth/other", 404},
        {"GET", "/v1", 404},
        {"POST", "/", 405},
        {"GET", "/ui", 404},
        {"GET", "/ui/a/b", 404},
        {"PUT", "/v1/session", 405},
        {"GET", "/v1/nothing", 404},
        {"GET", "/healthz/x", 404},
        {"POST", "/v1/bootstrap/x", 404},
        {"GET", "/v1/manifests/demo/android", 404},
        {"GET", "/v1/apps/a/b/c/d/e/f/g/h", 404},
        {"POST", "/releases/r1/rollback", 405}, /* the seed's verb is PATCH */
        {"GET", "/releases/r1/rollout", 405},
        {"PUT", "/devices", 405},
        {"GET", "/api/admin/firmware/upload", 405},
        {"GET", "/api/admin/nothing", 404},
        {"PATCH", "/v1/apps/demo/deployment-keys", 405},
        {"GET", "/v1/apps/demo/deployment-keys/12", 405},
        {"DELETE", "/v1/apps/demo/deployment-keys", 405},
        {"DELETE", "/v1/apps/demo/deployment-keys/12/x", 404},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(misses); i++) {
        find(misses[i].method, misses[i].path, &rc);
        is_int(rc, misses[i].want, "%s %s -> %d", misses[i].method, misses[i].path, misses[i].want);
    }
    int dups = 0, routed_db = 0;
    for (size_t i = 0; i < pub_router.n; i++) {
        const struct pub_route *a = &pub_router.routes[i];
        for (size_t j = i + 1; j < pub_router.n; j++)
            if (!strcmp(a->method, pub_router.routes[j].method) && !strcmp(a->pattern, pub_router.routes[j].pattern))
                dups++;
        if (a->flags & PUB_RF_DB)
            routed_db++;
        /* their handlers store through telemetry.c, which takes a connection of its own (pub_http.h, PUB_RF_DB) */
        if (a->body == PUB_BODY_TELEMETRY)
            ok(!(a->flags & PUB_RF_DB), "telemetry route %s takes no dispatch connection", a->pattern);
        if (a->body == PUB_BODY_UPLOAD)
            ok(pub_router.upload && pub_router.upload->begin && pub_router.upload->feed && pub_router.upload->release,
               "upload route %s has stream ops", a->pattern);
    }
    is_int(dups, 0, "no duplicate (method, pattern) lines");
    is_int(pub_router.n, CMN_ARRAY_SIZE(cases) - 2, "every table line is covered above (HEAD and // are extra)");
    ok(routed_db > 0, "routes that need the database say so");
    return done_testing();
}
