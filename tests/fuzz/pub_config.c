/*
 * Fuzz target for publisher/config.c: the `key = value` config file parser
 * and the start-up check over whatever it produced.
 */
#include "common/compat.h"

#include "pub_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pub_config c;
    pub_config_init(&c);
    if (pub_config_parse(&c, (const char *)data, size, NULL) == CMN_OK) {
        if (pub_config_check(&c, NULL) == CMN_OK && (!c.jwt_secret || strlen(c.jwt_secret) < PUB_JWT_SECRET_MIN))
            abort();
        if (c.max_upload == 0 || c.max_batch < 1 || c.db_pool < 1)
            abort();
    }
    pub_config_release(&c);
    return 0;
}
