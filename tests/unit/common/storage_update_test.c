/*
 * Unit tests for cmn_storage_update (common/storage_update.c), the one
 * conditional read-modify-write loop, against a real file:// store: an
 * absent object is created, "keep" writes nothing, a refusing callback's
 * code and message come back with nothing written, four processes appending
 * to one object lose nothing, a writer that always loses its race gets
 * CMN_E_CONFLICT after exactly max_attempts reads, and the backoff stays in
 * its bounds.
 */
#include "common/compat.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/test.h"
#include "common/crypto.h"
#include "common/storage.h"

static struct cmn_storage *ST;

/* The object's bytes as a string ("" when absent or unreadable); frees nothing: static buffer. */
static const char *content(const char *key)
{
    static char text[1 << 16];
    struct cmn_buf b;
    cmn_buf_init(&b, sizeof(text) - 1);
    text[0] = '\0';
    if (cmn_storage_get(ST, key, NULL, &b, NULL, NULL) == CMN_OK && b.ptr)
        memcpy(text, b.ptr, b.len + 1);
    cmn_buf_release(&b);
    return text;
}

static int exists(const char *key)
{
    return cmn_storage_head(ST, key, NULL, NULL, NULL) == CMN_OK;
}

/* Appends `line` to the object; records what it was shown. */
struct append {
    const char *line;
    int calls;
    int saw_absent;
    char saw_etag[CMN_ETAG_MAX];
    int keep;          /* set ed->keep instead */
    int refuse;        /* write something, then fail */
    const char *rival; /* before answering, put this to the key (a writer that always wins the race) */
};

static enum cmn_err append_edit(void *ctx, struct cmn_storage_edit *ed, struct cmn_errbuf *eb)
{
    struct append *a = ctx;
    enum cmn_err rc;
    a->calls++;
    a->saw_absent = ed->cur == NULL;
    snprintf(a->saw_etag, sizeof(a->saw_etag), "%s", ed->etag);
    if (a->rival) {
        char body[64];
        snprintf(body, sizeof(body), "%s %d\n", a->rival, a->calls);
        if (cmn_storage_put(ST, ed->key, body, strlen(body), NULL, NULL, NULL) != CMN_OK)
            return cmn_errf(eb, CMN_E_IO, "rival put failed");
    }
    if (a->keep) {
        ed->keep = 1;
        return CMN_OK;
    }
    if (ed->cur && (rc = cmn_buf_add(ed->out, ed->cur, ed->cur_len)))
        return rc;
    if ((rc = cmn_buf_addf(ed->out, "%s\n", a->line)))
        return rc;
    if (a->refuse)
        return cmn_errf(eb, CMN_E_INVAL, "refused by the test callback");
    return CMN_OK;
}

static void t_create_and_update(void)
{
    struct cmn_storage_update_result res;
    struct cmn_errbuf eb = {{0}};
    struct append a = {.line = "one"};
    char etag[CMN_ETAG_MAX] = "";
    ok(!exists("upd/new.txt"), "the object starts absent");
    is_int(cmn_storage_update(ST, "upd/new.txt", append_edit, &a, NULL, &res, &eb), CMN_OK, "update of an absent key");
    ok(a.calls == 1 && a.saw_absent && a.saw_etag[0] == '\0', "the callback was told it is absent (NULL, etag \"\")");
    ok(res.written == 1 && res.attempts == 1, "written on the first attempt");
    is_str(content("upd/new.txt"), "one\n", "the object holds what the callback produced");
    ok(cmn_storage_head(ST, "upd/new.txt", etag, NULL, NULL) == CMN_OK && strcmp(etag, res.etag) == 0,
       "the result carries the new ETag");

    struct append b = {.line = "two"};
    is_int(cmn_storage_update(ST, "upd/new.txt", append_edit, &b, NULL, &res, &eb), CMN_OK,
           "update of an existing key");
    ok(!b.saw_absent && strcmp(b.saw_etag, etag) == 0, "the callback got the current bytes and their ETag");
    is_str(content("upd/new.txt"), "one\ntwo\n", "the edit was applied to the stored bytes");

    /* keep: nothing written, only the read was sent */
    struct append k = {.line = "never", .keep = 1};
    uint64_t before = cmn_storage_requests(ST);
    ok(cmn_storage_head(ST, "upd/new.txt", etag, NULL, NULL) == CMN_OK, "head");
    before = cmn_storage_requests(ST);
    is_int(cmn_storage_update(ST, "upd/new.txt", append_edit, &k, NULL, &res, &eb), CMN_OK, "keep is a success");
    ok(res.written == 0 && strcmp(res.etag, etag) == 0, "keep reports nothing written and the current ETag");
    is_int(cmn_storage_requests(ST) - before, 1, "keep sent one read and no write");
    is_str(content("upd/new.txt"), "one\ntwo\n", "the object is unchanged");
    is_int(cmn_storage_update(ST, "upd/kept-absent.txt", append_edit, &k, NULL, &res, &eb), CMN_OK,
           "keep on an absent key");
    ok(!exists("upd/kept-absent.txt") && res.etag[0] == '\0', "... creates nothing");

    /* an empty object is present, not absent */
    ok(cmn_storage_put(ST, "upd/empty.txt", "", 0, NULL, NULL, NULL) == CMN_OK, "an empty object");
    struct append e = {.line = "x"};
    ok(cmn_storage_update(ST, "upd/empty.txt", append_edit, &e, NULL, NULL, &eb) == CMN_OK && !e.saw_absent,
       "an empty object is shown as present (cur non-NULL, length 0)");
}

