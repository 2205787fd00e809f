/*
 * Integration tests for the s3:// storage backend against the real Ceph
 * radosgw started by tests/harness/rgw.sh (real SigV4, conditional PUT,
 * multipart, ranges, ListObjectsV2). The retry case puts a small flaky proxy
 * (python3, embedded below) between the client and radosgw: it answers 503
 * to the first N requests, then forwards bytes unchanged, so the signatures
 * (which cover the Host header, kept as sent) still verify.
 */
#include "common/compat.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../common/storage_int.h"
#include "../../lib/test.h"
#include "common/crypto.h"
#include "common/http.h"
#include "common/storage.h"

static const char *env(const char *n)
{
    const char *v = getenv(n);
    return v && v[0] ? v : NULL;
}

static char url[512];
static struct cmn_storage_opts opts;

static struct cmn_storage *open_store(const struct cmn_storage_opts *o)
{
    struct cmn_storage *st = NULL;
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc = cmn_storage_open(url, o, &st, &eb);
    if (rc) {
        diag("open '%s': %s", url, cmn_errmsg(&eb, rc));
        return NULL;
    }
    return st;
}

struct listed {
    int n;
    int in_order;
    int stop_after;
    char last[CMN_STORAGE_KEY_MAX];
    uint64_t total;
};

static int on_list(void *ctx, const char *key, const char *etag, uint64_t size)
{
    struct listed *l = ctx;
    if (l->n && strcmp(l->last, key) >= 0)
        l->in_order = 0;
    snprintf(l->last, sizeof(l->last), "%s", key);
    l->n++;
    l->total += size;
    if (!etag[0])
        l->in_order = 0;
    return l->stop_after && l->n >= l->stop_after;
}

/* ---- flaky proxy ---- */

static const char proxy_py[] =
    "import socket, sys, threading\n"
    "up_port, nfail, portfile, countfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]\n"
    "srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "srv.bind(('127.0.0.1', 0)); srv.listen(16)\n"
    "n = 0; lock = threading.Lock()\n"
    "def handle(c):\n"
    "    global n\n"
    "    try:\n"
    "        c.settimeout(20); data = b''\n"
    "        while b'\\r\\n\\r\\n' not in data:\n"
    "            d = c.recv(65536)\n"
    "            if not d: return\n"
    "            data += d\n"
    "        head, _, body = data.partition(b'\\r\\n\\r\\n')\n"
    "        lines = head.split(b'\\r\\n'); cl = 0; expect = False; keep = [lines[0]]\n"
    "        for l in lines[1:]:\n"
    "            k, _, v = l.partition(b':'); k = k.strip().lower()\n"
    "            if k == b'content-length': cl = int(v.strip())\n"
    "            if k == b'expect': expect = True; continue\n"
    "            if k == b'connection': continue\n"
    "            keep.append(l)\n"
    "        with lock:\n"
    "            n += 1; mine = n\n"
    "            open(countfile, 'w').write(str(n))\n"
    "        if mine <= nfail:\n"
    "            x = b'<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>flaky proxy</Message></Error>'\n"
    "            c.sendall(b'HTTP/1.1 503 Service Unavailable\\r\\nContent-Type: application/xml\\r\\n'\n"
    "                      b'Connection: close\\r\\nContent-Length: ' + str(len(x)).encode() + b'\\r\\n\\r\\n' + x)\n"
    "            return\n"
    "        if expect and len(body) < cl: c.sendall(b'HTTP/1.1 100 Continue\\r\\n\\r\\n')\n"
    "        while len(body) < cl:\n"
    "            d = c.recv(65536)\n"
    "            if not d: return\n"
    "            body += d\n"
    "        u = socket.create_connection(('127.0.0.1', up_port), timeout=20)\n"
    "        u.sendall(b'\\r\\n'.join(keep) + b'\\r\\nConnection: close\\r\\n\\r\\n' + body)\n"
    "        while True:\n"
    "            d = u.recv(65536)\n"
    "            if not d: break\n"
    "            c.sendall(d)\n"
    "        u.close()\n"
    "    except Exception as e:\n"
    "        sys.stderr.write('proxy: %r\\n' % (e,))\n"
    "    finally:\n"
    "        c.close()\n"
    "open(portfile + '.tmp', 'w').write(str(srv.getsockname()[1]))\n"
    "import os; os.rename(portfile + '.tmp', portfile)\n"
    "while True:\n"
    "    c, _ = srv.accept()\n"
    "    threading.Thread(target=handle, args=(c,), daemon=True).start()\n";

