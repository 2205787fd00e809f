/*
 * sync_bench_tool.c - fixtures for tests/bench/bench_sync.sh, written the
 * way the real writers write them:
 *   gen URL N KEYFILE     seal N channel manifests (bench/android/c<i>, 3
 *                         releases each), put them from 8 processes in
 *                         parallel, write the change feed for all of them in
 *                         one put, a 1,000,000-id targeting list
 *                         (lists/fleet.txt) and the snapshot; the public key
 *                         goes to KEYFILE.
 *   change URL I KEYFILE  re-seal channel c<I> with a higher sequence, put it
 *                         and record it in the feed (cmn_feed_record); prints
 *                         the new sequence.
 *   wait URL SEQ TIMEOUT_S  GET URL every 10 ms over one keep-alive connection
 *                         until its X-HotPatch-Sequence is SEQ (any, when SEQ
 *                         is "-"); prints the seconds it took. A curl process
 *                         per poll cost more CPU than the edge being timed.
 * S3 settings come from the environment (HOTPATCH_S3_ENDPOINT, AWS_*).
 */
#include "common/compat.h"

#include <curl/curl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/feed.h"
#include "common/manifest.h"
#include "common/storage.h"

static struct cmn_key K;

static int key_load_or_make(const char *path)
{
    if (access(path, R_OK) == 0)
        return cmn_key_load_secret(path, &K, NULL) ? -1 : 0;
    if (cmn_key_generate(&K) || cmn_key_save_secret(&K, path, 0, NULL))
        return -1;
    char b64[CMN_PK_B64], pub[1100];
    cmn_key_public_b64(&K, b64);
    snprintf(pub, sizeof(pub), "%s.pub", path);
    FILE *f = fopen(pub, "w");
    if (!f)
        return -1;
    fprintf(f, "%s\n", b64);
    fclose(f);
    return 0;
}

static int seal(int i, uint64_t seq, struct cmn_buf *out)
{
    char ch[32], sig[CMN_SIG_B64];
    uint8_t dg[32] = {1};
    snprintf(ch, sizeof(ch), "c%d", i);
    struct cmn_manifest *m = cmn_manifest_new("bench", "android", ch);
    m->sequence = seq;
    m->issued_at = (int64_t)time(NULL) - 60;
    m->expires_at = (int64_t)time(NULL) + 30 * 86400;
    if (cmn_bundle_sign(&K, dg, sig))
        return -1;
    for (int r = 0; r < 3; r++) {
        struct cmn_release rel;
        char id[32], ver[32];
        memset(&rel, 0, sizeof(rel));
        snprintf(id, sizeof(id), "r%d-%d", i, r);
        snprintf(ver, sizeof(ver), "1.%d.%llu", r, (unsigned long long)seq);
        rel.id = id;
        rel.version = ver;
        rel.target_binary = ">=1.0.0";
        if (cmn_semver_range_parse(rel.target_binary, &rel.target))
            return -1;
        rel.bundle_url = "bundles/bench/android/abc.zip";
        memset(rel.sha256, 'a', 64);
        rel.size = 123456;
        rel.bundle_sig = sig;
        memcpy(rel.bundle_keyid, K.keyid, sizeof(rel.bundle_keyid));
        rel.rollout_bp = 2500u * (unsigned)(r + 1);
        rel.state = CMN_REL_ACTIVE;
        rel.created_at = 1700000000 + r;
        if (r == 2)
            rel.device_list = "fleet";
        if (cmn_manifest_add_release(m, &rel))
            return -1;
    }
    int rc = cmn_manifest_seal(m, &K, out, NULL) ? -1 : 0;
    cmn_manifest_free(m);
    return rc;
}

static int put_range(const char *url, int from, int to, int fd_out)
{
    struct cmn_storage *st;
    if (cmn_storage_open(url, NULL, &st, NULL))
        return -1;
    struct cmn_buf b;
    cmn_buf_init(&b, CMN_MANIFEST_MAX_BYTES);
    for (int i = from; i < to; i++) {
        char key[256], etag[CMN_ETAG_MAX] = "", line[400];
        cmn_buf_reset(&b);
        snprintf(key, sizeof(key), "manifests/bench/android/c%d.json", i);
        if (seal(i, 1, &b) || cmn_storage_put(st, key, b.ptr, b.len, NULL, etag, NULL))
            return -1;
        int n = snprintf(line, sizeof(line), "%d %s\n", i, etag);
        if (write(fd_out, line, (size_t)n) != n)
            return -1;
    }
    cmn_buf_release(&b);
    cmn_storage_free(st);
    return 0;
}

