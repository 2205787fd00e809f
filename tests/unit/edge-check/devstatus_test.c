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
    return done_testing();
}
