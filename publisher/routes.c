/*
 * routes.c - the publisher's one route table. http.c matches a request's
 * method and path segments against it, in order: a path that matches a
 * pattern but not its method is a 405, no pattern a 404. `role` is what the
 * handler demands on the resource it acts on (PUB_ROLE_NONE: public, no
 * credentials); docs/interfaces.md lists the same table for callers.
 *
 * Adding a route: one line here and one handler in h_<resource>.c.
 */
#include "common/compat.h"

#include "pub_handlers.h"

#define NONE PUB_ROLE_NONE
#define READ PUB_ROLE_READ
#define WRITE PUB_ROLE_WRITE
#define ADMIN PUB_ROLE_ADMIN
#define B_NONE PUB_BODY_NONE
#define B_JSON PUB_BODY_JSON
#define B_TELEMETRY PUB_BODY_TELEMETRY
#define B_UPLOAD PUB_BODY_UPLOAD
#define DB PUB_RF_DB

/* clang-format off */
static const struct pub_route routes[] = {
    /* method   pattern                                  handler                role   body         flags */
    /* the dashboard's pages (h_dashboard.c) and sessions (h_session.c) */
    {"GET",    "/",                                      pub_h_dash_index,      NONE,  B_NONE,      0},
    {"GET",    "/ui/:file",                              pub_h_dash_asset,      NONE,  B_NONE,      0},
    {"GET",    "/favicon.ico",                           pub_h_dash_asset,      NONE,  B_NONE,      0},
    {"POST",   "/v1/session",                            pub_h_session_create,  NONE,  B_JSON,      DB},
    {"GET",    "/v1/session",                            pub_h_session_get,     READ,  B_NONE,      DB},
    {"DELETE", "/v1/session",                            pub_h_session_delete,  READ,  B_JSON,      DB},
    {"GET",    "/healthz",                               pub_h_health,          NONE,  B_NONE,      0},
    {"GET",    "/metrics",                               pub_h_metrics,         NONE,  B_NONE,      0},
    /* auth and users (h_auth.c) */
    {"POST",   "/v1/bootstrap",                          pub_h_bootstrap,       NONE,  B_JSON,      DB},
    {"POST",   "/v1/auth/token",                         pub_h_auth_token,      NONE,  B_JSON,      DB},
    {"POST",   "/v1/auth/refresh",                       pub_h_auth_refresh,    READ,  B_JSON,      DB},
    {"POST",   "/v1/users",                              pub_h_users_create,    ADMIN, B_JSON,      DB},
    /* API keys (h_keys.c) */
    {"DELETE", "/v1/api-keys/:lookup",                   pub_h_apikey_revoke,   ADMIN, B_JSON,      DB},
    /* device telemetry (h_telemetry.c) */
    {"POST",   "/v1/devices",                            pub_h_devices,         NONE,  B_TELEMETRY, 0},
    {"POST",   "/v1/installations",                      pub_h_installations,   NONE,  B_TELEMETRY, 0},
    /* apps (h_apps.c) and their keys (h_keys.c) */
    {"POST",   "/v1/apps",                               pub_h_apps_create,     ADMIN, B_JSON,      DB},
    {"GET",    "/v1/apps",                               pub_h_apps_list,       READ,  B_NONE,      DB},
    {"GET",    "/v1/apps/:app",                          pub_h_app_get,         READ,  B_NONE,      DB},
    {"PATCH",  "/v1/apps/:app",                          pub_h_app_patch,       ADMIN, B_JSON,      DB},
    {"POST",   "/v1/apps/:app/keys",                     pub_h_keys_add,        ADMIN, B_JSON,      DB},
    {"GET",    "/v1/apps/:app/keys",                     pub_h_keys_list,       READ,  B_NONE,      DB},
    {"DELETE", "/v1/apps/:app/keys/:keyid",              pub_h_key_revoke,      ADMIN, B_JSON,      DB},
    {"POST",   "/v1/apps/:app/api-keys",                 pub_h_apikeys,         ADMIN, B_JSON,      DB},
    {"GET",    "/v1/apps/:app/channels",                 pub_h_channels,        READ,  B_NONE,      DB},
    {"POST",   "/v1/apps/:app/channels/:platform/:channel/retire", pub_h_chan_retire, WRITE, B_JSON, DB},
    {"GET",    "/v1/apps/:app/audit",                    pub_h_audit_list,      READ,  B_NONE,      DB},
    /* embedded bundles registered as patch bases (h_embedded.c; the registry lives in storage) */
    {"POST",   "/v1/apps/:app/platforms/:platform/embedded", pub_h_embedded_add, WRITE, B_UPLOAD,  DB},
    {"GET",    "/v1/apps/:app/platforms/:platform/embedded", pub_h_embedded_list, READ, B_NONE,   DB},
    {"DELETE", "/v1/apps/:app/platforms/:platform/embedded/:version", pub_h_embedded_remove, WRITE, B_JSON, DB},
    {"GET",    "/v1/apps/:app/api-keys",                 pub_h_apikeys_list,    ADMIN, B_NONE,      DB},
    /* CodePush deployment keys (h_codepush.c; docs/compatibility.md) */
    {"POST",   "/v1/apps/:app/deployment-keys",          pub_h_cpkey_add,       WRITE, B_JSON,      DB},
    {"GET",    "/v1/apps/:app/deployment-keys",          pub_h_cpkey_list,      READ,  B_NONE,      DB},
    {"DELETE", "/v1/apps/:app/deployment-keys/:key",     pub_h_cpkey_revoke,    WRITE, B_JSON,      DB},
    /* what the dashboard reads (h_insights.c) */
    {"GET",    "/v1/apps/:app/adoption",                 pub_h_app_adoption,    READ,  B_NONE,      DB},
    {"GET",    "/v1/apps/:app/versions",                 pub_h_app_versions,    READ,  B_NONE,      DB},
    {"GET",    "/v1/apps/:app/device",                   pub_h_device,          READ,  B_NONE,      DB},
    {"GET",    "/v1/releases/:id/series",                pub_h_rel_series,      READ,  B_NONE,      DB},
    /* releases (h_upload.c, h_releases.c, h_telemetry.c) */
    {"POST",   "/v1/releases",                           pub_h_rel_create,      WRITE, B_UPLOAD,    0},
    {"GET",    "/v1/releases",                           pub_h_rel_list,        READ,  B_NONE,      DB},
    {"GET",    "/v1/releases/:id",                       pub_h_rel_get,         READ,  B_NONE,      DB},
    {"DELETE", "/v1/releases/:id",                       pub_h_rel_action,      WRITE, B_JSON,      DB},
    {"PATCH",  "/v1/releases/:id/rollout",               pub_h_rel_rollout,     WRITE, B_JSON,      DB},
    {"POST",   "/v1/releases/:id/rollout",               pub_h_rel_rollout,     WRITE, B_JSON,      DB},
    {"POST",   "/v1/releases/:id/ramp",                  pub_h_rel_rollout,     WRITE, B_JSON,      DB},
    {"PATCH",  "/v1/releases/:id/ramp",                  pub_h_rel_rollout,     WRITE, B_JSON,      DB},
    {"GET",    "/v1/releases/:id/stats",                 pub_h_stats,           READ,  B_NONE,      DB},
    {"POST",   "/v1/releases/:id/promote",               pub_h_rel_promote,     WRITE, B_JSON,      DB},
    {"POST",   "/v1/releases/:id/rollback",              pub_h_rel_action,      WRITE, B_JSON,      DB},
    {"POST",   "/v1/releases/:id/abort",                 pub_h_rel_action,      WRITE, B_JSON,      DB},
    {"POST",   "/v1/releases/:id/halt",                  pub_h_rel_action,      WRITE, B_JSON,      DB},
    {"POST",   "/v1/releases/:id/resume",                pub_h_rel_action,      WRITE, B_JSON,      DB},
    {"POST",   "/v1/releases/:id/conclude",              pub_h_rel_action,      WRITE, B_JSON,      DB},
    {"POST",   "/v1/releases/:id/archive",               pub_h_rel_action,      WRITE, B_JSON,      DB},
    /* manifests (h_manifests.c) */
    {"GET",    "/v1/manifests/:app/:platform/:channel",  pub_h_manifest,        READ,  B_NONE,      DB},
    /* seed 000/001 API without /v1 (h_seed.c adapters; docs/compatibility.md) */
    {"POST",   "/auth/token",                            pub_h_auth_token,      NONE,  B_JSON,      DB},
    {"POST",   "/auth/refresh",                          pub_h_auth_refresh,    READ,  B_JSON,      DB},
    {"POST",   "/apps",                                  pub_h_seed_apps_create, ADMIN, B_JSON,     DB},
    {"POST",   "/releases",                              pub_h_seed_rel_create, WRITE, B_UPLOAD,    0},
    {"GET",    "/releases",                              pub_h_seed_rel_list,   READ,  B_NONE,      DB},
    {"GET",    "/releases/:id",                          pub_h_seed_rel_get,    READ,  B_NONE,      DB},
    {"PATCH",  "/releases/:id/rollback",                 pub_h_seed_rel_rollback, WRITE, B_JSON,    DB},
    {"PATCH",  "/releases/:id/rollout",                  pub_h_seed_rel_rollout, WRITE, B_JSON,     DB},
    {"DELETE", "/releases/:id",                          pub_h_seed_rel_delete, WRITE, B_JSON,      DB},
    {"GET",    "/releases/:id/stats",                    pub_h_seed_rel_stats,  READ,  B_NONE,      DB},
    {"POST",   "/devices",                               pub_h_seed_devices,    NONE,  B_TELEMETRY, 0},
    {"POST",   "/installations",                         pub_h_seed_installations, NONE, B_TELEMETRY, 0},
    /* seed 002 ESP admin API, X-API-Key (h_esp.c) */
    {"POST",   "/api/admin/firmware/upload",             pub_h_esp_upload,      WRITE, B_UPLOAD,    0},
    {"GET",    "/api/admin/firmware/releases",           pub_h_esp_releases,    READ,  B_NONE,      DB},
    {"POST",   "/api/admin/rollout/create",              pub_h_esp_rollout,     WRITE, B_JSON,      DB},
    {"GET",    "/api/admin/devices",                     pub_h_esp_devices,     READ,  B_NONE,      DB},
    {"GET",    "/api/admin/update-status",               pub_h_esp_status,      READ,  B_NONE,      DB},
    {"GET",    "/api/admin/metrics",                     pub_h_esp_metrics,     READ,  B_NONE,      DB},
};
/* clang-format on */

const struct pub_router pub_router = {routes, sizeof(routes) / sizeof(routes[0]), &pub_upload_ops};
