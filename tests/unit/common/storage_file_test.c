/*
 * Unit tests for the file:// storage backend: round trips, ETags, ranges,
 * conditional writes (also raced by two processes), listing order, hostile
 * keys, and a writer killed with SIGKILL in the middle of a put.
 */
#include "common/compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/test.h"
#include "common/crypto.h"
#include "common/storage.h"

static char root[512];
static char url[600];

struct listed {
    int n;
    char keys[64][128];
    char etags[64][CMN_ETAG_MAX];
    uint64_t sizes[64];
};

static int on_list(void *ctx, const char *key, const char *etag, uint64_t size)
{
    struct listed *l = ctx;
    if (l->n < 64) {
        snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", key);
        snprintf(l->etags[l->n], sizeof(l->etags[0]), "%s", etag);
        l->sizes[l->n] = size;
    }
    l->n++;
    return 0;
}

static int count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, ".hp-tmp.", 8) == 0)
            n++;
    closedir(d);
    return n;
}

static void sha_hex(const void *p, size_t n, char out[CMN_SHA256_HEX])
{
    uint8_t d[CMN_SHA256_BYTES];
    cmn_sha256(p, n, d);
    cmn_hex_encode(d, sizeof(d), out);
}

static int write_file(const char *path, size_t size, char fill)
{
    FILE *f = fopen(path, "wb");
    char buf[65536];
    if (!f)
        return -1;
    memset(buf, fill, sizeof(buf));
    for (size_t done = 0; done < size;) {
        size_t n = size - done > sizeof(buf) ? sizeof(buf) : size - done;
        fwrite(buf, 1, n, f);
        done += n;
    }
    return fclose(f);
}

/* ---- two processes racing conditional puts ---- */

static void racer(int id, int cmd_fd, int res_fd)
{
    struct cmn_storage *st = NULL;
    if (cmn_storage_open(url, NULL, &st, NULL) != CMN_OK)
        _exit(2);
    char c, etag[CMN_ETAG_MAX];
    int round = 0;
    while (read(cmd_fd, &c, 1) == 1) {
        if (c == 'r') { /* read the current etag */
            char r = cmn_storage_head(st, "race/m.json", etag, NULL, NULL) == CMN_OK ? 'k' : 'e';
            if (write(res_fd, &r, 1) != 1)
                _exit(3);
        } else if (c == 'w') { /* write conditionally on it */
            char body[32];
            /* Distinct bytes each time: equal content would mean an equal etag. */
            int n = snprintf(body, sizeof(body), "writer %d round %d", id, round++);
            struct cmn_put_opts po = {.if_match = etag};
            enum cmn_err rc = cmn_storage_put(st, "race/m.json", body, (size_t)n, &po, NULL, NULL);
            char r = rc == CMN_OK ? 'W' : rc == CMN_E_CONFLICT ? 'C' : 'E';
            if (write(res_fd, &r, 1) != 1)
                _exit(3);
        } else {
            break;
        }
    }
    cmn_storage_free(st);
    _exit(0);
}

static void test_race(struct cmn_storage *st)
{
    int cmd[2][2], res[2][2];
    pid_t pid[2];
    enum cmn_err rc = cmn_storage_put(st, "race/m.json", "start", 5, NULL, NULL, NULL);
    is_int(rc, CMN_OK, "race: initial object");
    for (int i = 0; i < 2; i++) {
        if (pipe(cmd[i]) != 0 || pipe(res[i]) != 0)
            return;
        pid[i] = fork();
        if (pid[i] == 0) {
            close(cmd[i][1]);
            close(res[i][0]);
            if (i == 1) { /* not the other racer's pipe ends: they would keep it from seeing EOF */
                close(cmd[0][1]);
                close(res[0][0]);
            }
            racer(i, cmd[i][0], res[i][1]);
        }
        close(cmd[i][0]);
        close(res[i][1]);
    }
    int rounds = 25, exactly_one = 0, other = 0;
    for (int r = 0; r < rounds; r++) {
        char c, got[2];
        /* Both read the same etag first, then both try to write. */
        for (int i = 0; i < 2; i++)
            if (write(cmd[i][1], "r", 1) != 1 || read(res[i][0], &c, 1) != 1 || c != 'k')
                other++;
        for (int i = 0; i < 2; i++)
            if (write(cmd[i][1], "w", 1) != 1)
                other++;
        for (int i = 0; i < 2; i++)
            if (read(res[i][0], &got[i], 1) != 1)
                got[i] = '?';
        int wins = (got[0] == 'W') + (got[1] == 'W');
        int conflicts = (got[0] == 'C') + (got[1] == 'C');
        if (wins == 1 && conflicts == 1)
            exactly_one++;
        else
            diag("round %d: %c %c", r, got[0], got[1]);
    }
    for (int i = 0; i < 2; i++) {
        close(cmd[i][1]);
        close(res[i][0]);
        waitpid(pid[i], NULL, 0);
    }
    is_int(exactly_one, rounds, "race: in each of %d rounds exactly one conditional put wins", rounds);
    is_int(other, 0, "race: no protocol errors");
}

