/*
 * Fuzz target for telemetry tickets (ticket.h). Input: a ticket's bytes.
 * Checks: no crash or overread; a ticket that parses has fields that obey
 * the rules (identifiers, device length) and verifies only when its
 * signature is by the fixed trusted key (so never, for fuzzed input, unless
 * the corpus ticket is replayed intact); verify never answers OK for another
 * device than the one the ticket names.
 */
#include "common/compat.h"

#include "common/ticket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cmn_key pub;
    static int init;
    if (!init) {
        /* the corpus tickets are signed by this key (made once by a throwaway program; its secret half is gone) */
        if (cmn_crypto_init() || cmn_key_from_public_b64("eiQxXHuDeYWCFYAqljrYf1EtuNnemjUKMQuIFclnP5w=", &pub, NULL))
            abort();
        init = 1;
    }
    struct cmn_ticket t;
    enum cmn_err rc = cmn_ticket_parse((const char *)data, size, &t);
    if (rc == CMN_OK) {
        if (!cmn_id_valid(t.app) || !cmn_id_valid(t.platform) || !cmn_id_valid(t.channel) || !cmn_id_valid(t.release) ||
            !t.device[0] || strlen(t.device) > CMN_TICKET_DEVICE_MAX || t.body_len > CMN_TICKET_BODY_MAX ||
            strlen(t.keyid) != CMN_KEYID_HEX - 1)
            abort();
        struct cmn_ticket_claim mine = {t.app, t.release, t.device};
        struct cmn_ticket_claim other = {t.app, t.release, "another-device"};
        if (cmn_ticket_verify((const char *)data, size, &pub, 1, &mine, t.expires) == CMN_OK)
            abort(); /* never valid at (or after) its expiry */
        (void)!cmn_ticket_verify((const char *)data, size, &pub, 1, &mine, 0);
        if (strcmp(t.device, "another-device") &&
            cmn_ticket_verify((const char *)data, size, &pub, 1, &other, 0) == CMN_OK)
            abort();
    } else if (rc != CMN_E_PARSE && rc != CMN_E_TOOBIG) {
        abort();
    }
    return 0;
}
