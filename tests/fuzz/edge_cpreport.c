/*
 * edge_cpreport.c - fuzz target for the CodePush report_status bodies
 * (edge-check/devstatus.c edge_cp_report_parse, deploy and download) and
 * their re-encoding as our installation event: a body is accepted with every
 * field checked (a deployment key of our form naming a valid channel, a
 * device id, a status mapped to ours) or refused with a reason, and an
 * accepted one always encodes to JSON that parses back to the same fields.
 * The first input byte picks deploy (even) or download (odd).
 */
#include "common/compat.h"

#include <jansson.h>

#include "../../edge-check/edge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        if (cmn_crypto_init())
            abort();
        init = 1;
    }
    if (size == 0)
        return 0;
    int download = data[0] & 1;
    struct edge_cp_report r;
    char msg[256] = "";
    if (edge_cp_report_parse((const char *)data + 1, size - 1, download, &r, msg, sizeof(msg)) != 0) {
        if (!msg[0] || strlen(msg) >= sizeof(msg))
            abort();
        return 0;
    }
    if (!cmn_id_valid(r.app) || !cmn_id_valid(r.platform) || !cmn_id_valid(r.channel) ||
        !edge_valid_device(r.client, strlen(r.client)) || strlen(r.label) > EDGE_CP_LABEL_MAX ||
        strlen(r.app_version) > EDGE_CP_LABEL_MAX)
        abort();
    if (download && (!r.status || strcmp(r.status, "downloading") || r.progress != 100 || !r.label[0]))
        abort();
    if (!download && (r.progress != -1 || (r.status && strcmp(r.status, "applied") && strcmp(r.status, "failed")) ||
                      (!r.status) != (!r.label[0])))
        abort();
    if (!r.status)
        return 0;
    struct edge_install ev = {r.client, r.app, r.platform, r.channel, "rel-1", r.status, r.progress, r.app_version};
    char out[EDGE_RELAY_BODY_MAX];
    long n = edge_install_event(&ev, out, sizeof(out));
    if (n <= 0)
        abort();
    json_t *j = json_loads(out, 0, NULL);
    json_t *e = json_array_get(json_object_get(j, "events"), 0);
    if (!e || strcmp(json_string_value(json_object_get(e, "status")), r.status) != 0 ||
        strcmp(json_string_value(json_object_get(e, "device_id")), r.client) != 0)
        abort();
    json_decref(j);
    return 0;
}
