/*
 * Unit tests for edge-check/devstatus.c: seed 002's update-status body
 * (the documented examples, byte for byte) decoded into our installation
 * event, and every kind of bad input refused with a reason.
 */
#include "common/compat.h"

#include <jansson.h>

#include "../../../edge-check/edge.h"
#include "../../lib/test.h"

static char msg[256];
static struct edge_status st;

static int parse(const char *body)
{
    msg[0] = '\0';
    return edge_status_parse(body, strlen(body), "esp32_001", &st, msg, sizeof(msg));
}

static void refused(const char *body, const char *needle, const char *name)
{
    is_int(parse(body), -1, "%s refused", name);
    ok(strstr(msg, needle) != NULL, "%s: reason names %s (%s)", name, needle, msg);
}

int main(void)
{
    if (cmn_crypto_init())
        return 1;
    /* the seed's two documented reports */
    is_int(parse("{\n  \"device_id\": \"esp32_001\",\n  \"firmware_version\": \"1.1.0\",\n  \"status\": "
                 "\"downloading\",\n  \"progress_percent\": 50\n}"),
           0, "seed report: downloading 50%%");
    is_str(st.status, "downloading", "status downloading");
    is_str(st.firmware_version, "1.1.0", "firmware_version");
    is_int(st.progress, 50, "progress 50");
    is_str(st.device_model, "", "no model");
    is_int(parse("{\"device_id\":\"esp32_001\",\"firmware_version\":\"1.1.0\",\"status\":\"success\","
                 "\"progress_percent\":100}"),
           0, "seed report: success");
    is_str(st.status, "applied", "success is our applied");
    is_int(parse("{\"firmware_version\":\"1.1.0\",\"status\":\"failed\",\"error_message\":\"flash write\","
                 "\"device_model\":\"esp32\"}"),
           0, "failed, with error_message and device_model, no device_id");
    is_str(st.status, "failed", "failed");
    is_int(st.progress, -1, "no progress");
    is_str(st.device_model, "esp32", "device_model kept");
    is_int(parse("{\"firmware_version\":\"1.1.0\",\"status\":\"downloading\",\"progress_percent\":25.0}"), 0,
           "a whole-number real progress");
    is_int(st.progress, 25, "25");

    refused("", "empty", "empty body");
    refused("not json", "JSON", "not JSON");
    refused("[1]", "object", "an array");
    refused("{\"firmware_version\":\"1.1.0\",\"status\":\"done\"}", "'status'", "unknown status");
    refused("{\"firmware_version\":\"1.1.0\"}", "'status'", "no status");
    refused("{\"status\":\"success\"}", "'firmware_version'", "no firmware_version");
    refused("{\"firmware_version\":\"../1\",\"status\":\"success\"}", "'firmware_version'", "version not an id");
    refused("{\"firmware_version\":1,\"status\":\"success\"}", "'firmware_version'", "version not a string");
    refused("{\"firmware_version\":\"1.1.0\",\"status\":\"success\",\"progress_percent\":101}", "progress_percent",
            "progress over 100");
    refused("{\"firmware_version\":\"1.1.0\",\"status\":\"success\",\"progress_percent\":-1}", "progress_percent",
            "negative progress");
    refused("{\"firmware_version\":\"1.1.0\",\"status\":\"success\",\"progress_percent\":5.5}", "progress_percent",
            "fractional progress");
    refused("{\"firmware_version\":\"1.1.0\",\"status\":\"success\",\"progress_percent\":\"50\"}", "progress_percent",
            "progress as a string");
    refused("{\"device_id\":\"esp32_002\",\"firmware_version\":\"1.1.0\",\"status\":\"success\"}", "differs",
            "device_id other than the path's");
    refused("{\"device_model\":\"a b\",\"firmware_version\":\"1.1.0\",\"status\":\"success\"}", "'device_model'",
            "device_model not an id");
    refused("{\"status\":\"success\",\"status\":\"failed\",\"firmware_version\":\"1\"}", "JSON", "duplicate keys");
    {
        char nul[] = "{\"firmware_version\":\"1.1.0\",\"status\":\"success\"}";
        nul[5] = '\0';
        is_int(edge_status_parse(nul, sizeof(nul) - 1, "esp32_001", &st, msg, sizeof(msg)), -1,
               "an embedded NUL is refused");
    }

    /* the event relayed to POST /v1/installations */
    is_int(parse("{\"firmware_version\":\"1.1.0\",\"status\":\"success\",\"progress_percent\":100}"), 0, "parsed");
    struct edge_model t = {"esp32", "esp-fleet", "firmware", "production"};
    char out[EDGE_RELAY_BODY_MAX];
    long n = edge_status_event(&st, "esp32_001", &t, "f2", out, sizeof(out));
    ok(n > 0 && (size_t)n == strlen(out), "event encoded (%ld bytes)", n);
    json_t *j = json_loads(out, 0, NULL);
    json_t *e = json_array_get(json_object_get(j, "events"), 0);
    is_int((long long)json_array_size(json_object_get(j, "events")), 1, "one event");
    is_str(json_string_value(json_object_get(e, "device_id")), "esp32_001", "device_id");
    is_str(json_string_value(json_object_get(e, "app")), "esp-fleet", "app");
    is_str(json_string_value(json_object_get(e, "platform")), "firmware", "platform");
    is_str(json_string_value(json_object_get(e, "channel")), "production", "channel");
    is_str(json_string_value(json_object_get(e, "release_id")), "f2", "release_id");
    is_str(json_string_value(json_object_get(e, "status")), "applied", "status");
    is_int(json_integer_value(json_object_get(e, "progress")), 100, "progress");
    ok(json_string_value(json_object_get(e, "event_id")) &&
           strlen(json_string_value(json_object_get(e, "event_id"))) == 32,
       "a random event_id");
    ok(json_integer_value(json_object_get(e, "ts")) > 1700000000, "ts");
    json_decref(j);
    is_int(edge_status_event(&st, "esp32_001", &t, "f2", out, 40), -1, "too small an output buffer: -1");

    /* CodePush report_status bodies, as the code-push 4.2.3 AcquisitionManager builds them */
    struct edge_cp_report cp;
    const char *K = "demo~android~production~0123456789abcdef0123456789abcdef";
    char b[1024];
#define CP(dl, ...)                                                                                                    \
    (snprintf(b, sizeof(b), __VA_ARGS__), msg[0] = '\0', edge_cp_report_parse(b, strlen(b), dl, &cp, msg, sizeof(msg)))
    is_int(CP(0,
              "{\"app_version\":\"1.0\",\"deployment_key\":\"%s\",\"client_unique_id\":\"c-1\",\"label\":"
              "\"1.0.2\",\"status\":\"DeploymentSucceeded\",\"previous_label_or_app_version\":\"1.0.1\","
              "\"previous_deployment_key\":\"%s\"}",
              K, K),
           0, "deploy: succeeded, with the previous package");
    is_str(cp.status, "applied", "DeploymentSucceeded is our applied");
    is_str(cp.app, "demo", "the key's app");
    is_str(cp.platform, "android", "platform");
    is_str(cp.channel, "production", "channel");
    is_str(cp.client, "c-1", "client_unique_id");
    is_str(cp.label, "1.0.2", "label");
    is_str(cp.app_version, "1.0", "app_version");
    is_int(cp.progress, -1, "no progress");
    is_int(CP(0,
              "{\"deployment_key\":\"%s\",\"client_unique_id\":\"c-1\",\"label\":\"v7\",\"status\":"
              "\"DeploymentFailed\"}",
              K),
           0, "deploy: failed");
    is_str(cp.status, "failed", "DeploymentFailed is our failed");
    is_int(CP(0, "{\"app_version\":\"1.0\",\"deployment_key\":\"%s\",\"client_unique_id\":\"c-1\"}", K), 0,
           "deploy of the binary: no label, no status");
    ok(cp.status == NULL, "nothing to record");
    is_int(CP(1, "{\"client_unique_id\":\"c-1\",\"deployment_key\":\"%s\",\"label\":\"1.0.2\"}", K), 0, "download");
    is_str(cp.status, "downloading", "a finished download: downloading ...");
    is_int(cp.progress, 100, "... at 100%%");
    struct edge_install ie = {cp.client, cp.app, cp.platform, cp.channel, "r-9", cp.status, cp.progress, "1.0.0"};
    n = edge_install_event(&ie, out, sizeof(out));
    j = json_loads(out, 0, NULL);
    e = json_array_get(json_object_get(j, "events"), 0);
    ok(n > 0, "the download encodes");
    is_str(json_string_value(json_object_get(e, "binary_version")), "1.0.0", "binary_version carried");
    is_str(json_string_value(json_object_get(e, "release_id")), "r-9", "release id");
    is_int(json_integer_value(json_object_get(e, "progress")), 100, "progress 100");
    json_decref(j);

#define CPBAD(dl, needle, name, ...)                                                                                   \
    do {                                                                                                               \
        is_int(CP(dl, __VA_ARGS__), -1, "%s refused", name);                                                           \
        ok(strstr(msg, needle) != NULL, "%s: reason names %s (%s)", name, needle, msg);                                \
    } while (0)
    CPBAD(0, "empty", "empty body", "%s", "");
    CPBAD(0, "JSON", "not JSON", "%s", "{nope");
    CPBAD(0, "object", "an array", "%s", "[]");
    CPBAD(0, "'deployment_key'", "no key", "{\"client_unique_id\":\"c\"}");
    CPBAD(0, "not a HotPatch", "a foreign key", "{\"deployment_key\":\"X3hG9kQ\",\"client_unique_id\":\"c\"}");
    CPBAD(0, "'deployment_key'", "a key that is a number", "{\"deployment_key\":5,\"client_unique_id\":\"c\"}");
    CPBAD(0, "'client_unique_id'", "no client", "{\"deployment_key\":\"%s\"}", K);
    CPBAD(0, "'client_unique_id'", "client too long", "{\"deployment_key\":\"%s\",\"client_unique_id\":\"%0200d\"}", K,
          0);
    CPBAD(0, "'client_unique_id'", "client with a control byte",
          "{\"deployment_key\":\"%s\",\"client_unique_id\":\"a\\u0001b\"}", K);
    CPBAD(0, "'status'", "unknown status",
          "{\"deployment_key\":\"%s\",\"client_unique_id\":\"c\",\"label\":\"v1\",\"status\":\"ok\"}", K);
    CPBAD(0, "'status'", "a package without status",
          "{\"deployment_key\":\"%s\",\"client_unique_id\":\"c\",\"label\":\"v1\"}", K);
    CPBAD(0, "'label'", "a status without a package",
          "{\"deployment_key\":\"%s\",\"client_unique_id\":\"c\",\"status\":\"DeploymentFailed\"}", K);
    CPBAD(0, "'label'", "label too long", "{\"deployment_key\":\"%s\",\"client_unique_id\":\"c\",\"label\":\"%070d\"}",
          K, 0);
    CPBAD(0, "'label'", "label not a string", "{\"deployment_key\":\"%s\",\"client_unique_id\":\"c\",\"label\":[]}", K);
    CPBAD(0, "'app_version'", "app_version a number",
          "{\"deployment_key\":\"%s\",\"client_unique_id\":\"c\",\"app_version\":1}", K);
    CPBAD(0, "'previous_label_or_app_version'", "previous not a string",
          "{\"deployment_key\":\"%s\",\"client_unique_id\":\"c\",\"previous_label_or_app_version\":{}}", K);
    CPBAD(0, "JSON", "duplicate keys", "{\"deployment_key\":\"%s\",\"deployment_key\":\"%s\"}", K, K);
    CPBAD(1, "'label'", "a download without a label", "{\"deployment_key\":\"%s\",\"client_unique_id\":\"c\"}", K);
    CPBAD(1, "'status'", "a download with a status",
          "{\"deployment_key\":\"%s\",\"client_unique_id\":\"c\",\"label\":\"v1\",\"status\":\"DeploymentFailed\"}", K);
#undef CPBAD
#undef CP
    return done_testing();
}
