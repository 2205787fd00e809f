#include "common/compat.h"

/*
 * state.c - the device's persistent state, <data dir>/state.json.
 *
 * One JSON object with sorted keys and a "checksum" field: the SHA-256 of the
 * compact, key-sorted rendering of the object without that field, so a torn
 * or bit-flipped file is detected, not half-trusted. Saving writes the same
 * bytes to state.json.bak and then state.json, each atomically (temp + fsync
 * + rename + directory fsync). Loading takes state.json, else the backup
 * (which is the same generation or one older), else a safe default: nothing
 * installed, so the device boots its embedded bundle and the next check
 * installs again. Each release records its signed target range and the
 * native binary version it was installed under (issue 12 #2; state files
 * from before that have neither, and are treated as "unknown"). Every field is validated on load; release ids are
 * [A-Za-z0-9._-]{1,64} and digests 64 hex characters, so nothing from the
 * file can name a path outside the data dir.
 */

#include "hp_int.h"

#define STATE_FORMAT 1

void hp__state_init(struct hp_state *st)
{
    memset(st, 0, sizeof *st);
    st->confirmed = 1; /* the embedded bundle needs no confirmation */
}

void hp__pending_clear(struct hp_pending *p)
{
    free(p->url);
    memset(p, 0, sizeof *p);
}

void hp__state_release(struct hp_state *st)
{
    for (size_t i = 0; i < st->n_blocklist; i++)
        free(st->blocklist[i]);
    hp__pending_clear(&st->pending);
    hp__state_init(st);
}

