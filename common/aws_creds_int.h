/*
 * aws_creds_int.h - temporary AWS credentials from the endpoints AWS gives a
 * workload (private to common/; used by storage_s3.c when no static keys are
 * configured):
 *   ECS / Fargate task role  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 *                            (http://169.254.170.2<uri>), or
 *                            AWS_CONTAINER_CREDENTIALS_FULL_URI (https://, or
 *                            http:// to a loopback / link-local host only) with
 *                            AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]
 *   EC2 instance profile     IMDSv2 at AWS_EC2_METADATA_SERVICE_ENDPOINT (default
 *                            http://169.254.169.254); skipped when
 *                            AWS_EC2_METADATA_DISABLED=true
 * Results are cached per process and refreshed five minutes before they expire.
 */
#ifndef COMMON_AWS_CREDS_INT_H
#define COMMON_AWS_CREDS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct cmn_aws_creds {
    char *access_key;
    char *secret_key; /* wiped on clear */
    char *token;      /* session token, NULL when none; wiped on clear */
    int64_t expires;  /* unix seconds; INT64_MAX when the answer gives none */
};

void cmn_aws_creds_clear(struct cmn_aws_creds *c);

/*
 * Parse an ECS / IMDS credentials document:
 * {"AccessKeyId":..,"SecretAccessKey":..,"Token":..,"Expiration":"2026-11-23T18:00:00Z",...}
 * Other fields are ignored. CMN_E_PARSE when a required field is missing or malformed.
 */
enum cmn_err cmn_aws_creds_parse(const char *p, size_t n, struct cmn_aws_creds *out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/*
 * Credentials from the first provider that applies (container, then EC2), from
 * the process cache while they have more than five minutes left. On success
 * `out` holds copies the caller clears. CMN_E_NOTFOUND when no provider is
 * configured or reachable, CMN_E_DENIED / CMN_E_PARSE on a bad answer.
 */
enum cmn_err cmn_aws_creds_get(int64_t now, struct cmn_aws_creds *out, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

#endif
