/*
 * Unit tests for edge-check/index.c: opening the LMDB environment, list
 * parsing (comments, CRLF, bad lines), list replacement (old entries gone,
 * neighbouring lists untouched, duplicates folded), membership, meta
 * values, reopening (persistence) and a read transaction that keeps its
 * snapshot while a writer commits.
 */
#include "common/compat.h"

#include "../../../edge-check/edge.h"
#include "../../lib/test.h"

static int has(struct edge_index *ix, const char *list, const char *dev)
{
    MDB_txn *t;
    if (mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &t))
        return -1;
    int r = edge_index_list_has(ix, t, list, dev);
    mdb_txn_abort(t);
    return r;
}

static enum cmn_err replace(struct edge_index *ix, const char *name, const char *text)
{
    char **ids = NULL;
    size_t n = 0;
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc = edge_list_parse(text, strlen(text), &ids, &n, &eb);
    if (rc)
        return rc;
    MDB_txn *t;
    if (mdb_txn_begin(ix->env, NULL, 0, &t)) {
        edge_list_free(ids, n);
        return CMN_E_IO;
    }
    rc = edge_index_list_replace(ix, t, name, ids, n, &eb);
    edge_list_free(ids, n);
    if (rc) {
        mdb_txn_abort(t);
        return rc;
    }
    return mdb_txn_commit(t) ? CMN_E_IO : CMN_OK;
}