static int hex_ok(const char *s, size_t want)
{
    if (strlen(s) != want)
        return 0;
    for (size_t i = 0; i < want; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

int hp__rel_set(struct hp_rel *r, const char *id, const char *version, const char *sha256)
{
    if (!id || !version || !sha256 || !cmn_id_valid(id) || !text_ok(version, HP_VERSION_MAX) || !hex_ok(sha256, 64))
        return -1;
    memset(r, 0, sizeof *r);
    memcpy(r->id, id, strlen(id) + 1);
    memcpy(r->version, version, strlen(version) + 1);
    memcpy(r->sha256, sha256, 65);
    return 0;
}

int hp__rel_bind(struct hp_rel *r, const char *target_binary, const char *binary)
{
    struct cmn_semver_range rg;
    struct cmn_semver v;
    if (target_binary) {
        if (strlen(target_binary) > CMN_RANGE_TEXT_MAX || !text_ok(target_binary, CMN_RANGE_TEXT_MAX) ||
            cmn_semver_range_parse(target_binary, &rg) != CMN_OK)
            return -1;
        memcpy(r->target_binary, target_binary, strlen(target_binary) + 1);
    }
    if (binary) {
        if (strlen(binary) > HP_VERSION_MAX || cmn_semver_parse(binary, &v) != CMN_OK)
            return -1;
        memcpy(r->binary, binary, strlen(binary) + 1);
    }
    return 0;
}

int hp__rel_admits(const struct hp_rel *r, const char *binary)
{
    struct cmn_semver_range rg;
    struct cmn_semver v;
    if (!r->target_binary[0] || cmn_semver_range_parse(r->target_binary, &rg) != CMN_OK ||
        cmn_semver_parse(binary, &v) != CMN_OK)
        return 0;
    return cmn_semver_range_match(&rg, &v);
}

int hp__state_blocked(const struct hp_state *st, const char *id)
{
    for (size_t i = 0; i < st->n_blocklist; i++)
        if (strcmp(st->blocklist[i], id) == 0)
            return 1;
    return 0;
}

enum cmn_err hp__state_block(struct hp_state *st, const char *id)
{
    if (hp__state_blocked(st, id))
        return CMN_OK;
    char *dup = strdup(id);
    if (!dup)
        return CMN_E_NOMEM;
    if (st->n_blocklist == HP_MAX_BLOCKLIST) {
        /* Forget the oldest entry: releases that old are long gone from manifests. */
        free(st->blocklist[0]);
        memmove(st->blocklist, st->blocklist + 1, (HP_MAX_BLOCKLIST - 1) * sizeof st->blocklist[0]);
        st->n_blocklist--;
    }
    st->blocklist[st->n_blocklist++] = dup;
    return CMN_OK;
}

/* ---- render ---- */

static json_t *rel_json(const struct hp_rel *r)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "id", r->id, "version", r->version, "sha256", r->sha256);
    /* the binding (issue 12 #2) is written when known; state files from before it have 3 fields */
    if (o && r->target_binary[0] && json_object_set_new(o, "target_binary", json_string(r->target_binary))) {
        json_decref(o);
        return NULL;
    }
    if (o && r->binary[0] && json_object_set_new(o, "binary", json_string(r->binary))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *state_json(const struct hp_state *st)
{
    json_t *o = json_object(), *bl = json_array(), *v;
    if (!o || !bl)
        goto fail;
    for (size_t i = 0; i < st->n_blocklist; i++)
        if (json_array_append_new(bl, json_string(st->blocklist[i])))
            goto fail;
    if (json_object_set_new(o, "blocklist", bl))
        goto fail_o;
    bl = NULL;
    if (json_object_set_new(o, "format", json_integer(STATE_FORMAT)) ||
        json_object_set_new(o, "gen", json_integer((json_int_t)st->gen)) ||
        json_object_set_new(o, "sequence", json_integer((json_int_t)st->sequence)) ||
        json_object_set_new(o, "launches", json_integer(st->launches)) ||
        json_object_set_new(o, "confirmed", json_boolean(st->confirmed)) ||
        json_object_set_new(o, "installed", st->has_installed ? rel_json(&st->installed) : json_null()) ||
        json_object_set_new(o, "previous", st->has_previous ? rel_json(&st->previous) : json_null()))
        goto fail_o;
    if (st->has_pending) {
        const struct hp_pending *p = &st->pending;
        v = json_pack("{s:o, s:I, s:s, s:s, s:s}", "release", rel_json(&p->rel), "size", (json_int_t)p->size, "url",
                      p->url ? p->url : "", "bundle_sig", p->bundle_sig, "bundle_keyid", p->bundle_keyid);
    } else {
        v = json_null();
    }
    if (json_object_set_new(o, "pending", v))
        goto fail_o;
    if (st->op != HP_OP_NONE)
        v = json_pack("{s:s, s:o, s:b, s:b}", "kind", st->op == HP_OP_INSTALL ? "install" : "revert", "release",
                      rel_json(&st->op_rel), "to_previous", st->op_to_previous, "blocklist", st->op_blocklist);
    else
        v = json_null();
    if (json_object_set_new(o, "op", v))
        goto fail_o;
    if (st->boot_note[0] && json_object_set_new(o, "boot_note", json_string(st->boot_note)))
        goto fail_o;
    return o;
fail:
    json_decref(bl);
fail_o:
    json_decref(o);
    return NULL;
}

/* SHA-256 hex of the compact key-sorted rendering of `o` (which has no checksum key). */
static enum cmn_err state_checksum(const json_t *o, char hex[CMN_SHA256_HEX])
{
    uint8_t d[CMN_SHA256_BYTES];
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    if (!s)
        return CMN_E_NOMEM;
    cmn_sha256(s, strlen(s), d);
    cmn_hex_encode(d, sizeof d, hex);
    free(s);
    return CMN_OK;
}

enum cmn_err hp__state_render(const struct hp_state *st, char **out, size_t *len)
{
    char hex[CMN_SHA256_HEX];
    json_t *o = state_json(st);
    if (!o)
        return CMN_E_NOMEM;
    enum cmn_err rc = state_checksum(o, hex);
    if (rc || json_object_set_new(o, "checksum", json_string(hex))) {
        json_decref(o);
        return CMN_E_NOMEM;
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!s)
        return CMN_E_NOMEM;
    *out = s;
    *len = strlen(s);
    return CMN_OK;
}

/* ---- parse ---- */

static enum cmn_err rel_parse(json_t *v, struct hp_rel *r, const char *what, struct cmn_errbuf *eb)
{
    const char *id = NULL, *ver = NULL, *sha = NULL, *tb = NULL, *bin = NULL;
    json_error_t je;
    if (!json_is_object(v) || json_object_size(v) < 3 || json_object_size(v) > 5 ||
        json_unpack_ex(v, &je, JSON_STRICT, "{s:s, s:s, s:s, s?s, s?s}", "id", &id, "version", &ver, "sha256", &sha,
                       "target_binary", &tb, "binary", &bin) != 0 ||
        hp__rel_set(r, id, ver, sha) != 0 || hp__rel_bind(r, tb, bin) != 0)
        return cmn_errf(eb, CMN_E_PARSE, "state: bad '%s' release", what);
    return CMN_OK;
}

static enum cmn_err get_uint(json_t *o, const char *key, uint64_t max, uint64_t *out, struct cmn_errbuf *eb)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return cmn_errf(eb, CMN_E_PARSE, "state: bad '%s'", key);
    *out = (uint64_t)json_integer_value(v);
    return CMN_OK;
}

static enum cmn_err parse_obj(json_t *o, struct hp_state *st, struct cmn_errbuf *eb)
{
    enum cmn_err rc;
    uint64_t u;
    json_t *v;

    rc = get_uint(o, "format", STATE_FORMAT, &u, eb);
    if (rc || u != STATE_FORMAT)
        return cmn_errf(eb, CMN_E_PARSE, "state: unsupported format");
    if ((rc = get_uint(o, "gen", UINT64_C(1) << 53, &st->gen, eb)) ||
        (rc = get_uint(o, "sequence", UINT64_C(1) << 53, &st->sequence, eb)))
        return rc;
    if ((rc = get_uint(o, "launches", 1000, &u, eb)))
        return rc;
    st->launches = (int)u;
    v = json_object_get(o, "confirmed");
    if (!json_is_boolean(v))
        return cmn_errf(eb, CMN_E_PARSE, "state: bad 'confirmed'");
    st->confirmed = json_is_true(v);

    v = json_object_get(o, "installed");
    if (!v)
        return cmn_errf(eb, CMN_E_PARSE, "state: missing 'installed'");
    if (!json_is_null(v)) {
        if ((rc = rel_parse(v, &st->installed, "installed", eb)))
            return rc;
        st->has_installed = 1;
    }
    v = json_object_get(o, "previous");
    if (!v)
        return cmn_errf(eb, CMN_E_PARSE, "state: missing 'previous'");
    if (!json_is_null(v)) {
        if ((rc = rel_parse(v, &st->previous, "previous", eb)))
            return rc;
        st->has_previous = 1;
    }

    v = json_object_get(o, "blocklist");
    if (!json_is_array(v) || json_array_size(v) > HP_MAX_BLOCKLIST)
        return cmn_errf(eb, CMN_E_PARSE, "state: bad 'blocklist'");
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *id = json_string_value(json_array_get(v, i));
        if (!id || !cmn_id_valid(id))
            return cmn_errf(eb, CMN_E_PARSE, "state: bad blocklist entry");
        if ((rc = hp__state_block(st, id)))
            return rc;
    }

    v = json_object_get(o, "pending");
    if (!v)
        return cmn_errf(eb, CMN_E_PARSE, "state: missing 'pending'");
    if (!json_is_null(v)) {
        json_t *rel = NULL;
        json_int_t size = 0;
        const char *url = NULL, *sig = NULL, *kid = NULL;
        json_error_t je;
        if (json_unpack_ex(v, &je, JSON_STRICT, "{s:o, s:I, s:s, s:s, s:s}", "release", &rel, "size", &size, "url",
                           &url, "bundle_sig", &sig, "bundle_keyid", &kid) != 0 ||
            size < 0 || strlen(url) < 1 || !text_ok(url, 4096) || strlen(sig) + 1 > CMN_SIG_B64 ||
            !text_ok(sig, CMN_SIG_B64) || !hex_ok(kid, 16))
            return cmn_errf(eb, CMN_E_PARSE, "state: bad 'pending'");
        if ((rc = rel_parse(rel, &st->pending.rel, "pending", eb)))
            return rc;
        st->pending.size = (uint64_t)size;
        st->pending.url = strdup(url);
        if (!st->pending.url)
            return CMN_E_NOMEM;
        memcpy(st->pending.bundle_sig, sig, strlen(sig) + 1);
        memcpy(st->pending.bundle_keyid, kid, 17);
        st->has_pending = 1;
    }

    v = json_object_get(o, "op");
    if (!v)
        return cmn_errf(eb, CMN_E_PARSE, "state: missing 'op'");
    if (!json_is_null(v)) {
        const char *kind = NULL;
        json_t *rel = NULL;
        int to_prev = 0, block = 0;
        json_error_t je;
        if (json_unpack_ex(v, &je, JSON_STRICT, "{s:s, s:o, s:b, s:b}", "kind", &kind, "release", &rel, "to_previous",
                           &to_prev, "blocklist", &block) != 0)
            return cmn_errf(eb, CMN_E_PARSE, "state: bad 'op'");
        if (strcmp(kind, "install") == 0)
            st->op = HP_OP_INSTALL;
        else if (strcmp(kind, "revert") == 0)
            st->op = HP_OP_REVERT;
        else
            return cmn_errf(eb, CMN_E_PARSE, "state: bad 'op' kind");
        if ((rc = rel_parse(rel, &st->op_rel, "op", eb)))
            return rc;
        st->op_to_previous = to_prev;
        st->op_blocklist = block;
        if (st->op == HP_OP_REVERT && to_prev && !st->has_previous)
            return cmn_errf(eb, CMN_E_PARSE, "state: revert to a missing previous release");
    }
    size_t known = 10;
    v = json_object_get(o, "boot_note");
    if (v) {
        const char *note = json_string_value(v);
        if (!note || !note[0] || strlen(note) >= sizeof st->boot_note || !text_ok(note, sizeof st->boot_note))
            return cmn_errf(eb, CMN_E_PARSE, "state: bad 'boot_note'");
        memcpy(st->boot_note, note, strlen(note) + 1);
        known++;
    }
    /* 10 known keys, 11 with a boot note (the checksum was removed): anything else is not ours. */
    if (json_object_size(o) != known)
        return cmn_errf(eb, CMN_E_PARSE, "state: unexpected keys");
    return CMN_OK;
}