static void t_refuse(void)
{
    struct cmn_storage_update_result res;
    struct append r = {.line = "bad", .refuse = 1};
    struct cmn_errbuf eb = {{0}};
    char before[CMN_ETAG_MAX] = "", after[CMN_ETAG_MAX] = "";
    res.written = 42;
    is_int(cmn_storage_update(ST, "upd/new.txt", append_edit, &r, NULL, &res, &eb), CMN_E_INVAL,
           "the callback's code comes back");
    is_str(eb.msg, "refused by the test callback", "... with its message");
    is_int(res.written, 42, "the result is not written on failure");
    is_int(r.calls, 1, "a refusal is not retried");
    is_str(content("upd/new.txt"), "one\ntwo\n", "nothing was written");
    eb.msg[0] = '\0';
    is_int(cmn_storage_update(ST, "upd/refused-absent.txt", append_edit, &r, NULL, NULL, &eb), CMN_E_INVAL,
           "refusal on an absent key");
    ok(!exists("upd/refused-absent.txt"), "... creates nothing");

    /* bad arguments */
    eb.msg[0] = '\0';
    is_int(cmn_storage_update(ST, "../x", append_edit, &r, NULL, NULL, &eb), CMN_E_INVAL, "a bad key is refused");
    is_int(cmn_storage_update(ST, "upd/x", NULL, &r, NULL, NULL, &eb), CMN_E_INVAL, "no callback is refused");

    /* the size cap applies to what is read */
    struct cmn_storage_update_opts small = {.max_size = 4};
    struct append t = {.line = "t"};
    ok(cmn_storage_head(ST, "upd/new.txt", before, NULL, NULL) == CMN_OK, "head before");
    eb.msg[0] = '\0';
    is_int(cmn_storage_update(ST, "upd/new.txt", append_edit, &t, &small, NULL, &eb), CMN_E_TOOBIG,
           "an object above max_size is refused");
    ok(strncmp(eb.msg, "cannot read 'upd/new.txt'", 25) == 0, "... naming the object (%s)", eb.msg);
    is_int(t.calls, 0, "... before the callback runs");
    /* and to what the callback writes */
    struct cmn_storage_update_opts tiny = {.max_size = 3, .what = "test object"};
    struct append big = {.line = "longer than three"};
    is_int(cmn_storage_update(ST, "upd/big.txt", append_edit, &big, &tiny, NULL, NULL), CMN_E_TOOBIG,
           "new bytes above max_size are refused");
    ok(!exists("upd/big.txt"), "... and not written");
    ok(cmn_storage_head(ST, "upd/new.txt", after, NULL, NULL) == CMN_OK && strcmp(before, after) == 0,
       "nothing changed the object");
}

