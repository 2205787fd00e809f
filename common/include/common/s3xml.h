/*
 * s3xml.h - a small, allocation-bounded parser for the XML replies of the S3
 * API that the storage backend reads: ListBucketResult (ListObjectsV2),
 * Error, InitiateMultipartUploadResult and CompleteMultipartUploadResult.
 *
 * It is not a general XML parser: it accepts well-formed documents made of
 * elements, attributes, character data, the five predefined entities,
 * numeric character references, CDATA, comments and processing instructions,
 * and refuses DOCTYPE (so no entity expansion), nesting deeper than
 * CMN_S3XML_MAX_DEPTH, text nodes longer than CMN_S3XML_MAX_TEXT, more than
 * CMN_S3XML_MAX_ENTRIES list entries, and anything truncated or malformed
 * (CMN_E_PARSE / CMN_E_TOOBIG). Inputs need not be NUL-terminated.
 */
#ifndef COMMON_S3XML_H
#define COMMON_S3XML_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define CMN_S3XML_MAX_DEPTH 16
#define CMN_S3XML_MAX_TEXT 4096
#define CMN_S3XML_MAX_ENTRIES 10000
#define CMN_S3XML_ETAG_MAX 130
#define CMN_S3XML_CODE_MAX 64
#define CMN_S3XML_MSG_MAX 256

struct cmn_s3_entry {
    char *key;                     /* heap, decoded */
    char etag[CMN_S3XML_ETAG_MAX]; /* quotes stripped */
    uint64_t size;
};

struct cmn_s3_list {
    struct cmn_s3_entry *items; /* in document order */
    size_t n;
    int truncated;    /* IsTruncated was "true" */
    char *next_token; /* NextContinuationToken (heap) or NULL */
};

/* Parse a ListBucketResult. `out` is filled only on success; release it with cmn_s3_list_release. */
enum cmn_err cmn_s3xml_parse_list(const char *xml, size_t n, struct cmn_s3_list *out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
void cmn_s3_list_release(struct cmn_s3_list *l);

struct cmn_s3_error {
    char code[CMN_S3XML_CODE_MAX];   /* e.g. "SignatureDoesNotMatch" (truncated to fit) */
    char message[CMN_S3XML_MSG_MAX]; /* may be empty (truncated to fit) */
};

/* Parse an <Error> document; CMN_E_PARSE when it is not one. */
enum cmn_err cmn_s3xml_parse_error(const char *xml, size_t n, struct cmn_s3_error *out)
    __attribute__((warn_unused_result));

/* UploadId of an InitiateMultipartUploadResult, into out (cap bytes). CMN_E_TOOBIG if it does not fit. */
enum cmn_err cmn_s3xml_parse_upload_id(const char *xml, size_t n, char *out, size_t cap, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/*
 * ETag of a CompleteMultipartUploadResult (quotes stripped; radosgw sends an
 * empty <ETag/>, which gives ""; a missing ETag is CMN_E_PARSE). S3 may answer 200
 * with an <Error> body here: that gives CMN_E_HTTP with the code and message
 * in the detail.
 */
enum cmn_err cmn_s3xml_parse_complete(const char *xml, size_t n, char etag[CMN_S3XML_ETAG_MAX], struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

#endif
