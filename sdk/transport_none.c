#include "common/compat.h"

/*
 * transport_none.c - libhotpatch-core's stand-in for transport_curl.c: no
 * default transport, no libcurl. The host plugs in its HTTP stack with
 * hp_set_transport() (Android HttpURLConnection, iOS NSURLSession, a test's
 * socket client); hp_open() refuses to start without one.
 */

#include "hp_int.h"

enum cmn_err hp__http_global_init(void)
{
    return CMN_OK;
}

int hp_has_default_transport(void)
{
    return 0;
}

void hp__transport_default(struct hp_client *c, hp_transport *out)
{
    (void)c;
    memset(out, 0, sizeof *out);
}
