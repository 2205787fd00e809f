/*
 * Unit tests for common/s3xml.c: the S3 reply readers on real-looking
 * documents (radosgw and AWS shapes), and on truncated, malformed and hostile
 * ones. Every input is parsed from right before a guard page, so a read past
 * the end faults at once.
 */
#include "common/compat.h"

#include "../../lib/test.h"
#include "common/buf.h"
#include "common/s3xml.h"

static enum cmn_err parse_list(const char *xml, struct cmn_s3_list *l)
{
    size_t n = strlen(xml);
    char *g = test_guard_alloc(xml, n);
    enum cmn_err rc = cmn_s3xml_parse_list(g, n, l, NULL);
    test_guard_free(g);
    return rc;
}

static const char list_page[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>hp-test</Name><Prefix>p/</Prefix><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
    "<Contents><Key>p/a&amp;b.json</Key><LastModified>2026-11-23T10:00:00.000Z</LastModified>"
    "<ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag><Size>1</Size>"
    "<Owner><ID>hptest</ID><DisplayName>hptest</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>"
    "<!-- a comment -->"
    "<Contents>\n  <Key><![CDATA[p/<c>.json]]></Key>\n  <ETag>\"92eb5ffee6ae2fec3ad71c777531578f-3\"</ETag>\n"
    "  <Size>20012345</Size>\n</Contents>"
    "<KeyCount>2</KeyCount><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "</ListBucketResult>";

int main(void)
{
    struct cmn_s3_list l;
    struct cmn_errbuf eb = {{0}};

    /* A real page. */
    memset(&l, 0, sizeof(l));
    is_int(parse_list(list_page, &l), CMN_OK, "list page parses");
    is_int(l.n, 2, "two entries");
    if (l.n == 2) {
        is_str(l.items[0].key, "p/a&b.json", "entity decoded in Key");
        is_str(l.items[0].etag, "0cc175b9c0f1b6a831c399e269772661", "quotes stripped from ETag");
        is_int(l.items[0].size, 1, "size");
        is_str(l.items[1].key, "p/<c>.json", "CDATA Key");
        is_str(l.items[1].etag, "92eb5ffee6ae2fec3ad71c777531578f-3", "multipart ETag");
        is_int(l.items[1].size, 20012345, "big size");
    }
    ok(l.truncated, "IsTruncated");
    is_str(l.next_token ? l.next_token : "", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", "continuation token");
    cmn_s3_list_release(&l);

    /* Last page, empty page, self-closing tags, numeric references. */
    memset(&l, 0, sizeof(l));
    is_int(parse_list("<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>x&#47;&#x79;</Key>"
                      "<ETag/><Size>0</Size></Contents></ListBucketResult>",
                      &l),
           CMN_OK, "last page parses");
    ok(l.n == 1 && strcmp(l.items[0].key, "x/y") == 0 && !l.truncated && !l.next_token, "numeric refs, no token");
    cmn_s3_list_release(&l);
    is_int(parse_list("<ListBucketResult/>", &l), CMN_OK, "empty self-closing root");
    ok(l.n == 0, "no entries");
    cmn_s3_list_release(&l);
    is_int(
        parse_list("\xEF\xBB\xBF<?xml version=\"1.0\"?><ListBucketResult> <KeyCount>0</KeyCount> </ListBucketResult>\n",
                   &l),
        CMN_OK, "BOM, declaration, whitespace");
    cmn_s3_list_release(&l);
    is_int(parse_list("<ListBucketResult><Contents><Key>\xC3\xA9/\xE2\x82\xAC</Key></Contents></ListBucketResult>", &l),
           CMN_OK, "UTF-8 key");
    ok(l.n == 1 && strcmp(l.items[0].key, "\xC3\xA9/\xE2\x82\xAC") == 0, "UTF-8 key kept");
    cmn_s3_list_release(&l);

    /* Bad documents: all refused, none leak (ASan checks). */
    static const struct {
        const char *xml;
        enum cmn_err want;
        const char *what;
    } bad[] = {
        {"", CMN_E_PARSE, "empty input"},
        {"   ", CMN_E_PARSE, "only whitespace"},
        {"garbage", CMN_E_PARSE, "text without a root"},
        {"<ListBucketResult><Contents><Key>a</Key>", CMN_E_PARSE, "truncated after an entry"},
        {"<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult", CMN_E_PARSE, "truncated end tag"},
        {"<ListBucketResult><Contents><Key>a</Contents></ListBucketResult>", CMN_E_PARSE, "mismatched end tag"},
        {"<ListBucketResult></ListBucketResult><ListBucketResult/>", CMN_E_PARSE, "second root"},
        {"<ListBucketResult></ListBucketResult>junk", CMN_E_PARSE, "trailing text"},
        {"<Error><Code>x</Code></Error>", CMN_E_PARSE, "wrong root for a list"},
        {"<!DOCTYPE x [<!ENTITY a \"b\">]><ListBucketResult/>", CMN_E_PARSE, "DOCTYPE refused"},
        {"<ListBucketResult><Contents><Key>&bogus;</Key></Contents></ListBucketResult>", CMN_E_PARSE, "unknown entity"},
        {"<ListBucketResult><Contents><Key>&#0;</Key></Contents></ListBucketResult>", CMN_E_PARSE, "NUL reference"},
        {"<ListBucketResult><Contents><Key>&#xD800;</Key></Contents></ListBucketResult>", CMN_E_PARSE, "surrogate"},
        {"<ListBucketResult><Contents><Key>&#x110000;</Key></Contents></ListBucketResult>", CMN_E_PARSE,
         "reference out of range"},
        {"<ListBucketResult><Contents><Key>&amp</Key></Contents></ListBucketResult>", CMN_E_PARSE,
         "unterminated entity"},
        {"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", CMN_E_PARSE, "entry without Key"},
        {"<ListBucketResult><Contents><Key>a</Key><Key>b</Key></Contents></ListBucketResult>", CMN_E_PARSE,
         "duplicate Key"},
        {"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>", CMN_E_PARSE,
         "negative size"},
        {"<ListBucketResult><Contents><Key>a</Key><Size>99999999999999999999</Size></Contents></ListBucketResult>",
         CMN_E_PARSE, "size overflow"},
        {"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", CMN_E_PARSE,
         "truncated without a token"},
        {"<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>", CMN_E_PARSE, "bad boolean"},
        {"<ListBucketResult a=b></ListBucketResult>", CMN_E_PARSE, "unquoted attribute"},
        {"<ListBucketResult a=\"b></ListBucketResult>", CMN_E_PARSE, "unterminated attribute"},
        {"<ListBucketResult><!-- never closed", CMN_E_PARSE, "unterminated comment"},
        {"<ListBucketResult><![CDATA[abc</ListBucketResult>", CMN_E_PARSE, "unterminated CDATA"},
        {"<1ListBucketResult/>", CMN_E_PARSE, "bad element name"},
        {"<ListBucketResult>\0</ListBucketResult>", CMN_E_PARSE, "NUL byte (input cut at it)"},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
        memset(&l, 0, sizeof(l));
        enum cmn_err rc = parse_list(bad[i].xml, &l);
        is_int(rc, bad[i].want, "refused: %s", bad[i].what);
        ok(l.items == NULL && l.n == 0, "output untouched: %s", bad[i].what);
        cmn_s3_list_release(&l);
    }
    /* An embedded NUL byte (length-delimited input). */
    {
        static const char nul[] = "<ListBucketResult><Contents><Key>a\0b</Key></Contents></ListBucketResult>";
        char *g = test_guard_alloc(nul, sizeof(nul) - 1);
        is_int(cmn_s3xml_parse_list(g, sizeof(nul) - 1, &l, NULL), CMN_E_PARSE, "embedded NUL byte refused");
        test_guard_free(g);
    }
    /* Every prefix of a valid page is refused (truncation anywhere). */
    {
        size_t n = strlen(list_page);
        int all = 1;
        for (size_t cut = 0; cut < n; cut++) {
            char *g = test_guard_alloc(list_page, cut);
            memset(&l, 0, sizeof(l));
            if (cmn_s3xml_parse_list(g, cut, &l, NULL) == CMN_OK) {
                all = 0;
                diag("prefix of %zu bytes accepted", cut);
                cmn_s3_list_release(&l);
            }
            test_guard_free(g);
        }
        ok(all, "every truncation of a page is refused");
    }

    /* Limits. */
    {
        struct cmn_buf b;
        cmn_buf_init(&b, 64 << 20);
        int okb = cmn_buf_addstr(&b, "<ListBucketResult>") == CMN_OK;
        for (int i = 0; i < 40 && okb; i++)
            okb = cmn_buf_addstr(&b, "<a>") == CMN_OK;
        for (int i = 0; i < 40 && okb; i++)
            okb = cmn_buf_addstr(&b, "</a>") == CMN_OK;
        okb = okb && cmn_buf_addstr(&b, "</ListBucketResult>") == CMN_OK;
        memset(&eb, 0, sizeof(eb));
        is_int(cmn_s3xml_parse_list(b.ptr, b.len, &l, &eb), CMN_E_TOOBIG, "deep nesting refused: %s", eb.msg);
        cmn_buf_reset(&b);
        okb = cmn_buf_addstr(&b, "<ListBucketResult><Contents><Key>") == CMN_OK;
        for (int i = 0; i < CMN_S3XML_MAX_TEXT + 1 && okb; i++)
            okb = cmn_buf_add(&b, "k", 1) == CMN_OK;
        okb = okb && cmn_buf_addstr(&b, "</Key></Contents></ListBucketResult>") == CMN_OK;
        is_int(cmn_s3xml_parse_list(b.ptr, b.len, &l, NULL), CMN_E_TOOBIG, "over-long text refused");
        cmn_buf_reset(&b);
        okb = cmn_buf_addstr(&b, "<ListBucketResult>") == CMN_OK;
        for (int i = 0; i < CMN_S3XML_MAX_ENTRIES + 1 && okb; i++)
            okb = cmn_buf_addf(&b, "<Contents><Key>k%d</Key><Size>1</Size></Contents>", i) == CMN_OK;
        okb = okb && cmn_buf_addstr(&b, "</ListBucketResult>") == CMN_OK;
        ok(okb, "big documents built");
        is_int(cmn_s3xml_parse_list(b.ptr, b.len, &l, NULL), CMN_E_TOOBIG, "too many entries refused");
        cmn_buf_release(&b);
    }

    /* Error documents. */
    struct cmn_s3_error e;
    static const char err403[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SignatureDoesNotMatch</Code>"
        "<Message>The request signature we calculated does not match</Message><BucketName>hp-test</BucketName>"
        "<RequestId>tx0000</RequestId><HostId>x</HostId></Error>";
    is_int(cmn_s3xml_parse_error(err403, strlen(err403), &e), CMN_OK, "error document parses");
    is_str(e.code, "SignatureDoesNotMatch", "error code");
    is_str(e.message, "The request signature we calculated does not match", "error message");
    is_int(cmn_s3xml_parse_error("<Error><Code>NoSuchKey</Code></Error>",
                                 strlen("<Error><Code>NoSuchKey</Code></Error>"), &e),
           CMN_OK, "code only");
    is_str(e.message, "", "empty message");
    is_int(
        cmn_s3xml_parse_error("<Error><Message>x</Message></Error>", strlen("<Error><Message>x</Message></Error>"), &e),
        CMN_E_PARSE, "no code: refused");
    is_int(cmn_s3xml_parse_error("<html>503</html>", strlen("<html>503</html>"), &e), CMN_E_PARSE,
           "not an Error document");
    is_int(cmn_s3xml_parse_error("<Error><Code>x", strlen("<Error><Code>x"), &e), CMN_E_PARSE, "truncated error");

    /* Multipart replies. */
    char id[256];
    static const char init[] =
        "<?xml version=\"1.0\"?><InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Bucket>hp-test</Bucket><Key>big.zip</Key><UploadId>2~abc-DEF_123</UploadId></InitiateMultipartUploadResult>";
    is_int(cmn_s3xml_parse_upload_id(init, strlen(init), id, sizeof(id), NULL), CMN_OK, "upload id parses");
    is_str(id, "2~abc-DEF_123", "upload id");
    is_int(cmn_s3xml_parse_upload_id(init, strlen(init), id, 5, NULL), CMN_E_TOOBIG, "upload id longer than the cap");
    is_int(cmn_s3xml_parse_upload_id("<InitiateMultipartUploadResult/>", strlen("<InitiateMultipartUploadResult/>"), id,
                                     sizeof(id), NULL),
           CMN_E_PARSE, "no upload id");
    char etag[CMN_S3XML_ETAG_MAX];
    static const char done[] = "<CompleteMultipartUploadResult><Location>x</Location><ETag>&quot;abc-3&quot;</ETag>"
                               "</CompleteMultipartUploadResult>";
    is_int(cmn_s3xml_parse_complete(done, strlen(done), etag, NULL), CMN_OK, "complete parses");
    is_str(etag, "abc-3", "complete etag");
    static const char done_rgw[] = "<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>";
    is_int(cmn_s3xml_parse_complete(done_rgw, strlen(done_rgw), etag, NULL), CMN_OK, "radosgw's empty ETag parses");
    is_str(etag, "", "empty etag");
    static const char done_err[] = "<Error><Code>InternalError</Code><Message>We encountered an internal error"
                                   "</Message></Error>";
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_s3xml_parse_complete(done_err, strlen(done_err), etag, &eb), CMN_E_HTTP,
           "a 200 with an Error body is an error");
    ok(strstr(eb.msg, "InternalError") != NULL, "detail carries the code: %s", eb.msg);
    is_int(cmn_s3xml_parse_complete("<CompleteMultipartUploadResult/>", strlen("<CompleteMultipartUploadResult/>"),
                                    etag, NULL),
           CMN_E_PARSE, "no ETag at all");

    return done_testing();
}
