/*
 * index.c - the edge's LMDB environment. Three named databases:
 *   manifests  "app/platform/channel" -> compiled record (record.c)
 *   lists      list_name '\0' device_id -> empty value (targeting lists of any size)
 *   meta       sync state and the storage ETag of every object already applied
 * Request workers read it through MDB_RDONLY transactions that they reset and
 * renew per request (MVCC: a reader never waits for the writer); the sync pass
 * and the load-list subcommand are the only writers. MDB_NOTLS ties reader
 * slots to transactions, not threads, so a worker can keep one txn object.
 */
#include "common/compat.h"

#include <sys/stat.h>

#include "common/cjson.h"
#include "common/log.h"
#include "edge.h"

enum cmn_err edge_index_open(struct edge_index *ix, const char *dir, size_t map_size, struct cmn_errbuf *eb)
{
    int mrc;
    MDB_txn *txn = NULL;
    memset(ix, 0, sizeof(*ix));
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return cmn_errf(eb, CMN_E_IO, "cannot create '%s': %s", dir, strerror(errno));
    if ((mrc = mdb_env_create(&ix->env)) != 0)
        return cmn_errf(eb, CMN_E_NOMEM, "lmdb: %s", mdb_strerror(mrc));
    mdb_env_set_maxdbs(ix->env, 4);
    mdb_env_set_maxreaders(ix->env, 1024);
    mdb_env_set_mapsize(ix->env, map_size ? map_size : EDGE_MAP_SIZE_DEFAULT);
    if ((mrc = mdb_env_open(ix->env, dir, MDB_NOTLS, 0640)) != 0) {
        cmn_errf(eb, CMN_E_IO, "cannot open index '%s': %s", dir, mdb_strerror(mrc));
        goto fail;
    }
    /* Readers with stale slots (a killed process) would pin old pages forever. */
    int dead = 0;
    mdb_reader_check(ix->env, &dead);
    if ((mrc = mdb_txn_begin(ix->env, NULL, 0, &txn)) != 0 ||
        (mrc = mdb_dbi_open(txn, "manifests", MDB_CREATE, &ix->manifests)) != 0 ||
        (mrc = mdb_dbi_open(txn, "lists", MDB_CREATE, &ix->lists)) != 0 ||
        (mrc = mdb_dbi_open(txn, "meta", MDB_CREATE, &ix->meta)) != 0) {
        cmn_errf(eb, CMN_E_IO, "cannot open index databases in '%s': %s", dir, mdb_strerror(mrc));
        if (txn)
            mdb_txn_abort(txn);
        goto fail;
    }
    {
        /*
         * Records of another format are unreadable: drop them with their
         * ETags so the next sync pass fetches and verifies every manifest
         * again (a rebuild; lists are re-fetched too).
         */
        char want[16];
        int wl = snprintf(want, sizeof(want), "%u", (unsigned)EDGE_REC_VERSION);
        MDB_val k = {14, "record_version"}, v;
        MDB_stat st;
        int have = mdb_get(txn, ix->meta, &k, &v) == 0;
        int same = have && v.mv_size == (size_t)wl && memcmp(v.mv_data, want, (size_t)wl) == 0;
        if (!same && mdb_stat(txn, ix->manifests, &st) == 0 && st.ms_entries > 0) {
            cmn_warn("index '%s' holds records of another format: rebuilding it from storage", dir);
            if ((mrc = mdb_drop(txn, ix->manifests, 0)) != 0 || (mrc = mdb_drop(txn, ix->meta, 0)) != 0) {
                cmn_errf(eb, CMN_E_IO, "cannot reset index '%s': %s", dir, mdb_strerror(mrc));
                mdb_txn_abort(txn);
                goto fail;
            }
        }
        MDB_val nv = {(size_t)wl, want};
        if (!same && (mrc = mdb_put(txn, ix->meta, &k, &nv, 0)) != 0) {
            cmn_errf(eb, CMN_E_IO, "cannot initialise index '%s': %s", dir, mdb_strerror(mrc));
            mdb_txn_abort(txn);
            goto fail;
        }
    }
    if ((mrc = mdb_txn_commit(txn)) != 0) {
        cmn_errf(eb, CMN_E_IO, "cannot initialise index '%s': %s", dir, mdb_strerror(mrc));
        goto fail;
    }
    return CMN_OK;
fail:
    mdb_env_close(ix->env);
    ix->env = NULL;
    return CMN_E_IO;
}

void edge_index_close(struct edge_index *ix)
{
    if (ix->env)
        mdb_env_close(ix->env);
    ix->env = NULL;
}

size_t edge_manifest_key(const char *app, const char *platform, const char *channel, char *out, size_t cap)
{
    /* hot path (every check): no printf */
    size_t a = strlen(app), p = strlen(platform), c = strlen(channel);
    if (a + p + c + 3 > cap)
        return 0;
    memcpy(out, app, a);
    out[a] = '/';
    memcpy(out + a + 1, platform, p);
    out[a + 1 + p] = '/';
    memcpy(out + a + 2 + p, channel, c + 1);
    return a + p + c + 2;
}

int edge_valid_device(const char *s, size_t n)
{
    return n <= EDGE_DEVICE_MAX && cmn_device_id_valid(s, n);
}

