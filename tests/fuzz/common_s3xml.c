/*
 * Fuzz target for the S3 XML reply readers (s3xml.h). The same bytes go to
 * all four readers. Checks: no crash, overread or leak; a list that parses
 * has keys that are non-empty C strings of sane length, at most
 * CMN_S3XML_MAX_ENTRIES entries, unquoted ETags, and a token when truncated.
 */
#include "common/compat.h"

#include "common/s3xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    struct cmn_errbuf eb = {{0}};
    struct cmn_s3_list l;
    if (cmn_s3xml_parse_list(xml, size, &l, &eb) == CMN_OK) {
        if (l.n > CMN_S3XML_MAX_ENTRIES || (l.truncated && (!l.next_token || !l.next_token[0])))
            abort();
        for (size_t i = 0; i < l.n; i++) {
            size_t kn = strlen(l.items[i].key);
            if (kn == 0 || kn > CMN_S3XML_MAX_TEXT || strlen(l.items[i].etag) >= CMN_S3XML_ETAG_MAX)
                abort();
            size_t en = strlen(l.items[i].etag);
            if (en >= 2 && l.items[i].etag[0] == '"' && l.items[i].etag[en - 1] == '"')
                abort();
        }
        cmn_s3_list_release(&l);
    }
    struct cmn_s3_error e;
    if (cmn_s3xml_parse_error(xml, size, &e) == CMN_OK &&
        (!e.code[0] || strlen(e.code) >= sizeof(e.code) || strlen(e.message) >= sizeof(e.message)))
        abort();
    char id[512];
    if (cmn_s3xml_parse_upload_id(xml, size, id, sizeof(id), NULL) == CMN_OK && (!id[0] || strlen(id) >= sizeof(id)))
        abort();
    char etag[CMN_S3XML_ETAG_MAX];
    if (cmn_s3xml_parse_complete(xml, size, etag, NULL) == CMN_OK && strlen(etag) >= sizeof(etag))
        abort();
    return 0;
}
