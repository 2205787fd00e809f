/*
 * storage_role_test - s3:// storage with no static keys takes the task-role
 * credentials from the container endpoint (a fake: tests/lib/fake_aws_metadata.py,
 * the real one exists only inside AWS) and talks to the real radosgw with
 * them: the signature radosgw checks is made with the fetched secret, so a
 * wrong secret handed out by the endpoint is a 403.
 */
#include "../../../common/aws_creds.c"

#include "common/storage.h"
#include "../../lib/test.h"
#include "../../lib/fake_aws.h"

static pid_t fake_pid = -1;

/* Put then get one object with role credentials served with this secret. */
static enum cmn_err round_trip(const char *secret, char *err, size_t errcap)
{
    char url[1024], furl[128], key[64];
    char portfile[600];
    snprintf(portfile, sizeof(portfile), "%s/fake.port", test_tmpdir());
    int port = fake_aws_start(portfile, getenv("HP_TEST_S3_ACCESS_KEY"), secret, NULL, &fake_pid);
    if (port < 0)
        return CMN_E_IO;
    snprintf(furl, sizeof(furl), "http://127.0.0.1:%d/creds", port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", furl, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "test-auth-token", 1);
    cmn_aws_creds_clear(&cache); /* a new "task": no cached credentials */
    snprintf(url, sizeof(url), "s3://%s/roletest-%d", getenv("HP_TEST_S3_BUCKET"), (int)getpid());
    struct cmn_storage_opts o = {.endpoint = getenv("HP_TEST_S3_ENDPOINT"), .region = getenv("HP_TEST_S3_REGION")};
    struct cmn_storage *st = NULL;
    struct cmn_errbuf eb = {{0}};
    struct cmn_buf got;
    cmn_buf_init(&got, 1024);
    enum cmn_err rc = cmn_storage_open(url, &o, &st, &eb);
    snprintf(key, sizeof(key), "obj-%s", secret[0] == 'x' ? "bad" : "good");
    if (!rc)
        rc = cmn_storage_put(st, key, "role credentials", 16, NULL, NULL, &eb);
    if (!rc)
        rc = cmn_storage_get(st, key, NULL, &got, NULL, &eb);
    if (!rc && (got.len != 16 || memcmp(got.ptr, "role credentials", 16) != 0))
        rc = CMN_E_HASH;
    if (!rc)
        rc = cmn_storage_delete(st, key, &eb);
    snprintf(err, errcap, "%s", cmn_errmsg(&eb, rc));
    cmn_buf_release(&got);
    cmn_storage_free(st);
    fake_aws_stop(&fake_pid);
    return rc;
}

int main(void)
{
    if (!getenv("HP_TEST_S3_ENDPOINT") || !getenv("HP_TEST_S3_SECRET_KEY")) {
        test_skip(1, "needs radosgw (run through make test)");
        return done_testing();
    }
    if (cmn_crypto_init())
        return 1;
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    char err[512];
    enum cmn_err rc = round_trip(getenv("HP_TEST_S3_SECRET_KEY"), err, sizeof(err));
    is_int(rc, CMN_OK, "put/get/delete on radosgw with task-role credentials (%s)", err);
    rc = round_trip("xx-wrong-secret-from-the-endpoint", err, sizeof(err));
    is_int(rc, CMN_E_DENIED, "a wrong role secret is refused by radosgw (%s)", err);
    ok(strstr(err, "SignatureDoesNotMatch") != NULL, "the error names the S3 code");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    struct cmn_storage *st = NULL;
    struct cmn_errbuf eb = {{0}};
    cmn_aws_creds_clear(&cache);
    rc = cmn_storage_open("s3://bucket/p", NULL, &st, &eb);
    is_int(rc, CMN_E_INVAL, "no keys and no role: refused at open");
    ok(strstr(eb.msg, "no s3 credentials") != NULL, "with a message that says what to set (%s)", eb.msg);
    cmn_storage_free(st);
    return done_testing();
}
