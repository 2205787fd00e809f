/*
 * edge_devstatus.c - fuzz target for the seed 002 update-status body
 * (edge-check/devstatus.c edge_status_parse) and its re-encoding as our
 * installation event: a body is accepted with every field checked (ids,
 * status mapped to ours, progress 0..100) or refused with a reason, and an
 * accepted one always encodes to JSON that parses back to the same fields.
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
    struct edge_status st;
    char msg[256] = "";
    if (edge_status_parse((const char *)data, size, "esp32_001", &st, msg, sizeof(msg)) != 0) {
        if (!msg[0] || strlen(msg) >= sizeof(msg))
            abort();
        return 0;
    }
    if (!cmn_id_valid(st.firmware_version) || (st.device_model[0] && !cmn_id_valid(st.device_model)) ||
        st.progress < -1 || st.progress > 100 || !st.status ||
        (strcmp(st.status, "downloading") && strcmp(st.status, "applied") && strcmp(st.status, "failed")))
        abort();
    struct edge_model t = {"m", "app", "firmware", "production"};
    char out[EDGE_RELAY_BODY_MAX];
    long n = edge_status_event(&st, "esp32_001", &t, "rel-1", out, sizeof(out));
    if (n <= 0)
        abort();
    json_t *j = json_loads(out, 0, NULL);
    json_t *e = json_array_get(json_object_get(j, "events"), 0);
    if (!e || strcmp(json_string_value(json_object_get(e, "status")), st.status) != 0)
        abort();
    json_decref(j);
    return 0;
}
