/*
 * Fuzz target for session.c's header checks: the session token shape, the
 * CSRF comparison and the Origin check, on arbitrary cookie / header bytes
 * (split at the first two NUL bytes into cookie, origin and host).
 */
#include "common/compat.h"

#include "pub_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 3);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    const char *cookie = buf;
    const char *origin = cookie + strlen(cookie) + 1;
    const char *host = origin <= buf + size ? origin + strlen(origin) + 1 : buf + size + 2;
    if (host > buf + size + 2)
        host = buf + size + 2;
    int valid = pub_session_token_valid(cookie);
    if (valid && (strlen(cookie) != 47 || strncmp(cookie, "hps_", 4) != 0))
        abort();
    if (pub_csrf_equal(cookie, origin) != (*cookie && !strcmp(cookie, origin)))
        abort();
    int same = pub_origin_ok(origin, host, NULL);
    if (same && strncmp(origin, "http", 4) != 0)
        abort();
    if (pub_origin_ok(origin, host, "https://ota.example.com") != !strcmp(origin, "https://ota.example.com"))
        abort();
    free(buf);
    return 0;
}
