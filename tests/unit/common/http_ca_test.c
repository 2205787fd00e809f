/*
 * http_ca_test - cmn_http honours CURL_CA_BUNDLE / SSL_CERT_FILE (libcurl
 * itself ignores them; the Lambda package relies on it). A real TLS server
 * (openssl s_server with a throwaway self-signed certificate for 127.0.0.1)
 * is trusted only when CURL_CA_BUNDLE names its certificate.
 */
#include "common/compat.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/http.h"
#include "../../lib/test.h"

static long get_status(const char *url, enum cmn_err *rc_out)
{
    struct cmn_http *h = NULL;
    struct cmn_errbuf eb = {{0}};
    if (cmn_http_new(&h, &eb) != CMN_OK)
        return -1;
    struct cmn_buf body;
    cmn_buf_init(&body, 1 << 16);
    struct cmn_http_req rq = {.url = url, .body_out = &body, .timeout_ms = 5000};
    struct cmn_http_resp resp;
    *rc_out = cmn_http_perform(h, &rq, &resp, &eb);
    long st = resp.status;
    cmn_http_resp_release(&resp);
    cmn_buf_release(&body);
    cmn_http_free(h);
    return st;
}

int main(void)
{
    if (system("command -v openssl >/dev/null 2>&1") != 0) {
        test_skip(3, "openssl(1) is not installed");
        return done_testing();
    }
    const char *dir = test_tmpdir();
    char cmd[2048], cert[512], url[128];
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(
        cmd, sizeof(cmd),
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
        "-keyout %s/key.pem -out %s >/dev/null 2>&1",
        dir, cert);
    if (!ok(system(cmd) == 0, "self-signed certificate for 127.0.0.1"))
        return done_testing();

    int port = 0;
    pid_t pid = -1;
    for (int attempt = 0; attempt < 5 && pid < 0; attempt++) {
        port = 20000 + (int)((getpid() * 7 + attempt * 131) % 30000);
        pid = fork();
        if (pid == 0) {
            char p[16], key[512];
            snprintf(p, sizeof(p), "%d", port);
            snprintf(key, sizeof(key), "%s/key.pem", dir);
            freopen("/dev/null", "w", stdout);
            freopen("/dev/null", "w", stderr);
            freopen("/dev/null", "r", stdin);
            execlp("openssl", "openssl", "s_server", "-accept", p, "-cert", cert, "-key", key, "-www", "-quiet",
                   (char *)NULL);
            _exit(127);
        }
        /* Wait until it accepts connections (plain TCP probe through bash). */
        int up = 0;
        for (int i = 0; i < 50 && !up; i++) {
            snprintf(cmd, sizeof(cmd), "bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d' 2>/dev/null", port);
            up = system(cmd) == 0;
            if (!up)
                usleep(100000);
        }
        if (!up) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            pid = -1;
        }
    }
    if (!ok(pid > 0, "openssl s_server listening on 127.0.0.1:%d", port))
        return done_testing();
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);

    enum cmn_err rc;
    unsetenv("SSL_CERT_FILE");
    setenv("CURL_CA_BUNDLE", "/nonexistent/ca.pem", 1);
    long st = get_status(url, &rc);
    ok(rc != CMN_OK && st == 0, "untrusted server refused when CURL_CA_BUNDLE points elsewhere (rc %d)", rc);

    setenv("CURL_CA_BUNDLE", cert, 1);
    st = get_status(url, &rc);
    ok(rc == CMN_OK && st == 200, "trusted through CURL_CA_BUNDLE (status %ld)", st);

    unsetenv("CURL_CA_BUNDLE");
    setenv("SSL_CERT_FILE", cert, 1);
    st = get_status(url, &rc);
    ok(rc == CMN_OK && st == 200, "trusted through SSL_CERT_FILE (status %ld)", st);

    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return done_testing();
}