enum cmn_err hp__state_parse(const char *p, size_t n, struct hp_state *out, struct cmn_errbuf *eb)
{
    enum cmn_err rc;
    json_error_t je;
    json_t *o = NULL;
    struct hp_state st;
    char want[CMN_SHA256_HEX];

    hp__state_init(&st);
    if (n > HP_STATE_MAX_BYTES)
        return cmn_errf(eb, CMN_E_TOOBIG, "state: file too large");
    o = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        rc = cmn_errf(eb, CMN_E_PARSE, "state: not a JSON object (%s)", o ? "wrong type" : je.text);
        goto out;
    }
    const char *sum = json_string_value(json_object_get(o, "checksum"));
    if (!sum || !hex_ok(sum, 64)) {
        rc = cmn_errf(eb, CMN_E_PARSE, "state: missing checksum");
        goto out;
    }
    char got[CMN_SHA256_HEX];
    memcpy(got, sum, sizeof got);
    json_object_del(o, "checksum");
    rc = state_checksum(o, want);
    if (rc)
        goto out;
    if (!cmn_ct_equal(want, got, 64)) {
        rc = cmn_errf(eb, CMN_E_HASH, "state: checksum mismatch");
        goto out;
    }
    rc = parse_obj(o, &st, eb);
    if (rc)
        goto out;
    *out = st;
    hp__state_init(&st);