static void t_exhausted(void)
{
    struct cmn_storage_update_opts o = {
        .what = "test object", .max_attempts = 3, .backoff_min_ms = 1, .backoff_max_ms = 2};
    struct append a = {.line = "mine", .rival = "rival"};
    struct cmn_errbuf eb = {{0}};
    struct cmn_storage_update_result res;
    res.attempts = 0;
    is_int(cmn_storage_update(ST, "upd/busy.txt", append_edit, &a, &o, &res, &eb), CMN_E_CONFLICT,
           "a writer that loses every race gets CMN_E_CONFLICT");
    is_str(eb.msg, "test object 'upd/busy.txt' kept changing under us (3 attempts)", "... with a clear message");
    is_int(a.calls, 3, "exactly max_attempts reads and edits");
    ok(a.saw_absent == 0 && a.saw_etag[0], "later attempts saw the rival's object");
    is_str(content("upd/busy.txt"), "rival 3\n", "only the rival's writes landed");
    is_int(res.attempts, 0, "the result is not written on failure");

    /* the default bound */
    struct cmn_storage_update_opts d = {.backoff_min_ms = 1, .backoff_max_ms = 1};
    struct append b = {.line = "mine", .rival = "rival"};
    eb.msg[0] = '\0';
    is_int(cmn_storage_update(ST, "upd/busy.txt", append_edit, &b, &d, NULL, &eb), CMN_E_CONFLICT, "default bound");
    is_int(b.calls, CMN_STORAGE_UPDATE_ATTEMPTS, "... is CMN_STORAGE_UPDATE_ATTEMPTS (16) attempts");
    is_str(eb.msg, "'upd/busy.txt' kept changing under us (16 attempts)", "... message without 'what'");
}

#define WRITERS 4
#define EDITS 25

static void t_concurrent(void)
{
    pid_t kids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        kids[w] = fork();
        if (kids[w] == 0) {
            int bad = 0;
            for (int i = 0; i < EDITS; i++) {
                char line[32];
                struct cmn_errbuf eb = {{0}};
                snprintf(line, sizeof(line), "w%d-%d", w, i);
                struct append a = {.line = line};
                struct cmn_storage_update_opts o = {.max_attempts = 200};
                enum cmn_err rc = cmn_storage_update(ST, "upd/shared.txt", append_edit, &a, &o, NULL, &eb);
                if (rc) {
                    fprintf(stderr, "# writer %d edit %d: %s\n", w, i, cmn_errmsg(&eb, rc));
                    bad = 1;
                }
            }
            _exit(bad);
        }
    }
    int all = 1;
    for (int w = 0; w < WRITERS; w++) {
        int st;
        waitpid(kids[w], &st, 0);
        all &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    ok(all, "every racing writer succeeded");
    const char *text = content("upd/shared.txt");
    int lines = 0, missing = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    for (int w = 0; w < WRITERS; w++)
        for (int i = 0; i < EDITS; i++) {
            char want[40];
            snprintf(want, sizeof(want), "w%d-%d\n", w, i);
            const char *at = strstr(text, want);
            missing += !(at && (at == text || at[-1] == '\n'));
        }
    is_int(lines, WRITERS * EDITS, "%d edits, %d lines: nothing lost, nothing doubled", WRITERS * EDITS, lines);
    is_int(missing, 0, "every writer's every line is there");
}

static void t_backoff(void)
{
    int in_range = 1, varied = 0, capped = 1;
    for (int attempt = 0; attempt < 9; attempt++) {
        unsigned spread = 20u << (attempt < 5 ? attempt : 5), first = 0;
        for (int i = 0; i < 200; i++) {
            unsigned ms = cmn_storage_backoff_ms(attempt, 10, 100000);
            in_range &= ms >= 10 && ms <= 10 + spread;
            if (i == 0)
                first = ms;
            varied |= ms != first;
            capped &= cmn_storage_backoff_ms(attempt, 10, 50) <= 50;
        }
    }
    ok(in_range, "the pause is min .. min + (20 << min(attempt, 5)) ms");
    ok(varied, "the pause is jittered");
    ok(capped, "the pause never exceeds max_ms");
}

int main(void)
{
    char root[600], url[700];
    struct cmn_errbuf eb = {{0}};
    if (cmn_crypto_init())
        return 1;
    snprintf(root, sizeof(root), "%s/update-store", test_tmpdir());
    mkdir(root, 0755);
    snprintf(url, sizeof(url), "file://%s", root);
    if (cmn_storage_open(url, NULL, &ST, &eb)) {
        ok(0, "open %s: %s", url, eb.msg);
        return done_testing();
    }
    t_create_and_update();
    t_refuse();
    t_exhausted();
    t_concurrent();
    t_backoff();
    cmn_storage_free(ST);
    return done_testing();
}