int edge_index_list_has(struct edge_index *ix, MDB_txn *txn, const char *list, const char *device_id)
{
    char key[CMN_ID_MAX + 1 + EDGE_DEVICE_MAX + 1];
    size_t ln = strlen(list), dn = strlen(device_id);
    if (ln == 0 || ln > CMN_ID_MAX || dn == 0 || dn > EDGE_DEVICE_MAX)
        return 0;
    memcpy(key, list, ln);
    key[ln] = '\0';
    memcpy(key + ln + 1, device_id, dn);
    MDB_val k = {ln + 1 + dn, key}, v;
    return mdb_get(txn, ix->lists, &k, &v) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum cmn_err edge_index_list_replace(struct edge_index *ix, MDB_txn *txn, const char *name, char **ids, size_t n,
                                     struct cmn_errbuf *eb)
{
    size_t ln = strlen(name);
    char key[CMN_ID_MAX + 1 + EDGE_DEVICE_MAX + 1];
    MDB_cursor *cur = NULL;
    int mrc;

    if (!cmn_id_valid_n(name, ln))
        return cmn_errf(eb, CMN_E_INVAL, "invalid list name '%s'", name);
    memcpy(key, name, ln);
    key[ln] = '\0';

    /* Drop the old entries: every key that starts with name '\0'. */
    if ((mrc = mdb_cursor_open(txn, ix->lists, &cur)) != 0)
        return cmn_errf(eb, CMN_E_IO, "lmdb: %s", mdb_strerror(mrc));
    MDB_val k = {ln + 1, key}, v;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == 0 && k.mv_size > ln && memcmp(k.mv_data, key, ln + 1) == 0) {
        if ((mrc = mdb_cursor_del(cur, 0)) != 0)
            break;
        /* after a delete the cursor already refers to the next item: MDB_NEXT returns it */
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        return cmn_errf(eb, CMN_E_IO, "cannot clear list '%s': %s", name, mdb_strerror(mrc));

    /*
     * Sorted input lets most puts land at the end of the tree (cheap page
     * splits); duplicates are skipped. Keys compare as name '\0' id, and all
     * share the prefix, so sorting the ids by strcmp sorts the keys.
     */
    qsort(ids, n, sizeof(*ids), cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(ids[i], ids[i - 1]) == 0)
            continue;
        size_t dn = strlen(ids[i]);
        memcpy(key + ln + 1, ids[i], dn);
        MDB_val kk = {ln + 1 + dn, key}, vv = {0, ""};
        if ((mrc = mdb_put(txn, ix->lists, &kk, &vv, 0)) != 0)
            return cmn_errf(eb, mrc == MDB_MAP_FULL ? CMN_E_TOOBIG : CMN_E_IO, "cannot store list '%s': %s", name,
                            mdb_strerror(mrc));
    }
    return CMN_OK;
}

enum cmn_err edge_list_parse(const char *text, size_t len, char ***ids_out, size_t *n_out, struct cmn_errbuf *eb)
{
    char *copy = malloc(len + 1);
    char **ids = NULL;
    size_t n = 0, cap = 0, line = 0;
    if (!copy)
        return CMN_E_NOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';
    size_t i = 0;
    while (i < len) {
        line++;
        char *s = copy + i;
        char *nl = memchr(s, '\n', len - i);
        size_t l = nl ? (size_t)(nl - s) : len - i;
        i += l + (nl ? 1 : 0);
        if (l && s[l - 1] == '\r')
            l--;
        s[l] = '\0';
        while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
            s[--l] = '\0';
        while (*s == ' ' || *s == '\t') {
            s++;
            l--;
        }
        if (l == 0 || s[0] == '#')
            continue;
        if (!edge_valid_device(s, l)) {
            free(ids);
            free(copy);
            return cmn_errf(eb, CMN_E_PARSE, "invalid device id on line %zu", line);
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            char **ni = realloc(ids, nc * sizeof(*ids));
            if (!ni) {
                free(ids);
                free(copy);
                return CMN_E_NOMEM;
            }
            ids = ni;
            cap = nc;
        }
        ids[n++] = s;
    }
    if (n == 0) {
        /* keep ownership simple: a 1-slot array whose [0] is unused but keeps the copy alive */
        ids = malloc(sizeof(*ids));
        if (!ids) {
            free(copy);
            return CMN_E_NOMEM;
        }
    }
    /* ids[0] may have moved after qsort later: remember the copy in a hidden slot */
    char **with = realloc(ids, (n + 1) * sizeof(*ids));
    if (!with) {
        free(ids);
        free(copy);
        return CMN_E_NOMEM;
    }
    with[n] = copy;
    *ids_out = with;
    *n_out = n;
    return CMN_OK;
}

void edge_list_free(char **ids, size_t n)
{
    if (!ids)
        return;
    free(ids[n]);
    free(ids);
}

int edge_meta_get(struct edge_index *ix, MDB_txn *txn, const char *key, char *out, size_t cap)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    if (cap == 0 || mdb_get(txn, ix->meta, &k, &v) != 0)
        return 0;
    size_t n = v.mv_size < cap - 1 ? v.mv_size : cap - 1;
    memcpy(out, v.mv_data, n);
    out[n] = '\0';
    return 1;
}

enum cmn_err edge_meta_put(struct edge_index *ix, MDB_txn *txn, const char *key, const char *val)
{
    MDB_val k = {strlen(key), (void *)key}, v = {strlen(val), (void *)val};
    int mrc = mdb_put(txn, ix->meta, &k, &v, 0);
    if (mrc) {
        cmn_error("cannot write index meta '%s': %s", key, mdb_strerror(mrc));
        return mrc == MDB_MAP_FULL ? CMN_E_TOOBIG : CMN_E_IO;
    }
    return CMN_OK;
}