/* ---- a writer killed mid-put ---- */

static int kill_pipe_fd = -1;
static int signal_midway(void *ctx, uint64_t done, uint64_t total)
{
    if (done >= total / 4 && kill_pipe_fd >= 0) {
        if (write(kill_pipe_fd, "x", 1) != 1)
            _exit(4);
        close(kill_pipe_fd);
        kill_pipe_fd = -1;
        for (;;)
            pause(); /* wait to be killed mid-put */
    }
    return 0;
}

static void test_killed_writer(struct cmn_storage *st)
{
    char big[700], dir[700];
    snprintf(big, sizeof(big), "%s/src-big.bin", test_tmpdir());
    snprintf(dir, sizeof(dir), "%s/bundles/app", root);
    ok(write_file(big, 8u << 20, 'N') == 0, "kill: 8 MiB source written");
    enum cmn_err rc = cmn_storage_put(st, "bundles/app/b.zip", "old-object", 10, NULL, NULL, NULL);
    is_int(rc, CMN_OK, "kill: old object in place");
    int p[2];
    if (pipe(p) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        kill_pipe_fd = p[1];
        struct cmn_storage *cst = NULL;
        if (cmn_storage_open(url, NULL, &cst, NULL) != CMN_OK)
            _exit(2);
        struct cmn_put_opts po = {.progress = signal_midway};
        (void)!cmn_storage_put_file(cst, "bundles/app/b.zip", big, &po, NULL, NULL);
        _exit(5); /* not reached: killed inside the put */
    }
    close(p[1]);
    char c;
    ok(read(p[0], &c, 1) == 1, "kill: the child is in the middle of its put");
    close(p[0]);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "kill: the child died by SIGKILL");
    ok(count_temps(dir) == 1, "kill: it left a partial temp file behind (%d)", count_temps(dir));

    struct cmn_buf out;
    cmn_buf_init(&out, 1 << 20);
    rc = cmn_storage_get(st, "bundles/app/b.zip", NULL, &out, NULL, NULL);
    ok(rc == CMN_OK && out.len == 10 && memcmp(out.ptr, "old-object", 10) == 0, "kill: the old object is intact");
    cmn_buf_release(&out);
    struct listed l = {0};
    rc = cmn_storage_list(st, "bundles/app/", on_list, &l, NULL);
    ok(rc == CMN_OK && l.n == 1 && strcmp(l.keys[0], "bundles/app/b.zip") == 0, "kill: list ignores the temp file");
    rc = cmn_storage_put(st, "bundles/app/c.zip", "next", 4, NULL, NULL, NULL);
    is_int(rc, CMN_OK, "kill: the next put works");
    is_int(count_temps(dir), 0, "kill: and removed the dead writer's temp file");
}

static int cancel_at_half(void *ctx, uint64_t done, uint64_t total)
{
    (*(int *)ctx)++;
    return done >= total / 2;
}