int main(void)
{
    struct edge_index ix;
    struct cmn_errbuf eb = {{0}};
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/idx", test_tmpdir());
    is_int(edge_index_open(&ix, dir, 64 << 20, &eb), CMN_OK, "open creates the environment");

    /* parsing */
    char **ids = NULL;
    size_t n = 0;
    const char *text = "# beta testers\r\ndev-1\r\n\r\n  dev-2  \ndev-1\n#dev-9\ndev-3";
    is_int(edge_list_parse(text, strlen(text), &ids, &n, &eb), CMN_OK, "list parses");
    is_int(n, 4, "four ids (one duplicate kept for replace to fold)");
    ok(n == 4 && strcmp(ids[1], "dev-2") == 0 && strcmp(ids[3], "dev-3") == 0, "trimmed, CR dropped, no newline");
    edge_list_free(ids, n);
    memset(&eb, 0, sizeof(eb));
    is_int(edge_list_parse("ok\nbad\x7fid\n", 10, &ids, &n, &eb), CMN_E_PARSE, "DEL inside an id refused");
    ok(strstr(eb.msg, "line 2") != NULL, "error names the line: %s", eb.msg);
    memset(&eb, 0, sizeof(eb));
    is_int(edge_list_parse("a\n\x01\n", 4, &ids, &n, &eb), CMN_E_PARSE, "control byte refused");
    char longid[200];
    memset(longid, 'x', 199);
    longid[199] = '\0';
    is_int(edge_list_parse(longid, 199, &ids, &n, &eb), CMN_E_PARSE, "id over 128 bytes refused");
    is_int(edge_list_parse("", 0, &ids, &n, &eb), CMN_OK, "empty list is valid");
    is_int(n, 0, "no ids");
    edge_list_free(ids, n);

    /* replace and membership */
    is_int(replace(&ix, "beta", text), CMN_OK, "load list beta");
    is_int(replace(&ix, "bet", "dev-1\nzzz\n"), CMN_OK, "load list bet (prefix of beta)");
    is_int(replace(&ix, "betb", "dev-7\n"), CMN_OK, "load list betb");
    is_int(has(&ix, "beta", "dev-1"), 1, "member");
    is_int(has(&ix, "beta", "dev-3"), 1, "last line without newline is a member");
    is_int(has(&ix, "beta", "dev-9"), 0, "commented id is not a member");
    is_int(has(&ix, "beta", "dev-"), 0, "prefix of an id is not a member");
    is_int(has(&ix, "gamma", "dev-1"), 0, "unknown list");
    is_int(replace(&ix, "beta", "dev-5\n"), CMN_OK, "replace beta");
    is_int(has(&ix, "beta", "dev-1"), 0, "old member gone after replace");
    is_int(has(&ix, "beta", "dev-5"), 1, "new member present");
    is_int(has(&ix, "bet", "zzz"), 1, "neighbour list 'bet' untouched");
    is_int(has(&ix, "betb", "dev-7"), 1, "neighbour list 'betb' untouched");
    is_int(replace(&ix, "bad name", "x\n"), CMN_E_INVAL, "invalid list name refused");

    /* a reader keeps its snapshot while a writer commits */
    MDB_txn *r;
    ok(mdb_txn_begin(ix.env, NULL, MDB_RDONLY, &r) == 0, "reader begins");
    is_int(replace(&ix, "beta", "dev-6\n"), CMN_OK, "writer commits while the reader is open");
    is_int(edge_index_list_has(&ix, r, "beta", "dev-5"), 1, "reader still sees its snapshot");
    mdb_txn_reset(r);
    ok(mdb_txn_renew(r) == 0, "renew");
    is_int(edge_index_list_has(&ix, r, "beta", "dev-6"), 1, "renewed reader sees the commit");
    mdb_txn_abort(r);

    /* meta */
    MDB_txn *t;
    char buf[64];
    ok(mdb_txn_begin(ix.env, NULL, 0, &t) == 0 && edge_meta_put(&ix, t, "k", "value") == CMN_OK &&
           mdb_txn_commit(t) == 0,
       "meta put");
    ok(mdb_txn_begin(ix.env, NULL, MDB_RDONLY, &t) == 0, "meta reader");
    is_int(edge_meta_get(&ix, t, "k", buf, sizeof(buf)), 1, "meta get");
    is_str(buf, "value", "meta value");
    is_int(edge_meta_get(&ix, t, "k", buf, 3), 1, "meta get truncated to the buffer");
    is_str(buf, "va", "truncated value NUL-terminated");
    is_int(edge_meta_get(&ix, t, "nope", buf, sizeof(buf)), 0, "missing meta");
    mdb_txn_abort(t);

    /* persistence */
    edge_index_close(&ix);
    is_int(edge_index_open(&ix, dir, 64 << 20, &eb), CMN_OK, "reopen");
    is_int(has(&ix, "beta", "dev-6"), 1, "lists survive a reopen");

    /* records of another format (an older edge's index): dropped with their ETags, rebuilt by the next sync */
    {
        MDB_txn *w;
        MDB_val k = {11, "demo/a/prod"}, val = {4, "old!"}, vk = {14, "record_version"}, vv = {1, "1"};
        ok(mdb_txn_begin(ix.env, NULL, 0, &w) == 0 && mdb_put(w, ix.manifests, &k, &val, 0) == 0 &&
               edge_meta_put(&ix, w, "etag:manifests/demo/a/prod.json", "\"e1\"") == CMN_OK &&
               mdb_put(w, ix.meta, &vk, &vv, 0) == 0 && mdb_txn_commit(w) == 0,
           "an index written by record format 1");
        edge_index_close(&ix);
        is_int(edge_index_open(&ix, dir, 64 << 20, &eb), CMN_OK, "reopen with format %d", EDGE_REC_VERSION);
        ok(mdb_txn_begin(ix.env, NULL, MDB_RDONLY, &w) == 0, "reader");
        ok(mdb_get(w, ix.manifests, &k, &val) == MDB_NOTFOUND, "old-format record dropped");
        is_int(edge_meta_get(&ix, w, "etag:manifests/demo/a/prod.json", buf, sizeof(buf)), 0,
               "its ETag dropped: the next pass fetches and verifies it again");
        ok(edge_meta_get(&ix, w, "record_version", buf, sizeof(buf)) == 1 && atoi(buf) == EDGE_REC_VERSION,
           "format recorded");
        mdb_txn_abort(w);
        is_int(has(&ix, "beta", "dev-6"), 1, "lists kept");
        ok(mdb_txn_begin(ix.env, NULL, 0, &w) == 0 && mdb_put(w, ix.manifests, &k, &val, 0) == 0 &&
               mdb_txn_commit(w) == 0,
           "a record of the current format");
        edge_index_close(&ix);
        is_int(edge_index_open(&ix, dir, 64 << 20, &eb), CMN_OK, "reopen, same format");
        ok(mdb_txn_begin(ix.env, NULL, MDB_RDONLY, &w) == 0 && mdb_get(w, ix.manifests, &k, &val) == 0,
           "same format: records kept");
        mdb_txn_abort(w);
    }

    /* a large list loads in one transaction */
    {
        size_t N = 200000;
        struct cmn_buf b;
        cmn_buf_init(&b, 16 << 20);
        int good = 1;
        for (size_t i = 0; i < N && good; i++)
            good = cmn_buf_addf(&b, "device-%08zu\n", (i * 7919) % N) == CMN_OK;
        ok(good, "built a %zu-line list", N);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        is_int(replace(&ix, "big", b.ptr), CMN_OK, "loaded the big list");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        diag("200k ids loaded in %.2f s", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        is_int(has(&ix, "big", "device-00123456"), 1, "member of the big list");
        is_int(has(&ix, "big", "device-00200000"), 0, "non-member of the big list");
        cmn_buf_release(&b);
    }
    is_str(edge_manifest_key("a", "b", "c", buf, sizeof(buf)) ? buf : "", "a/b/c", "manifest key");
    ok(cmn_id_valid_n("demo_1.x-y", 10) && !cmn_id_valid_n("a/b", 3) && !cmn_id_valid_n("", 0), "id validation");
    ok(edge_valid_device("d\xc3\xa9v", 4) && !edge_valid_device("d\xc0\xafv", 4) && !edge_valid_device("d\x80", 2) &&
           !edge_valid_device("d\xe2\x82", 3) && !edge_valid_device("d\xed\xa0\x80", 4) &&
           !edge_valid_device("\xf4\x90\x80\x80", 4) && edge_valid_device("\xf0\x9f\x98\x80", 4),
       "device ids must be valid UTF-8 (issue 12 #7)");
    ok(edge_valid_device("abc-DEF:1", 9) && edge_valid_device("ios:unit 7", 10) && !edge_valid_device("a\tb", 3),
       "device validation");
    edge_index_close(&ix);
    return done_testing();
}