static pid_t proxy_pid = -1;

static int read_int_file(const char *path)
{
    FILE *f = fopen(path, "r");
    int v = -1;
    if (!f)
        return -1;
    if (fscanf(f, "%d", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

/* Start the proxy in front of radosgw; returns its port or -1. */
static int proxy_start(int nfail, const char *countfile)
{
    const char *ep = env("HP_TEST_S3_ENDPOINT");
    const char *colon = ep ? strrchr(ep, ':') : NULL;
    char portfile[512], pyfile[512], up[16], nf[16];
    if (!colon)
        return -1;
    snprintf(up, sizeof(up), "%d", atoi(colon + 1));
    snprintf(nf, sizeof(nf), "%d", nfail);
    snprintf(portfile, sizeof(portfile), "%s/proxy.port", test_tmpdir());
    snprintf(pyfile, sizeof(pyfile), "%s/proxy.py", test_tmpdir());
    unlink(portfile);
    unlink(countfile);
    FILE *f = fopen(pyfile, "w");
    if (!f)
        return -1;
    fputs(proxy_py, f);
    fclose(f);
    proxy_pid = fork();
    if (proxy_pid == 0) {
        execlp("python3", "python3", pyfile, up, nf, portfile, countfile, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        int port = read_int_file(portfile);
        if (port > 0)
            return port;
        usleep(50 * 1000);
    }
    return -1;
}

static void proxy_stop(void)
{
    if (proxy_pid > 0) {
        kill(proxy_pid, SIGTERM);
        waitpid(proxy_pid, NULL, 0);
        proxy_pid = -1;
    }
}

static int write_random_file(const char *path, size_t size, uint8_t digest[CMN_SHA256_BYTES])
{
    FILE *f = fopen(path, "wb");
    char *chunk = malloc(1 << 20);
    struct cmn_sha256 s;
    if (!f || !chunk) {
        if (f)
            fclose(f);
        free(chunk);
        return -1;
    }
    cmn_sha256_init(&s);
    for (size_t done = 0; done < size;) {
        size_t n = size - done > (1 << 20) ? (1 << 20) : size - done;
        cmn_random(chunk, n);
        cmn_sha256_update(&s, chunk, n);
        fwrite(chunk, 1, n, f);
        done += n;
    }
    cmn_sha256_final(&s, digest);
    free(chunk);
    return fclose(f) == 0 ? 0 : -1;
}

static int progress_calls;
static uint64_t progress_last;
static int on_progress(void *ctx, uint64_t done, uint64_t total)
{
    progress_calls++;
    progress_last = done;
    return 0;
}

static int cancel_half(void *ctx, uint64_t done, uint64_t total)
{
    return done > total / 2;
}

/* Count this run's pending multipart uploads (ListMultipartUploads under its prefix), -1 on error. */
static int pending_uploads(void)
{
    struct cmn_http *h = NULL;
    struct cmn_http_req rq;
    struct cmn_http_resp rs;
    struct cmn_buf body, u;
    char sig[128];
    int n = -1;
    memset(&rq, 0, sizeof(rq));
    cmn_buf_init(&body, 1 << 20);
    cmn_buf_init(&u, 1024);
    snprintf(sig, sizeof(sig), "aws:amz:%s:s3", env("HP_TEST_S3_REGION") ? env("HP_TEST_S3_REGION") : "us-east-1");
    if (cmn_http_new(&h, NULL) != CMN_OK || cmn_buf_addf(&u, "%s/%s?prefix=%s%%2F&uploads=", env("HP_TEST_S3_ENDPOINT"),
                                                         env("HP_TEST_S3_BUCKET"), strchr(url + 5, '/') + 1) != CMN_OK)
        goto out;
    rq.url = u.ptr;
    rq.aws_sigv4 = sig;
    rq.user = env("HP_TEST_S3_ACCESS_KEY");
    rq.password = env("HP_TEST_S3_SECRET_KEY");
    rq.body_out = &body;
    if (cmn_http_req_header(&rq, "x-amz-content-sha256: "
                                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") != CMN_OK)
        goto out;
    if (cmn_http_perform(h, &rq, &rs, NULL) == CMN_OK && rs.status == 200 && body.ptr) {
        n = 0;
        for (const char *p = body.ptr; (p = strstr(p, "<Upload>")) != NULL; p++)
            n++;
    } else {
        diag("ListMultipartUploads: http %ld", rs.status);
    }
    cmn_http_resp_release(&rs);
out:
    cmn_http_free(h);
    cmn_buf_release(&body);
    cmn_buf_release(&u);
    return n;
}

int main(void)
{
    const char *ep = env("HP_TEST_S3_ENDPOINT"), *bucket = env("HP_TEST_S3_BUCKET");
    if (!ep || !bucket || !env("HP_TEST_S3_ACCESS_KEY") || !env("HP_TEST_S3_SECRET_KEY")) {
        ok(0, "HP_TEST_S3_* is set (run through make test, which starts radosgw)");
        return done_testing();
    }
    if (cmn_crypto_init() != CMN_OK)
        return 1;
    /* A fresh prefix per run, so reruns against one radosgw do not see each other. */
    uint8_t r[4];
    char rhex[9];
    cmn_random(r, sizeof(r));
    cmn_hex_encode(r, sizeof(r), rhex);
    snprintf(url, sizeof(url), "s3://%s/it-%s", bucket, rhex);
    opts.endpoint = ep;
    opts.region = env("HP_TEST_S3_REGION");
    opts.access_key = env("HP_TEST_S3_ACCESS_KEY");
    opts.secret_key = env("HP_TEST_S3_SECRET_KEY");
    opts.timeout_ms = 20000;

    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc;
    char etag[CMN_ETAG_MAX] = "", etag2[CMN_ETAG_MAX] = "", etag3[CMN_ETAG_MAX] = "";
    struct cmn_buf out;
    cmn_buf_init(&out, 64 << 20);

    struct cmn_storage *st = open_store(&opts);
    ok(st != NULL, "open %s", url);
    if (!st)
        return done_testing();
    ok(!cmn_storage_is_local(st), "s3 store is not local");

    /* Round trip. */
    const char *key = "manifests/app/android/production.json";
    const char body[] = "{\"sequence\":1}";
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_put(st, key, body, strlen(body), NULL, etag, &eb);
    is_int(rc, CMN_OK, "put: %s", cmn_errmsg(&eb, rc));
    ok(etag[0] != '\0' && !strchr(etag, '"'), "put returns an unquoted etag '%s'", etag);
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_get(st, key, NULL, &out, etag2, &eb);
    is_int(rc, CMN_OK, "get: %s", cmn_errmsg(&eb, rc));
    is_str(out.ptr ? out.ptr : "", body, "get returns the bytes put");
    is_str(etag2, etag, "get reports the same etag");
    uint64_t size = 0;
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_head(st, key, etag3, &size, &eb);
    is_int(rc, CMN_OK, "head: %s", cmn_errmsg(&eb, rc));
    is_int(size, strlen(body), "head size");
    is_str(etag3, etag, "head etag");

    /* Not modified, range. */
    cmn_buf_reset(&out);
    struct cmn_get_opts go = {.if_none_match = etag};
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_get(st, key, &go, &out, NULL, &eb);
    is_int(rc, CMN_E_NOT_MODIFIED, "get with the current etag is not modified");
    is_int(out.len, 0, "not-modified appends nothing");
    memset(&go, 0, sizeof(go));
    go.if_none_match = "0123456789abcdef0123456789abcdef";
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_get(st, key, &go, &out, NULL, &eb);
    is_int(rc, CMN_OK, "get with an old etag returns the object");
    cmn_buf_reset(&out);
    memset(&go, 0, sizeof(go));
    go.has_range = 1;
    go.range_start = 2;
    go.range_end = 9;
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_get(st, key, &go, &out, NULL, &eb);
    is_int(rc, CMN_OK, "range get: %s", cmn_errmsg(&eb, rc));
    ok(out.len == 8 && memcmp(out.ptr, body + 2, 8) == 0, "range get returns bytes 2-9");
    cmn_buf_reset(&out);
    go.range_start = 10;
    go.range_end = UINT64_MAX;
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_get(st, key, &go, &out, NULL, &eb);
    ok(rc == CMN_OK && out.len == strlen(body) - 10 && memcmp(out.ptr, body + 10, out.len) == 0,
       "open-ended range get returns the tail");
    cmn_buf_reset(&out);
    memset(&go, 0, sizeof(go));
    go.max_size = 4;
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_get(st, key, &go, &out, NULL, &eb);
    is_int(rc, CMN_E_TOOBIG, "max_size refuses a bigger object");

    /* Conditional puts. */
    struct cmn_put_opts po = {.if_none_match = 1};
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_put(st, key, "x", 1, &po, NULL, &eb);
    is_int(rc, CMN_E_CONFLICT, "if-none-match on an existing key is a conflict (%s)", eb.msg);
    memset(&po, 0, sizeof(po));
    po.if_match = "0123456789abcdef0123456789abcdef";
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_put(st, key, "x", 1, &po, NULL, &eb);
    is_int(rc, CMN_E_CONFLICT, "if-match with a stale etag is a conflict (%s)", eb.msg);
    po.if_match = etag;
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_put(st, key, "{\"sequence\":2}", 14, &po, etag2, &eb);
    is_int(rc, CMN_OK, "if-match with the current etag writes: %s", cmn_errmsg(&eb, rc));
    ok(strcmp(etag2, etag) != 0, "the etag changed");
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_put(st, key, "{\"sequence\":3}", 14, &po, NULL, &eb);
    is_int(rc, CMN_E_CONFLICT, "the loser of a race (old etag) gets a conflict");
    memset(&po, 0, sizeof(po));
    po.if_none_match = 1;
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_put(st, "manifests/app/ios/production.json", "{}", 2, &po, NULL, &eb);
    is_int(rc, CMN_OK, "if-none-match on a new key writes: %s", cmn_errmsg(&eb, rc));
    cmn_buf_reset(&out);
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_get(st, key, NULL, &out, NULL, &eb);
    is_str(out.ptr ? out.ptr : "", "{\"sequence\":2}", "the conflicting writes left the winner's bytes");

    /* Missing keys, delete. */
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_get(st, "nope/missing.json", NULL, &out, NULL, &eb);
    is_int(rc, CMN_E_NOTFOUND, "get of a missing key: %s", eb.msg);
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_head(st, "nope/missing.json", NULL, NULL, NULL);
    is_int(rc, CMN_E_NOTFOUND, "head of a missing key");
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_delete(st, "manifests/app/ios/production.json", &eb);
    is_int(rc, CMN_OK, "delete");
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_head(st, "manifests/app/ios/production.json", NULL, NULL, NULL);
    is_int(rc, CMN_E_NOTFOUND, "deleted key is gone");
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_delete(st, "manifests/app/ios/production.json", &eb);
    is_int(rc, CMN_OK, "deleting a missing key is ok");
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_put(st, "../escape", "x", 1, NULL, NULL, &eb);
    is_int(rc, CMN_E_INVAL, "bad keys are refused before any request");

    /* Keys that need URL encoding round-trip. */
    const char *odd = "odd/a b+c&d=e%f~g(h)!é.txt";
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_put(st, odd, "odd", 3, NULL, NULL, &eb);
    is_int(rc, CMN_OK, "put of a key with spaces, +, &, =, %%, UTF-8: %s", cmn_errmsg(&eb, rc));
    cmn_buf_reset(&out);
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_get(st, odd, NULL, &out, NULL, &eb);
    ok(rc == CMN_OK && out.len == 3 && memcmp(out.ptr, "odd", 3) == 0, "get of that key");

    /* Wrong secret. */
    struct cmn_storage_opts bad = opts;
    bad.secret_key = "not-the-secret-key-at-all-0000000000000";
    bad.max_retries = -1;
    struct cmn_storage *st_bad = open_store(&bad);
    memset(&eb, 0, sizeof(eb));
    rc = st_bad ? cmn_storage_put(st_bad, "denied.txt", "x", 1, NULL, NULL, &eb) : CMN_E_INVAL;
    is_int(rc, CMN_E_DENIED, "a wrong secret is denied");
    ok(strstr(eb.msg, "SignatureDoesNotMatch") != NULL, "the detail names SignatureDoesNotMatch: %s", eb.msg);
    memset(&eb, 0, sizeof(eb));
    rc = st_bad ? cmn_storage_get(st_bad, key, NULL, &out, NULL, &eb) : CMN_E_INVAL;
    is_int(rc, CMN_E_DENIED, "get with a wrong secret is denied (%s)", eb.msg);
    cmn_storage_free(st_bad);

    /* List with continuation: 27 keys, pages of 5. */
    int all_put = 1;
    for (int i = 0; i < 27; i++) {
        char k[64], v[16];
        snprintf(k, sizeof(k), "list/k%02d.json", i);
        snprintf(v, sizeof(v), "v%d", i);
        if (cmn_storage_put(st, k, v, strlen(v), NULL, NULL, &eb) != CMN_OK)
            all_put = 0;
    }
    ok(all_put, "27 keys put");
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_put(st, "listx/other.json", "o", 1, NULL, NULL, &eb);
    cmn_storage_s3_set_page_size(st, 5);
    struct listed l = {.in_order = 1};
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_list(st, "list/", on_list, &l, &eb);
    is_int(rc, CMN_OK, "list: %s", cmn_errmsg(&eb, rc));
    is_int(l.n, 27, "list with pages of 5 returns all 27 keys");
    ok(l.in_order, "in key order, each with an etag");
    is_str(l.last, "list/k26.json", "last key");
    is_int(l.total, 10 * 2 + 17 * 3, "sizes add up");
    struct listed l2 = {.in_order = 1, .stop_after = 7};
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_list(st, "list/", on_list, &l2, &eb);
    ok(rc == CMN_OK && l2.n == 7, "the callback stops the listing early (%d)", l2.n);
    struct listed l3 = {.in_order = 1};
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_list(st, "", on_list, &l3, &eb);
    ok(rc == CMN_OK && l3.n == 27 + 1 + 1 + 1, "list of the whole prefix sees only this run's keys (%d)", l3.n);
    cmn_storage_s3_set_page_size(st, 1000);

    /* 20 MB via multipart. */
    char big[512];
    uint8_t want[CMN_SHA256_BYTES], got[CMN_SHA256_BYTES];
    snprintf(big, sizeof(big), "%s/big.bin", test_tmpdir());
    const size_t big_size = 20u * 1000 * 1000 + 12345;
    ok(write_random_file(big, big_size, want) == 0, "20 MB test file written");
    struct cmn_put_opts bpo = {.progress = on_progress};
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_put_file(st, "bundles/app/android/big.zip", big, &bpo, etag, &eb);
    is_int(rc, CMN_OK, "put_file of 20 MB: %s", cmn_errmsg(&eb, rc));
    ok(strchr(etag, '-') != NULL, "the etag '%s' is a multipart etag (3 parts)", etag);
    ok(progress_calls > 0 && progress_last == big_size, "progress reached the full size (%d calls, %llu)",
       progress_calls, (unsigned long long)progress_last);
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_head(st, "bundles/app/android/big.zip", NULL, &size, &eb);
    is_int(size, big_size, "head size of the multipart object");
    struct cmn_buf bigout;
    cmn_buf_init(&bigout, 32 << 20);
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_get(st, "bundles/app/android/big.zip", NULL, &bigout, NULL, &eb);
    is_int(rc, CMN_OK, "get of the 20 MB object: %s", cmn_errmsg(&eb, rc));
    cmn_sha256(bigout.ptr, bigout.len, got);
    ok(bigout.len == big_size && memcmp(got, want, sizeof(got)) == 0, "identical SHA-256 after the round trip");
    cmn_buf_release(&bigout);
    /* A multipart upload cancelled half-way fails cleanly: no object, no upload left behind. */
    struct cmn_put_opts cpo = {.progress = cancel_half};
    memset(&eb, 0, sizeof(eb));
    rc = cmn_storage_put_file(st, "bundles/app/android/cancelled.zip", big, &cpo, NULL, &eb);
    is_int(rc, CMN_E_CANCELLED, "a multipart upload can be cancelled (%s)", eb.msg);
    is_int(cmn_storage_head(st, "bundles/app/android/cancelled.zip", NULL, NULL, NULL), CMN_E_NOTFOUND,
           "the cancelled upload stored nothing");
    is_int(pending_uploads(), 0, "and was aborted: no multipart upload is pending in the bucket");

    /* Retries: 503 twice, then forward. */
    char countfile[512];
    snprintf(countfile, sizeof(countfile), "%s/proxy.count", test_tmpdir());
    int pport = proxy_start(2, countfile);
    ok(pport > 0, "flaky proxy started");
    if (pport > 0) {
        char pep[64];
        snprintf(pep, sizeof(pep), "http://127.0.0.1:%d", pport);
        struct cmn_storage_opts po2 = opts;
        po2.endpoint = pep;
        struct cmn_storage *stp = open_store(&po2);
        memset(&eb, 0, sizeof(eb));
        rc = stp ? cmn_storage_put(stp, "retry/x.json", "retried", 7, NULL, NULL, &eb) : CMN_E_INVAL;
        is_int(rc, CMN_OK, "put through the flaky proxy succeeds after retries: %s", cmn_errmsg(&eb, rc));
        is_int(read_int_file(countfile), 3, "the proxy saw 2 failed attempts and 1 forwarded");
        cmn_buf_reset(&out);
        memset(&eb, 0, sizeof(eb));
        rc = cmn_storage_get(st, "retry/x.json", NULL, &out, NULL, &eb);
        is_str(out.ptr ? out.ptr : "", "retried", "the retried put stored the bytes");
        cmn_storage_free(stp);
        proxy_stop();

        pport = proxy_start(2, countfile);
        snprintf(pep, sizeof(pep), "http://127.0.0.1:%d", pport);
        po2.endpoint = pep;
        po2.max_retries = -1;
        stp = open_store(&po2);
        memset(&eb, 0, sizeof(eb));
        rc = stp ? cmn_storage_put(stp, "retry/y.json", "nope", 4, NULL, NULL, &eb) : CMN_E_INVAL;
        is_int(rc, CMN_E_HTTP, "without retries the 503 is reported (%s)", eb.msg);
        ok(strstr(eb.msg, "SlowDown") != NULL, "with the S3 error code in the detail");
        is_int(read_int_file(countfile), 1, "exactly one attempt was made");
        cmn_storage_free(stp);
        proxy_stop();
    }

    /* Connection refused is a network error, retried then reported. */
    struct cmn_storage_opts dead = opts;
    dead.endpoint = "http://127.0.0.1:1";
    dead.max_retries = 1;
    struct cmn_storage *std = open_store(&dead);
    memset(&eb, 0, sizeof(eb));
    rc = std ? cmn_storage_get(std, key, NULL, &out, NULL, &eb) : CMN_E_INVAL;
    is_int(rc, CMN_E_NET, "an unreachable endpoint is a network error (%s)", eb.msg);
    cmn_storage_free(std);

    cmn_buf_release(&out);
    cmn_storage_free(st);
    return done_testing();
}