int main(void)
{
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc;
    char etag[CMN_ETAG_MAX], etag2[CMN_ETAG_MAX], hex[CMN_SHA256_HEX];
    struct cmn_buf out;
    struct cmn_storage *st = NULL;

    snprintf(root, sizeof(root), "%s/store/nested", test_tmpdir());
    snprintf(url, sizeof(url), "file://%s", root);
    rc = cmn_storage_open(url, NULL, &st, &eb);
    is_int(rc, CMN_OK, "open %s (creates the dir): %s", url, cmn_errmsg(&eb, rc));
    if (rc)
        return done_testing();
    ok(cmn_storage_is_local(st), "file store is local");
    is_str(cmn_storage_url(st), url, "url kept");
    cmn_buf_init(&out, 1 << 20);

    /* Round trip and ETag = sha256 hex. */
    const char *key = "manifests/app/android/production.json";
    const char body[] = "{\"sequence\":1}";
    rc = cmn_storage_put(st, key, body, strlen(body), NULL, etag, &eb);
    is_int(rc, CMN_OK, "put: %s", cmn_errmsg(&eb, rc));
    sha_hex(body, strlen(body), hex);
    is_str(etag, hex, "etag is the hex SHA-256 of the content");
    rc = cmn_storage_get(st, key, NULL, &out, etag2, &eb);
    is_int(rc, CMN_OK, "get");
    is_str(out.ptr ? out.ptr : "", body, "same bytes");
    is_str(etag2, hex, "get etag");
    {
        /* The ETag cache: a file rewritten in place (same size, not by rename) gets its new ETag. */
        char path[1200], e3[CMN_ETAG_MAX], h3[CMN_SHA256_HEX];
        snprintf(path, sizeof(path), "%s/%s", root, key);
        FILE *f = fopen(path, "r+");
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL); /* a later mtime even on coarse clocks */
        ok(f && fwrite("{\"sequence\":2}", 1, strlen(body), f) == strlen(body) && fclose(f) == 0,
           "object rewritten in place behind the store's back");
        sha_hex("{\"sequence\":2}", strlen(body), h3);
        ok(cmn_storage_head(st, key, e3, NULL, &eb) == CMN_OK, "head after the rewrite");
        is_str(e3, h3, "the cached ETag is not served for the changed file");
        ok(cmn_storage_put(st, key, body, strlen(body), NULL, NULL, &eb) == CMN_OK, "original put back");
    }
    uint64_t size = 0;
    rc = cmn_storage_head(st, key, etag2, &size, &eb);
    ok(rc == CMN_OK && size == strlen(body) && strcmp(etag2, hex) == 0, "head size and etag");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, key);
    struct stat sb;
    ok(stat(path, &sb) == 0 && S_ISREG(sb.st_mode), "the object is a plain file at <root>/<key>");
    rc = cmn_storage_put(st, "empty.bin", "", 0, NULL, etag2, &eb);
    sha_hex("", 0, hex);
    ok(rc == CMN_OK && strcmp(etag2, hex) == 0, "empty object");

    /* Not modified and ranges. */
    cmn_buf_reset(&out);
    struct cmn_get_opts go = {.if_none_match = etag};
    is_int(cmn_storage_get(st, key, &go, &out, NULL, NULL), CMN_E_NOT_MODIFIED, "same etag: not modified");
    is_int(out.len, 0, "nothing appended");
    go.if_none_match = "00";
    is_int(cmn_storage_get(st, key, &go, &out, NULL, NULL), CMN_OK, "other etag: full get");
    cmn_buf_reset(&out);
    memset(&go, 0, sizeof(go));
    go.has_range = 1;
    go.range_start = 2;
    go.range_end = 9;
    rc = cmn_storage_get(st, key, &go, &out, NULL, NULL);
    ok(rc == CMN_OK && out.len == 8 && memcmp(out.ptr, body + 2, 8) == 0, "range 2-9");
    cmn_buf_reset(&out);
    go.range_start = 10;
    go.range_end = UINT64_MAX;
    rc = cmn_storage_get(st, key, &go, &out, NULL, NULL);
    ok(rc == CMN_OK && out.len == strlen(body) - 10, "open-ended range");
    cmn_buf_reset(&out);
    go.range_start = 100;
    is_int(cmn_storage_get(st, key, &go, &out, NULL, NULL), CMN_E_INVAL, "range past the end");
    go.range_start = 5;
    go.range_end = 4;
    is_int(cmn_storage_get(st, key, &go, &out, NULL, NULL), CMN_E_INVAL, "inverted range");
    memset(&go, 0, sizeof(go));
    go.max_size = 4;
    is_int(cmn_storage_get(st, key, &go, &out, NULL, NULL), CMN_E_TOOBIG, "max_size");
    struct cmn_buf small;
    cmn_buf_init(&small, 4);
    is_int(cmn_storage_get(st, key, NULL, &small, NULL, NULL), CMN_E_TOOBIG, "buffer cap");
    cmn_buf_release(&small);

    /* Conditional puts. */
    struct cmn_put_opts po = {.if_none_match = 1};
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_storage_put(st, key, "x", 1, &po, NULL, &eb), CMN_E_CONFLICT, "if-none-match on existing: %s", eb.msg);
    is_int(cmn_storage_put(st, "manifests/app/ios/production.json", "{}", 2, &po, NULL, NULL), CMN_OK,
           "if-none-match on a new key");
    memset(&po, 0, sizeof(po));
    po.if_match = "0000000000000000000000000000000000000000000000000000000000000000";
    memset(&eb, 0, sizeof(eb));
    is_int(cmn_storage_put(st, key, "x", 1, &po, NULL, &eb), CMN_E_CONFLICT, "stale if-match: %s", eb.msg);
    po.if_match = etag;
    is_int(cmn_storage_put(st, key, "{\"sequence\":2}", 14, &po, etag2, NULL), CMN_OK, "current if-match writes");
    is_int(cmn_storage_put(st, key, "{\"sequence\":3}", 14, &po, NULL, NULL), CMN_E_CONFLICT,
           "the old etag now conflicts");
    is_int(cmn_storage_put(st, "missing/key.json", "x", 1, &po, NULL, NULL), CMN_E_CONFLICT,
           "if-match on a missing key conflicts");
    po.if_none_match = 1;
    is_int(cmn_storage_put(st, key, "x", 1, &po, NULL, NULL), CMN_E_INVAL, "both conditions at once: invalid");
    cmn_buf_reset(&out);
    rc = cmn_storage_get(st, key, NULL, &out, NULL, NULL);
    is_str(out.ptr ? out.ptr : "", "{\"sequence\":2}", "only the winning write landed");

    /* Bad keys. */
    static const char *bad_keys[] = {
        "../x", "/abs", "a\\b",  "",         "a/../b",   "a//b",           "a/", ".hidden", "a/.locks/x",
        "x/..", "a\nb", "a\x7f", "\xff\xfe", "\xC0\xAF", "a/\xED\xA0\x80",
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(bad_keys); i++) {
        const char *k = bad_keys[i];
        int all = cmn_storage_put(st, k, "x", 1, NULL, NULL, NULL) == CMN_E_INVAL &&
                  cmn_storage_get(st, k, NULL, &out, NULL, NULL) == CMN_E_INVAL &&
                  cmn_storage_head(st, k, NULL, NULL, NULL) == CMN_E_INVAL &&
                  cmn_storage_delete(st, k, NULL) == CMN_E_INVAL && cmn_storage_key_check(k, NULL) == CMN_E_INVAL;
        ok(all, "bad key #%zu refused by every operation", i);
    }
    char longkey[CMN_STORAGE_KEY_MAX + 10];
    memset(longkey, 'a', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    is_int(cmn_storage_put(st, longkey, "x", 1, NULL, NULL, NULL), CMN_E_INVAL, "over-long key");
    is_int(cmn_storage_key_check("bundles/app/android/x.zip", NULL), CMN_OK, "a normal key passes");
    is_int(cmn_storage_key_check("a b/é+&=.json", NULL), CMN_OK, "spaces, UTF-8 and punctuation pass");
    struct stat esc;
    ok(stat("/abs", &esc) != 0 && access("x", F_OK) != 0, "nothing was written outside the root");

    /* Missing keys and delete. */
    is_int(cmn_storage_get(st, "no/such.json", NULL, &out, NULL, NULL), CMN_E_NOTFOUND, "get of a missing key");
    is_int(cmn_storage_head(st, "no/such.json", NULL, NULL, NULL), CMN_E_NOTFOUND, "head of a missing key");
    is_int(cmn_storage_get(st, "manifests", NULL, &out, NULL, NULL), CMN_E_NOTFOUND, "a directory is not an object");
    is_int(cmn_storage_delete(st, "manifests/app/ios/production.json", NULL), CMN_OK, "delete");
    is_int(cmn_storage_head(st, "manifests/app/ios/production.json", NULL, NULL, NULL), CMN_E_NOTFOUND, "deleted");
    is_int(cmn_storage_delete(st, "manifests/app/ios/production.json", NULL), CMN_OK, "deleting again is ok");

    /* Listing: key order, recursion, prefixes, hidden files skipped. */
    static const char *lk[] = {"l/b/2.json", "l/a.json", "l/b/1.json", "l/a/z.json", "l/c", "l/ab.json", "lx/1"};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(lk); i++)
        (void)!cmn_storage_put(st, lk[i], lk[i], strlen(lk[i]), NULL, NULL, NULL);
    char junk[1024];
    snprintf(junk, sizeof(junk), "%s/l/.hp-tmp.1.abc", root);
    ok(write_file(junk, 3, 'j') == 0, "a stray temp file");
    snprintf(junk, sizeof(junk), "%s/l/evil-link", root);
    ok(symlink("/etc/passwd", junk) == 0, "a symlink in the tree");
    is_int(cmn_storage_get(st, "l/evil-link", NULL, &out, NULL, NULL), CMN_E_UNSAFE, "symlinks are not followed");
    struct listed l = {0};
    rc = cmn_storage_list(st, "l/", on_list, &l, NULL);
    is_int(rc, CMN_OK, "list l/");
    is_int(l.n, 6, "six objects under l/ (no temp, no symlink, not lx/)");
    static const char *want[] = {"l/a.json", "l/a/z.json", "l/ab.json", "l/b/1.json", "l/b/2.json", "l/c"};
    int order = l.n == 6;
    for (int i = 0; order && i < 6; i++)
        order = strcmp(l.keys[i], want[i]) == 0;
    ok(order, "in byte order of the keys");
    sha_hex("l/c", 3, hex);
    ok(l.n == 6 && strcmp(l.etags[5], hex) == 0 && l.sizes[5] == 3, "with etag and size");
    memset(&l, 0, sizeof(l));
    rc = cmn_storage_list(st, "l/a", on_list, &l, NULL);
    ok(rc == CMN_OK && l.n == 3, "a partial-segment prefix matches l/a.json, l/a/z.json, l/ab.json (%d)", l.n);
    memset(&l, 0, sizeof(l));
    rc = cmn_storage_list(st, "nothing/here/", on_list, &l, NULL);
    ok(rc == CMN_OK && l.n == 0, "a missing prefix lists nothing");
    memset(&l, 0, sizeof(l));
    rc = cmn_storage_list(st, "", on_list, &l, NULL);
    ok(rc == CMN_OK && l.n >= 9, "the whole store lists (%d)", l.n);
    is_int(cmn_storage_list(st, "../", on_list, &l, NULL), CMN_E_INVAL, "bad prefix refused");

    /* put_file, progress, cancellation. */
    char src[700];
    snprintf(src, sizeof(src), "%s/src.bin", test_tmpdir());
    ok(write_file(src, 3u << 20, 'z') == 0, "3 MiB source");
    int calls = 0;
    po = (struct cmn_put_opts){.progress = cancel_at_half, .progress_ctx = &calls};
    rc = cmn_storage_put_file(st, "bundles/x/y.zip", src, &po, NULL, NULL);
    is_int(rc, CMN_E_CANCELLED, "progress can cancel a put");
    is_int(cmn_storage_head(st, "bundles/x/y.zip", NULL, NULL, NULL), CMN_E_NOTFOUND, "a cancelled put stores nothing");
    snprintf(path, sizeof(path), "%s/bundles/x", root);
    is_int(count_temps(path), 0, "and leaves no temp file");
    rc = cmn_storage_put_file(st, "bundles/x/y.zip", src, NULL, etag, NULL);
    is_int(rc, CMN_OK, "put_file");
    rc = cmn_storage_head(st, "bundles/x/y.zip", etag2, &size, NULL);
    ok(rc == CMN_OK && size == (3u << 20) && strcmp(etag, etag2) == 0, "put_file size and etag");
    is_int(cmn_storage_put_file(st, "bundles/x/z.zip", "/nonexistent/file", NULL, NULL, NULL), CMN_E_IO,
           "put_file of a missing source");

    test_race(st);
    test_killed_writer(st);

    /* Bad URLs. */
    struct cmn_storage *st2 = NULL;
    is_int(cmn_storage_open("file://relative/dir", NULL, &st2, NULL), CMN_E_INVAL, "relative file url");
    is_int(cmn_storage_open("ftp://x/y", NULL, &st2, NULL), CMN_E_UNSUPPORTED, "unknown scheme");
    is_int(cmn_storage_open("file:///tmp/../etc", NULL, &st2, NULL), CMN_E_INVAL, "dot-dot in the root");
    snprintf(path, sizeof(path), "file://%s/store/nested/manifests/app/android/production.json", test_tmpdir());
    ok(cmn_storage_open(path, NULL, &st2, NULL) != CMN_OK, "a root that is a file is refused");

    cmn_buf_release(&out);
    cmn_storage_free(st);
    return done_testing();
}
