/*
 * Fuzz target for publisher/jsonreq.c, the admin/telemetry JSON request
 * decoders: the first byte picks release metadata, an installation batch, a
 * device batch or a plain object body with the typed getters.
 */
#include "common/compat.h"

#include "pub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0: {
        struct pub_relmeta m;
        if (pub_relmeta_parse(p, n, &m, NULL) == CMN_OK) {
            if (!pub_valid_id(m.app) || !pub_valid_id(m.version) || strlen(m.sha256) != 64 || m.rollout_bp < 0 ||
                m.rollout_bp > 10000 || m.size < 0 || (m.codepush_hash && strlen(m.codepush_hash) != 64))
                abort();
            /* SPEC section 14: both or neither, the digest as 64 hex */
            if (!m.content_sha256 != !m.content_sig || (m.content_sha256 && strlen(m.content_sha256) != 64))
                abort();
            pub_relmeta_release(&m);
        }
        break;
    }
    case 1: {
        struct pub_batch b;
        if (pub_batch_parse_installs(p, n, 1u << 20, 1000, &b, NULL) == CMN_OK) {
            for (size_t i = 0; i < b.n; i++)
                if (!b.ev[i].device_id || !pub_valid_id(b.ev[i].release_id) || b.ev[i].progress > 100)
                    abort();
            pub_batch_release(&b);
        }
        break;
    }
    case 2: {
        struct pub_batch b;
        if (pub_batch_parse_devices(p, n, 1u << 20, 1000, &b, NULL) == CMN_OK) {
            for (size_t i = 0; i < b.n; i++)
                if (!b.dev[i].device_id || !pub_valid_id(b.dev[i].app))
                    abort();
            pub_batch_release(&b);
        }
        break;
    }
    default: {
        json_t *o = NULL;
        if (pub_json_body(p, n, 1u << 20, &o, NULL) == CMN_OK) {
            const char *s;
            long long v = 0;
            int bo = 0;
            static const char *const allowed[] = {"name", "role", "percent", "rollout_bp", NULL};
            int errs = 0;
            errs += pub_jkeys(o, allowed, NULL) != CMN_OK;
            errs += pub_jstr(o, "name", 1, 64, &s, NULL) != CMN_OK;
            errs += pub_jint(o, "percent", 0, 0, 100, &v, NULL) != CMN_OK;
            errs += pub_jbool(o, "mandatory", 0, &bo, NULL) != CMN_OK;
            if (v < 0 || v > 100 || errs > 4)
                abort();
            json_decref(o);
        }
        break;
    }
    }
    return 0;
}