static int gen(const char *url, int n)
{
    int pfd[2];
    if (pipe(pfd))
        return 1;
    pid_t kids[8];
    for (int w = 0; w < 8; w++) {
        kids[w] = fork();
        if (kids[w] == 0) {
            close(pfd[0]);
            _exit(put_range(url, n * w / 8, n * (w + 1) / 8, pfd[1]) ? 1 : 0);
        }
    }
    close(pfd[1]);
    struct cmn_feed f;
    cmn_feed_init(&f);
    FILE *in = fdopen(pfd[0], "r");
    char line[400];
    int got = 0;
    while (fgets(line, sizeof(line), in)) {
        int i;
        char etag[CMN_ETAG_MAX], key[64];
        if (sscanf(line, "%d %129s", &i, etag) != 2)
            continue;
        snprintf(key, sizeof(key), "bench/android/c%d", i);
        if (cmn_feed_set(&f, key, 1, etag, 1) == 1)
            got++;
    }
    fclose(in);
    int bad = 0;
    for (int w = 0; w < 8; w++) {
        int stt;
        waitpid(kids[w], &stt, 0);
        bad |= !WIFEXITED(stt) || WEXITSTATUS(stt);
    }
    if (bad || got != n) {
        fprintf(stderr, "gen: writers failed (%d of %d)\n", got, n);
        return 1;
    }
    struct cmn_storage *st;
    struct cmn_errbuf eb = {{0}};
    if (cmn_storage_open(url, NULL, &st, &eb)) {
        fprintf(stderr, "gen: %s\n", eb.msg);
        return 1;
    }
    f.rev = 1;
    f.updated_at = (int64_t)time(NULL);
    struct cmn_buf b;
    cmn_buf_init(&b, CMN_FEED_MAX_BYTES);
    if (cmn_feed_render(&f, &b) || cmn_storage_put(st, CMN_FEED_KEY, b.ptr, b.len, NULL, NULL, &eb)) {
        fprintf(stderr, "gen: feed: %s\n", eb.msg);
        return 1;
    }
    printf("feed: %zu entries, %zu bytes\n", f.n, b.len);
    cmn_buf_release(&b);
    cmn_feed_release(&f);
    /* 1M device ids */
    cmn_buf_init(&b, (size_t)64 << 20);
    for (int i = 0; i < 1000000; i++)
        if (cmn_buf_addf(&b, "device-%07d\n", i))
            return 1;
    if (cmn_storage_put(st, "lists/fleet.txt", b.ptr, b.len, NULL, NULL, &eb)) {
        fprintf(stderr, "gen: list: %s\n", eb.msg);
        return 1;
    }
    cmn_buf_release(&b);
    struct cmn_keyring kr = {&K, 1};
    struct cmn_snapshot_stats ss;
    if (cmn_snapshot_write(st, &kr, (int64_t)time(NULL), &ss, &eb)) {
        fprintf(stderr, "gen: snapshot: %s\n", eb.msg);
        return 1;
    }
    printf("snapshot: %u manifests, %zu bytes\n", ss.manifests, ss.bytes);
    cmn_storage_free(st);
    return 0;
}

static int change(const char *url, int i)
{
    struct cmn_storage *st;
    struct cmn_errbuf eb = {{0}};
    char key[256], etag[CMN_ETAG_MAX] = "", ch[32];
    struct cmn_buf b;
    uint64_t seq = (uint64_t)time(NULL); /* above the generated 1 */
    if (cmn_storage_open(url, NULL, &st, &eb))
        return 1;
    cmn_buf_init(&b, CMN_MANIFEST_MAX_BYTES);
    snprintf(key, sizeof(key), "manifests/bench/android/c%d.json", i);
    snprintf(ch, sizeof(ch), "c%d", i);
    if (seal(i, seq, &b) || cmn_storage_put(st, key, b.ptr, b.len, NULL, etag, &eb) ||
        cmn_feed_record(st, "bench", "android", ch, seq, etag, (int64_t)time(NULL), &eb)) {
        fprintf(stderr, "change: %s\n", eb.msg);
        return 1;
    }
    printf("%llu\n", (unsigned long long)seq);
    cmn_buf_release(&b);
    cmn_storage_free(st);
    return 0;
}

struct seen {
    char seq[32];
};

static size_t header_cb(char *b, size_t size, size_t n, void *ctx)
{
    struct seen *s = ctx;
    size_t len = size * n;
    static const char h[] = "x-hotpatch-sequence:";
    if (len > sizeof(h) && strncasecmp(b, h, sizeof(h) - 1) == 0) {
        const char *v = b + sizeof(h) - 1;
        while (*v == ' ')
            v++;
        size_t vl = strcspn(v, "\r\n");
        if (vl < sizeof(s->seq)) {
            memcpy(s->seq, v, vl);
            s->seq[vl] = '\0';
        }
    }
    return len;
}

static size_t body_cb(char *b, size_t size, size_t n, void *ctx)
{
    (void)b;
    (void)ctx;
    return size * n;
}

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int wait_seq(const char *url, const char *want, double timeout)
{
    CURL *h = curl_easy_init();
    struct seen s;
    if (!h)
        return 1;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
    double t0 = mono();
    for (;;) {
        s.seq[0] = '\0';
        if (curl_easy_perform(h) == CURLE_OK && s.seq[0] && (strcmp(want, "-") == 0 || strcmp(s.seq, want) == 0))
            break;
        if (mono() - t0 > timeout) {
            curl_easy_cleanup(h);
            printf("timeout\n");
            return 1;
        }
        struct timespec d = {0, 10 * 1000 * 1000};
        nanosleep(&d, NULL);
    }
    printf("%.3f\n", mono() - t0);
    curl_easy_cleanup(h);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "wait") == 0)
        return wait_seq(argv[2], argv[3], atof(argv[4]));
    if (cmn_crypto_init() || argc < 4)
        return 2;
    if (key_load_or_make(argv[argc - 1]))
        return 1;
    if (strcmp(argv[1], "gen") == 0 && argc == 5)
        return gen(argv[2], atoi(argv[3]));
    if (strcmp(argv[1], "change") == 0 && argc == 5)
        return change(argv[2], atoi(argv[3]));
    return 2;
}