out:
    hp__state_release(&st);
    json_decref(o);
    return rc;
}

static enum cmn_err load_one(const char *dir, const char *name, struct hp_state *out, int *missing,
                             struct cmn_errbuf *eb)
{
    struct cmn_buf b;
    char *path = hp__path(dir, name);
    if (!path)
        return CMN_E_NOMEM;
    enum cmn_err rc = hp__read_file(path, HP_STATE_MAX_BYTES, &b, eb);
    free(path);
    *missing = rc == CMN_E_NOTFOUND;
    if (rc)
        return rc;
    rc = hp__state_parse(b.ptr ? b.ptr : "", b.len, out, eb);
    cmn_buf_release(&b);
    return rc;
}

enum cmn_err hp__state_load(const char *dir, struct hp_state *out, int *source, struct cmn_errbuf *eb)
{
    int miss_main = 0, miss_bak = 0;
    struct cmn_errbuf e1 = {{0}}, e2 = {{0}};
    enum cmn_err rc = load_one(dir, "state.json", out, &miss_main, &e1);
    if (rc == CMN_OK) {
        *source = 0;
        return CMN_OK;
    }
    if (rc == CMN_E_NOMEM)
        return rc;
    rc = load_one(dir, "state.json.bak", out, &miss_bak, &e2);
    if (rc == CMN_OK) {
        *source = 1;
        return CMN_OK;
    }
    if (rc == CMN_E_NOMEM)
        return rc;
    hp__state_init(out);
    *source = (miss_main && miss_bak) ? 0 : 2;
    if (*source == 2)
        cmn_errf(eb, CMN_E_PARSE, "state.json and its backup are unreadable (%s); starting from the embedded bundle",
                 e1.msg);
    return CMN_OK;
}

enum cmn_err hp__state_save(const char *dir, struct hp_state *st, struct cmn_errbuf *eb)
{
    char *s = NULL;
    size_t n = 0;
    st->gen++;
    enum cmn_err rc = hp__state_render(st, &s, &n);
    if (rc)
        return rc;
    /*
     * Backup first, then the main file, one directory fsync for both renames:
     * until it, either file may still be the previous generation, and both
     * generations are consistent with the data dir because the caller acts
     * (renames directories) only after this returns.
     */
    rc = hp__write_atomic(dir, "state.json.bak", s, n, 0, eb);
    if (!rc)
        rc = hp__write_atomic(dir, "state.json", s, n, 1, eb);
    free(s);
    return rc;
}
