/*
 * aws_creds_test - role credentials for S3 (common/aws_creds.c): the document
 * parser, the FULL_URI host rule, the ECS container and EC2 IMDSv2 flows and
 * the process cache, against tests/lib/fake_aws_metadata.py (a fake: the real
 * endpoints exist only inside AWS).
 */
#include "../../../common/aws_creds.c"

#include "../../lib/test.h"
#include "../../lib/fake_aws.h"

static pid_t fake_pid = -1;
static char portfile[600], logfile[700];

static int count_requests(void)
{
    FILE *f = fopen(logfile, "r");
    int n = 0, ch;
    while (f && (ch = fgetc(f)) != EOF)
        n += ch == '\n';
    if (f)
        fclose(f);
    return n;
}

static void reset_cache(void)
{
    cmn_aws_creds_clear(&cache);
}

static void clear_env(void)
{
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    unsetenv("AWS_EC2_METADATA_DISABLED");
}

int main(void)
{
    struct cmn_aws_creds c = {0};
    struct cmn_errbuf eb = {{0}};

    /* parser */
    const char *good = "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"Token\":\"TK\","
                       "\"Expiration\":\"2026-11-23T18:00:00Z\",\"Code\":\"Success\"}";
    is_int(cmn_aws_creds_parse(good, strlen(good), &c, &eb), CMN_OK, "parse a credentials document");
    is_str(c.access_key, "AK", "access key");
    is_str(c.secret_key, "SK", "secret key");
    is_str(c.token, "TK", "session token");
    is_int(c.expires, 1795456800, "Expiration in unix seconds");
    cmn_aws_creds_clear(&c);
    const char *frac =
        "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"Expiration\":\"2026-11-23T18:00:00.123Z\"}";
    is_int(cmn_aws_creds_parse(frac, strlen(frac), &c, NULL), CMN_OK, "fractional seconds, no token");
    ok(c.token == NULL, "no token");
    cmn_aws_creds_clear(&c);
    const char *bad[] = {
        "{\"SecretAccessKey\":\"SK\"}",
        "{\"AccessKeyId\":\"AK\"}",
        "{\"AccessKeyId\":\"A:K\",\"SecretAccessKey\":\"SK\"}",
        "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"S\\nK\"}",
        "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"Expiration\":\"tomorrow\"}",
        "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"Expiration\":\"2026-13-01T00:00:00Z\"}",
        "{\"AccessKeyId\":1,\"SecretAccessKey\":\"SK\"}",
        "[\"AccessKeyId\"]",
        "{\"AccessKeyId\":\"AK\",\"AccessKeyId\":\"AK2\",\"SecretAccessKey\":\"SK\"}",
        "not json",
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++)
        ok(cmn_aws_creds_parse(bad[i], strlen(bad[i]), &c, NULL) != CMN_OK && c.access_key == NULL, "refused: %s",
           bad[i]);

    /* FULL_URI may only be https or a host that cannot be on the network path */
    ok(full_uri_allowed("https://creds.example.com/x"), "https allowed");
    ok(full_uri_allowed("http://127.0.0.1:9000/creds"), "loopback allowed");
    ok(full_uri_allowed("http://169.254.170.23/v1/credentials"), "EKS pod identity address allowed");
    ok(!full_uri_allowed("http://example.com/creds"), "plain http to another host refused");
    ok(!full_uri_allowed("http://127.0.0.1.evil.com/creds"), "look-alike host refused");
    ok(!full_uri_allowed("ftp://127.0.0.1/creds"), "other scheme refused");

    if (system("command -v python3 >/dev/null 2>&1") != 0) {
        test_skip(14, "python3 not installed (needed by the fake metadata endpoint)");
        return done_testing();
    }
    snprintf(portfile, sizeof(portfile), "%s/fake.port", test_tmpdir());
    snprintf(logfile, sizeof(logfile), "%s.log", portfile);
    int port = fake_aws_start(portfile, "AKIDFAKE", "fake/secret+key", NULL, &fake_pid);
    if (!ok(port > 0, "fake AWS metadata endpoint up"))
        return done_testing();
    char url[128];
    clear_env();

    /* container endpoint */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/creds", port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_aws_creds_get((int64_t)time(NULL), &c, &eb), CMN_E_DENIED,
           "container endpoint without the token refused");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "test-auth-token", 1);
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_aws_creds_get((int64_t)time(NULL), &c, &eb), CMN_OK, "container credentials: %s", eb.msg);
    is_str(c.access_key, "AKIDFAKE", "access key from the container endpoint");
    is_str(c.token, "fake-session-token", "session token from the container endpoint");
    cmn_aws_creds_clear(&c);
    int before = count_requests();
    is_int(cmn_aws_creds_get((int64_t)time(NULL), &c, NULL), CMN_OK, "second call");
    is_int(count_requests(), before, "second call served from the cache");
    cmn_aws_creds_clear(&c);
    is_int(cmn_aws_creds_get((int64_t)time(NULL) + 3500, &c, NULL), CMN_OK, "call near expiry");
    is_int(count_requests(), before + 1, "near expiry the credentials are fetched again");
    cmn_aws_creds_clear(&c);
    reset_cache();

    /* EC2 IMDSv2 */
    clear_env();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_aws_creds_get((int64_t)time(NULL), &c, &eb), CMN_OK, "instance role credentials: %s", eb.msg);
    is_str(c.secret_key, "fake/secret+key", "secret from the instance role");
    cmn_aws_creds_clear(&c);
    reset_cache();

    /* disabled / unreachable */
    clear_env();
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    is_int(cmn_aws_creds_get((int64_t)time(NULL), &c, NULL), CMN_E_NOTFOUND, "IMDS disabled, no container: none");
    clear_env();
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds", 1);
    is_int(cmn_aws_creds_get((int64_t)time(NULL), &c, NULL), CMN_E_INVAL, "FULL_URI to a remote http host refused");
    fake_aws_stop(&fake_pid);
    clear_env();
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1); /* nothing listens there any more */
    is_int(cmn_aws_creds_get((int64_t)time(NULL), &c, NULL), CMN_E_NOTFOUND, "unreachable endpoint: not found");
    clear_env();
    return done_testing();
}
