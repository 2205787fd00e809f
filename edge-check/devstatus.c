/*
 * devstatus.c - seed 002's device update-status report (POST
 * /api/device/<id>/update-status) decoded into one of our installation events
 * and encoded as the publisher's telemetry batch, so an ESP device's reports
 * count in the same per-release counters and auto-halt as our SDK's. The
 * body is untrusted: a JSON object whose known fields are type- and
 * range-checked; unknown fields are ignored, as the seed's service did.
 */
#include "common/compat.h"

#include <jansson.h>

#include "edge.h"

static int fail(char *msg, size_t cap, const char *text)
{
    snprintf(msg, cap, "%s", text);
    return -1;
}

/* A string field that must be an identifier; absent leaves dst empty. */
static int id_field(json_t *o, const char *key, char dst[CMN_ID_MAX + 1], char *msg, size_t cap)
{
    json_t *v = json_object_get(o, key);
    dst[0] = '\0';
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || !cmn_id_valid_n(json_string_value(v), json_string_length(v))) {
        snprintf(msg, cap, "field '%s' must be a string matching [A-Za-z0-9._-]{1,64}", key);
        return -1;
    }
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

int edge_status_parse(const char *body, size_t n, const char *path_id, struct edge_status *out, char *msg, size_t cap)
{
    json_error_t je;
    char dev[CMN_ID_MAX + 1];
    int rc = -1;
    memset(out, 0, sizeof(*out));
    out->progress = -1;
    if (!body || n == 0)
        return fail(msg, cap, "empty body: want a JSON object with firmware_version and status");
    json_t *o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        fail(msg, cap, o ? "body must be a JSON object" : "body is not valid JSON");
        goto out;
    }
    if (id_field(o, "device_id", dev, msg, cap) || id_field(o, "device_model", out->device_model, msg, cap) ||
        id_field(o, "firmware_version", out->firmware_version, msg, cap))
        goto out;
    if (dev[0] && strcmp(dev, path_id) != 0) {
        fail(msg, cap, "field 'device_id' differs from the device id in the path");
        goto out;
    }
    if (!out->firmware_version[0]) {
        fail(msg, cap, "missing field 'firmware_version'");
        goto out;
    }
    json_t *s = json_object_get(o, "status");
    const char *sv = json_is_string(s) ? json_string_value(s) : NULL;
    if (sv && strcmp(sv, "downloading") == 0)
        out->status = "downloading";
    else if (sv && strcmp(sv, "success") == 0)
        out->status = "applied";
    else if (sv && strcmp(sv, "failed") == 0)
        out->status = "failed";
    else {
        fail(msg, cap, "field 'status' must be \"downloading\", \"success\" or \"failed\"");
        goto out;
    }
    json_t *p = json_object_get(o, "progress_percent");
    if (p && !json_is_null(p)) {
        /* the seed sends an integer; a whole-number real (50.0) is the same report */
        double d = json_is_integer(p) ? (double)json_integer_value(p) : json_is_real(p) ? json_real_value(p) : -1;
        if (!(d >= 0 && d <= 100) || d != (double)(int)d) {
            fail(msg, cap, "field 'progress_percent' must be a whole number 0..100");
            goto out;
        }
        out->progress = (int)d;
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

long edge_status_event(const struct edge_status *st, const char *device_id, const struct edge_model *t,
                       const char *release_id, char *out, size_t cap)
{
    uint8_t rnd[16];
    char eid[33];
    cmn_random(rnd, sizeof(rnd));
    cmn_hex_encode(rnd, sizeof(rnd), eid);
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "event_id", eid, "device_id", device_id, "app", t->app,
                           "platform", t->platform, "channel", t->channel, "release_id", release_id, "status",
                           st->status, "ts", (json_int_t)time(NULL));
    if (ev && st->progress >= 0 && json_object_set_new(ev, "progress", json_integer(st->progress)) != 0) {
        json_decref(ev);
        ev = NULL;
    }
    json_t *doc = ev ? json_pack("{s:[o]}", "events", ev) : NULL;
    if (!doc)
        return -1;
    size_t n = json_dumpb(doc, out, cap, JSON_COMPACT);
    json_decref(doc);
    if (n == 0 || n >= cap)
        return -1;
    out[n] = '\0';
    return (long)n;
}
