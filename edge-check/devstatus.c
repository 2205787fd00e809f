/*
 * devstatus.c - seed 002's device update-status report (POST
 * /api/device/<id>/update-status) decoded into one of our installation events
 * and encoded as the publisher's telemetry batch, so an ESP device's reports
 * count in the same per-release counters and auto-halt as our SDK's. The
 * body is untrusted: a JSON object whose known fields are type- and
 * range-checked; unknown fields are ignored, as the seed's service did.
 *
 * The same for the CodePush acquisition SDK's two reports (POST
 * /v0.1/public/codepush/report_status/deploy and .../download, codepush.c):
 * DeploymentSucceeded / DeploymentFailed become applied / failed, a finished
 * download becomes a download at 100% (we have no "downloaded" status).
 */
#include "common/compat.h"

#include <jansson.h>

#include "common/codepush.h"
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

long edge_install_event(const struct edge_install *ev, char *out, size_t cap)
{
    uint8_t rnd[16];
    char eid[33];
    cmn_random(rnd, sizeof(rnd));
    cmn_hex_encode(rnd, sizeof(rnd), eid);
    json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "event_id", eid, "device_id", ev->device_id, "app",
                          ev->app, "platform", ev->platform, "channel", ev->channel, "release_id", ev->release_id,
                          "status", ev->status, "ts", (json_int_t)time(NULL));
    if (e && ev->progress >= 0 && json_object_set_new(e, "progress", json_integer(ev->progress)) != 0) {
        json_decref(e);
        e = NULL;
    }
    if (e && ev->binary_version && ev->binary_version[0] &&
        json_object_set_new(e, "binary_version", json_string(ev->binary_version)) != 0) {
        json_decref(e);
        e = NULL;
    }
    json_t *doc = e ? json_pack("{s:[o]}", "events", e) : NULL;
    if (!doc)
        return -1;
    size_t n = json_dumpb(doc, out, cap, JSON_COMPACT);
    json_decref(doc);
    if (n == 0 || n >= cap)
        return -1;
    out[n] = '\0';
    return (long)n;
}

long edge_status_event(const struct edge_status *st, const char *device_id, const struct edge_model *t,
                       const char *release_id, char *out, size_t cap)
{
    struct edge_install ev = {device_id, t->app, t->platform, t->channel, release_id, st->status, st->progress, NULL};
    return edge_install_event(&ev, out, cap);
}

/* ---- CodePush report_status/deploy and report_status/download ---- */

/* A string field of at most max bytes with no control character; absent (or null) leaves dst empty. */
static int text_field(json_t *o, const char *key, size_t max, char *dst, char *msg, size_t cap)
{
    json_t *v = json_object_get(o, key);
    dst[0] = '\0';
    if (!v || json_is_null(v))
        return 0;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t n = s ? json_string_length(v) : 0;
    int bad = !s || n == 0 || n > max;
    for (size_t i = 0; i < n && !bad; i++)
        bad = (unsigned char)s[i] < 0x20 || s[i] == 0x7f;
    if (bad) {
        snprintf(msg, cap, "field '%s' must be a string of 1..%zu printable bytes", key, max);
        return -1;
    }
    memcpy(dst, s, n + 1);
    return 0;
}

int edge_cp_report_parse(const char *body, size_t n, int download, struct edge_cp_report *out, char *msg, size_t cap)
{
    json_error_t je;
    char prev[EDGE_CP_PREV_MAX + 1];
    int rc = -1;
    memset(out, 0, sizeof(*out));
    out->progress = -1;
    if (!body || n == 0)
        return fail(msg, cap, "empty body: want a JSON object with deployment_key, client_unique_id and label");
    json_t *o = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        fail(msg, cap, o ? "body must be a JSON object" : "body is not valid JSON");
        goto out;
    }
    if (text_field(o, "deployment_key", CMN_CODEPUSH_KEY_MAX, out->key, msg, cap) ||
        text_field(o, "client_unique_id", EDGE_DEVICE_MAX, out->client, msg, cap) ||
        text_field(o, "label", EDGE_CP_LABEL_MAX, out->label, msg, cap) ||
        text_field(o, "app_version", EDGE_CP_LABEL_MAX, out->app_version, msg, cap) ||
        /* checked, never used: we keep no per-device "active release" to move the device off */
        text_field(o, "previous_deployment_key", EDGE_CP_PREV_MAX, prev, msg, cap) ||
        text_field(o, "previous_label_or_app_version", EDGE_CP_PREV_MAX, prev, msg, cap))
        goto out;
    if (!out->key[0]) {
        fail(msg, cap, "missing field 'deployment_key'");
        goto out;
    }
    if (cmn_codepush_key_parse(out->key, strlen(out->key), out->app, out->platform, out->channel) != 0) {
        fail(msg, cap, "field 'deployment_key' is not a HotPatch deployment key");
        goto out;
    }
    if (!out->client[0]) {
        fail(msg, cap, "missing field 'client_unique_id' (a report names its device)");
        goto out;
    }
    if (!edge_valid_device(out->client, strlen(out->client))) {
        fail(msg, cap, "field 'client_unique_id' must be 1..128 printable characters");
        goto out;
    }
    json_t *s = json_object_get(o, "status");
    const char *sv = json_is_string(s) ? json_string_value(s) : NULL;
    if (download) {
        if (!out->label[0]) {
            fail(msg, cap, "missing field 'label'");
            goto out;
        }
        if (s && !json_is_null(s)) {
            fail(msg, cap, "a download report has no field 'status'");
            goto out;
        }
        /* a finished download: the nearest of our statuses is a download at 100% */
        out->status = "downloading";
        out->progress = 100;
    } else if (!out->label[0]) {
        /* the SDK reports the binary (no package) without a status: nothing about a release to record */
        if (s && !json_is_null(s)) {
            fail(msg, cap, "field 'status' needs field 'label' (the package it is about)");
            goto out;
        }
        out->status = NULL;
    } else if (sv && strcmp(sv, "DeploymentSucceeded") == 0) {
        out->status = "applied";
    } else if (sv && strcmp(sv, "DeploymentFailed") == 0) {
        /* the client rolled back an update that never became ready: it never reported it applied, so as
         * our rolled_back it would not count as an install at all; as failed it is a failed install */
        out->status = "failed";
    } else {
        fail(msg, cap, "field 'status' must be \"DeploymentSucceeded\" or \"DeploymentFailed\"");
        goto out;
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}
