/*
 * cmd_root.c - `hotpatch root init|rotate|revoke|sign|show|publish`: the
 * app's signed root of trust (manifests/SPEC.md section 17).
 *
 * Root keys stay offline: every verb except `publish` works on local files
 * only, and the publisher never sees a root secret. A new root is written as
 * a file signed by whichever --sign key files are at hand; more holders add
 * their signatures with `root sign` until both thresholds are met (a
 * threshold of the previous root's keys and of the new root's own keys).
 * `publish` uploads a complete root to storage as roots/<app>/<N>.json (never
 * overwriting a published version) and roots/<app>/root.json, after checking
 * that it is a valid successor of the stored version N-1.
 */
#include "common/compat.h"

#include "cli.h"
#include "common/file.h"
#include "common/root.h"
#include "common/str.h"

#define ROOT_DEFAULT_TTL (365LL * 24 * 3600)

static int read_doc(const char *path, struct cmn_buf *out)
{
    FILE *f = fopen(path, "rb");
    char chunk[8192];
    size_t n;
    if (!f)
        return cli_fail(errno == ENOENT ? CLI_EXIT_NOTFOUND : CLI_EXIT_FAIL, "cannot open '%s': %s", path,
                        strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (cmn_buf_add(out, chunk, n) != CMN_OK) {
            fclose(f);
            return cli_fail(CLI_EXIT_VERIFY, "'%s' is larger than %u bytes: not a root document", path,
                            CMN_ROOT_MAX_BYTES);
        }
    }
    fclose(f);
    return 0;
}

static int write_doc(const char *path, const struct cmn_buf *b)
{
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc = cmn_file_write_atomic(path, b->ptr, b->len, 0644, 0, &eb);
    return rc ? cli_fail_rc(rc, &eb, "cannot write '%s'", path) : 0;
}

/* Comma-separated secret key files. */
static int load_signers(const char *list, struct cmn_key *keys, size_t *n)
{
    char buf[4096];
    *n = 0;
    if (!list)
        return 0;
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (*n == CMN_ROOT_MAX_SIGNATURES)
            return cli_fail(CLI_EXIT_USAGE, "at most %d --sign key files", CMN_ROOT_MAX_SIGNATURES);
        int ex = cli_load_secret(p, NULL, NULL, NULL, "root", "pass --sign FILE[,FILE] (hotpatch keygen --out FILE)",
                                 &keys[*n]);
        if (ex)
            return ex;
        (*n)++;
    }
    return 0;
}

static void wipe_keys(struct cmn_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cmn_key_clear(&keys[i]);
}

/* A key given as base64 public key or as its 16-hex key id: the key id. */
static int key_ref(const char *s, char id[CMN_KEYID_HEX])
{
    struct cmn_key k;
    struct cmn_errbuf eb = {{0}};
    if (strlen(s) == CMN_KEYID_HEX - 1 && strspn(s, "0123456789abcdef") == CMN_KEYID_HEX - 1) {
        memcpy(id, s, CMN_KEYID_HEX);
        return 0;
    }
    if (cmn_key_from_public_b64(s, &k, &eb))
        return cli_fail(CLI_EXIT_USAGE, "'%s' is neither a base64 public key nor a 16-hex key id", s);
    memcpy(id, k.keyid, CMN_KEYID_HEX);
    return 0;
}

/* Remove key id `id` from keys[0..*n); 1 when it was there. */
static int drop_key(struct cmn_key *keys, size_t *n, const char *id)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(keys[i].keyid, id) == 0) {
            memmove(&keys[i], &keys[i + 1], (*n - i - 1) * sizeof(keys[0]));
            (*n)--;
            return 1;
        }
    }
    return 0;
}

/* Add public keys from a list to keys[0..*n), skipping ones already there. */
static int add_keys(const char *list, struct cmn_key *keys, size_t *n)
{
    struct cmn_key tmp[CMN_ROOT_MAX_KEYS];
    size_t nt = 0;
    int ex = cli_parse_pubkeys(list, tmp, CMN_ROOT_MAX_KEYS, &nt);
    if (ex)
        return ex;
    for (size_t i = 0; i < nt; i++) {
        int have = 0;
        for (size_t j = 0; j < *n; j++)
            have |= strcmp(keys[j].keyid, tmp[i].keyid) == 0;
        if (have)
            continue;
        if (*n == CMN_ROOT_MAX_KEYS)
            return cli_fail(CLI_EXIT_USAGE, "at most %d keys per list", CMN_ROOT_MAX_KEYS);
        keys[(*n)++] = tmp[i];
    }
    return 0;
}

/* Signature counts of a root document: by the previous root's keys (when given) and by its own. */
static json_t *status_json(const struct cmn_root *r, const struct cmn_root *prev, const struct cmn_buf *doc,
                           int *complete)
{
    unsigned own = 0, old = 0;
    struct cmn_errbuf eb = {{0}};
    if (cmn_root_count_signatures(doc->ptr, doc->len, r->root_keys, r->n_root_keys, &own, &eb))
        own = 0;
    if (prev && cmn_root_count_signatures(doc->ptr, doc->len, prev->root_keys, prev->n_root_keys, &old, &eb))
        old = 0;
    *complete = own >= r->threshold && (!prev || old >= prev->threshold);
    json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:b,s:{s:i,s:i}}", "app", r->app, "version", (json_int_t)r->version,
                          "expires_at", (json_int_t)r->expires_at, "threshold", (json_int_t)r->threshold, "complete",
                          *complete, "signatures", "own", (int)own, "own_threshold", (int)r->threshold);
    if (prev) {
        json_t *s = json_object_get(o, "signatures");
        json_object_set_new(s, "previous", json_integer(old));
        json_object_set_new(s, "previous_threshold", json_integer(prev->threshold));
        json_object_set_new(s, "previous_version", json_integer((json_int_t)prev->version));
    }
    json_t *rk = json_array(), *mk = json_array(), *bk = json_array(), *rv = json_array();
    for (size_t i = 0; i < r->n_root_keys; i++)
        json_array_append_new(rk, json_string(r->root_keys[i].keyid));
    for (size_t i = 0; i < r->n_manifest_keys; i++)
        json_array_append_new(mk, json_string(r->manifest_keys[i].keyid));
    for (size_t i = 0; i < r->n_release_keys; i++)
        json_array_append_new(bk, json_string(r->release_keys[i].keyid));
    for (size_t i = 0; i < r->n_revoked; i++)
        json_array_append_new(rv, json_string(r->revoked[i]));
    json_object_set_new(o, "root_keys", rk);
    json_object_set_new(o, "manifest_keys", mk);
    json_object_set_new(o, "release_keys", bk);
    json_object_set_new(o, "revoked_keys", rv);
    return o;
}

static void print_status(json_t *o, const char *out)
{
    if (out)
        json_object_set_new(o, "file", json_string(out));
    if (cli_out.json) {
        cli_print_json(o);
        return;
    }
    json_t *s = json_object_get(o, "signatures");
    printf("root %s version %lld%s%s\n", json_string_value(json_object_get(o, "app")),
           (long long)json_integer_value(json_object_get(o, "version")), out ? " -> " : "", out ? out : "");
    char when[CMN_ISO_TIME_MAX];
    cli_iso_time(json_integer_value(json_object_get(o, "expires_at")), when, sizeof(when));
    printf("  expires: %s\n", when);
    printf("  signatures: own %lld/%lld", (long long)json_integer_value(json_object_get(s, "own")),
           (long long)json_integer_value(json_object_get(s, "own_threshold")));
    if (json_object_get(s, "previous"))
        printf(", previous root %lld/%lld", (long long)json_integer_value(json_object_get(s, "previous")),
               (long long)json_integer_value(json_object_get(s, "previous_threshold")));
    printf("  %s\n", json_is_true(json_object_get(o, "complete"))
                         ? "complete"
                         : "INCOMPLETE: more holders must run 'hotpatch root sign'");
    const char *lists[] = {"root_keys", "manifest_keys", "release_keys", "revoked_keys"};
    for (size_t i = 0; i < CMN_ARRAY_SIZE(lists); i++) {
        json_t *a = json_object_get(o, lists[i]);
        printf("  %-14s", lists[i]);
        for (size_t j = 0; j < json_array_size(a); j++)
            printf(" %s", json_string_value(json_array_get(a, j)));
        printf("\n");
    }
    json_decref(o);
}

/* Open a root file as trusted (self-threshold); reports errors. */
static int open_file(const char *path, struct cmn_root **out)
{
    struct cmn_buf doc;
    struct cmn_errbuf eb = {{0}};
    cmn_buf_init(&doc, CMN_ROOT_MAX_BYTES);
    int ex = read_doc(path, &doc);
    if (!ex) {
        enum cmn_err rc = cmn_root_open(doc.ptr ? doc.ptr : "", doc.len, NULL, out, &eb);
        if (rc)
            ex = cli_fail(CLI_EXIT_VERIFY, "root '%s' is not valid: %s", path, cmn_errmsg(&eb, rc));
    }
    cmn_buf_release(&doc);
    return ex;
}

/* init / rotate / revoke: build, sign with what is at hand, write. */
static int make(int argc, char **argv, const char *verb)
{
    const char *app = NULL, *root_keys = NULL, *add_root = NULL, *rm_root = NULL, *thr = NULL, *mkeys = NULL,
               *add_m = NULL, *rm_m = NULL, *rkeys = NULL, *expires = NULL, *sign = NULL, *from = NULL, *out = NULL,
               *revoke = NULL;
    struct cli_args a;
    struct cmn_key signers[CMN_ROOT_MAX_SIGNATURES];
    size_t ns = 0;
    struct cmn_root *prev = NULL, *r = NULL;
    struct cmn_buf doc;
    struct cmn_errbuf eb = {{0}};
    int ex, init = strcmp(verb, "init") == 0, rev = strcmp(verb, "revoke") == 0, complete = 0;
    const struct cli_opt opts[] = {
        {"app", "NAME", &app, NULL, "init: the app this root is for"},
        {"from", "FILE", &from, NULL, "rotate/revoke: the current root (version N; the new one is N+1)"},
        {"root-keys", "B64[,B64]", &root_keys, NULL, "the root public keys (init default: the --sign keys)"},
        {"add-root-key", "B64[,B64]", &add_root, NULL, "rotate: add root public key(s)"},
        {"remove-root-key", "B64|KEYID", &rm_root, NULL, "rotate: remove a root key"},
        {"threshold", "N", &thr, NULL, "root signatures needed (init default 1; rotate keeps it)"},
        {"manifest-keys", "B64[,B64]", &mkeys, NULL, "init: the manifest public keys devices and edges trust"},
        {"add-manifest-key", "B64[,B64]", &add_m, NULL, "rotate: trust new manifest key(s)"},
        {"remove-manifest-key", "B64|KEYID", &rm_m, NULL, "rotate: stop trusting a manifest key (not revoked)"},
        {"release-keys", "B64[,B64]", &rkeys, NULL, "release (bundle) public keys; replaces the list"},
        {"key", "B64|KEYID", &revoke, NULL, "revoke: the compromised key (any role)"},
        {"expires", "DURATION", &expires, NULL, "validity from now, e.g. 365d (default 365d)"},
        {"sign", "FILE[,FILE]", &sign, NULL, "root secret key file(s) to sign with now"},
        {"out", "FILE", &out, NULL, "where to write the new root (required)"},
        {0},
    };
    char usage[160], name[32];
    snprintf(name, sizeof(name), "root %s", verb);
    snprintf(usage, sizeof(usage), "hotpatch root %s %s--sign FILE[,FILE] --out FILE", verb,
             init  ? "--app A --manifest-keys B64 [--threshold N] "
             : rev ? "--from FILE --key B64|KEYID "
                   : "--from FILE [changes] ");
    const struct cli_cmd cmd = {
        name,
        init  ? "Create version 1 of an app's root of trust (offline; embed it in the app, give it to edges)."
        : rev ? "Create the next root with a compromised key removed and listed as revoked."
              : "Create the next root version with changed keys, threshold or expiry.",
        usage, NULL,
        "The new root must be signed by a threshold of the previous root's keys AND of its own\n"
        "root keys. Sign with the key files at hand (--sign); other holders add theirs with\n"
        "'hotpatch root sign'. Then 'hotpatch root publish FILE --storage URL'.\n"};
    if ((ex = cli_parse_flags(&cmd, opts, argc, argv, &a)) || a.help)
        return ex;
    if (!out)
        return cli_fail(CLI_EXIT_USAGE, "missing --out FILE");
    if (init && (!app || !mkeys))
        return cli_fail(CLI_EXIT_USAGE, "root init needs --app NAME and --manifest-keys B64[,B64]");
    if (init && !cmn_id_valid(app))
        return cli_fail(CLI_EXIT_USAGE, "bad app name '%s'", app);
    if (!init && !from)
        return cli_fail(CLI_EXIT_USAGE, "root %s needs --from FILE (the current root)", verb);
    if (rev && !revoke)
        return cli_fail(CLI_EXIT_USAGE, "root revoke needs --key B64|KEYID");
    long long ttl = ROOT_DEFAULT_TTL;
    if (expires && (ttl = cli_parse_duration(expires)) <= 0)
        return cli_fail(CLI_EXIT_USAGE, "bad --expires '%s' (e.g. 365d, 90d, 12h)", expires);
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    cmn_buf_init(&doc, CMN_ROOT_MAX_BYTES);
    if ((ex = load_signers(sign, signers, &ns)))
        goto out;
    if (init) {
        r = cmn_root_new(app);
        if (!r) {
            ex = cli_fail(CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
        r->threshold = 1;
        if (root_keys) {
            if ((ex = add_keys(root_keys, r->root_keys, &r->n_root_keys)))
                goto out;
        } else {
            for (size_t i = 0; i < ns; i++) {
                r->root_keys[r->n_root_keys] = signers[i];
                cmn_wipe(r->root_keys[r->n_root_keys].sk, CMN_SK_BYTES);
                r->root_keys[r->n_root_keys++].has_secret = 0;
            }
        }
        if ((ex = add_keys(mkeys, r->manifest_keys, &r->n_manifest_keys)))
            goto out;
        r->version = 1;
    } else {
        if ((ex = open_file(from, &prev)))
            goto out;
        r = cmn_root_new(prev->app);
        if (!r) {
            ex = cli_fail(CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
        char *keep_env = r->env;
        *r = *prev;
        r->env = keep_env;
        r->version = prev->version + 1;
        if (root_keys) {
            r->n_root_keys = 0;
            if ((ex = add_keys(root_keys, r->root_keys, &r->n_root_keys)))
                goto out;
        }
        if (add_root && (ex = add_keys(add_root, r->root_keys, &r->n_root_keys)))
            goto out;
        if (rm_root) {
            char id[CMN_KEYID_HEX];
            if ((ex = key_ref(rm_root, id)))
                goto out;
            if (!drop_key(r->root_keys, &r->n_root_keys, id)) {
                ex = cli_fail(CLI_EXIT_NOTFOUND, "root key %s is not in root version %llu", id,
                              (unsigned long long)prev->version);
                goto out;
            }
        }
        if (add_m && (ex = add_keys(add_m, r->manifest_keys, &r->n_manifest_keys)))
            goto out;
        if (rm_m) {
            char id[CMN_KEYID_HEX];
            if ((ex = key_ref(rm_m, id)))
                goto out;
            if (!drop_key(r->manifest_keys, &r->n_manifest_keys, id)) {
                ex = cli_fail(CLI_EXIT_NOTFOUND, "manifest key %s is not in root version %llu", id,
                              (unsigned long long)prev->version);
                goto out;
            }
        }
        if (rev) {
            char id[CMN_KEYID_HEX];
            if ((ex = key_ref(revoke, id)))
                goto out;
            int had = drop_key(r->root_keys, &r->n_root_keys, id) |
                      drop_key(r->manifest_keys, &r->n_manifest_keys, id) |
                      drop_key(r->release_keys, &r->n_release_keys, id);
            if (!had) {
                ex = cli_fail(CLI_EXIT_NOTFOUND, "key %s is not trusted by root version %llu: nothing to revoke", id,
                              (unsigned long long)prev->version);
                goto out;
            }
            if (r->n_revoked == CMN_ROOT_MAX_REVOKED) {
                ex = cli_fail(CLI_EXIT_USAGE, "the root already lists %d revoked keys", CMN_ROOT_MAX_REVOKED);
                goto out;
            }
            memcpy(r->revoked[r->n_revoked++], id, CMN_KEYID_HEX);
            if (r->threshold > r->n_root_keys && r->n_root_keys)
                r->threshold = (unsigned)r->n_root_keys;
        }
    }
    if (rkeys) {
        r->n_release_keys = 0;
        if ((ex = add_keys(rkeys, r->release_keys, &r->n_release_keys)))
            goto out;
    }
    if (thr) {
        long long t = cli_parse_uint(thr, 1, CMN_ROOT_MAX_KEYS);
        if (t < 0) {
            ex = cli_fail(CLI_EXIT_USAGE, "bad --threshold '%s' (1-%d)", thr, CMN_ROOT_MAX_KEYS);
            goto out;
        }
        r->threshold = (unsigned)t;
    }
    r->issued_at = (int64_t)time(NULL);
    r->expires_at = r->issued_at + ttl;
    cmn_root_sort(r);
    enum cmn_err rc = cmn_root_seal(r, signers, ns, &doc, &eb);
    if (rc) {
        ex = cli_fail(rc == CMN_E_PARSE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL, "cannot make root version %llu: %s",
                      (unsigned long long)r->version, cmn_errmsg(&eb, rc));
        goto out;
    }
    if ((ex = write_doc(out, &doc)))
        goto out;
    print_status(status_json(r, prev, &doc, &complete), out);
out:
    wipe_keys(signers, ns);
    cmn_root_free(prev);
    if (r)
        r->env = NULL; /* never owned here */
    cmn_root_free(r);
    cmn_buf_release(&doc);
    return ex;
}

static int sign_cmd(int argc, char **argv)
{
    const char *sign = NULL, *prev_path = NULL, *out = NULL;
    struct cli_args a;
    struct cmn_key signers[CMN_ROOT_MAX_SIGNATURES];
    size_t ns = 0;
    struct cmn_root *prev = NULL, *r = NULL;
    struct cmn_buf doc, next;
    struct cmn_errbuf eb = {{0}};
    int ex, complete = 0;
    const struct cli_opt opts[] = {
        {"sign", "FILE[,FILE]", &sign, NULL, "root secret key file(s) to add signatures with (required)"},
        {"previous", "FILE", &prev_path, NULL, "the previous root, to report its threshold"},
        {"out", "FILE", &out, NULL, "write here instead of replacing FILE"},
        {0},
    };
    const struct cli_cmd cmd = {"root sign", "Add root signatures to a root document (threshold signing).",
                                "hotpatch root sign FILE --sign FILE[,FILE] [--previous FILE] [--out FILE]", NULL,
                                NULL};
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    if (a.npos != 1 || !sign)
        return cli_fail(CLI_EXIT_USAGE, "usage: hotpatch root sign FILE --sign FILE[,FILE]");
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    cmn_buf_init(&doc, CMN_ROOT_MAX_BYTES);
    cmn_buf_init(&next, CMN_ROOT_MAX_BYTES);
    if ((ex = read_doc(a.pos[0], &doc)) || (ex = load_signers(sign, signers, &ns)))
        goto out;
    if (prev_path && (ex = open_file(prev_path, &prev)))
        goto out;
    for (size_t i = 0; i < ns; i++) {
        enum cmn_err rc = cmn_root_add_signature(doc.ptr ? doc.ptr : "", doc.len, &signers[i], &next, &eb);
        if (rc) {
            ex = cli_fail_rc(rc, &eb, "cannot sign '%s'", a.pos[0]);
            goto out;
        }
        struct cmn_buf t = doc;
        doc = next;
        next = t;
        next.len = 0;
    }
    enum cmn_err rc = cmn_root_parse_unverified(doc.ptr, doc.len, &r, &eb);
    if (rc) {
        ex = cli_fail_rc(rc, &eb, "cannot read back '%s'", a.pos[0]);
        goto out;
    }
    if ((ex = write_doc(out ? out : a.pos[0], &doc)))
        goto out;
    print_status(status_json(r, prev, &doc, &complete), out ? out : a.pos[0]);
out:
    wipe_keys(signers, ns);
    cmn_root_free(prev);
    cmn_root_free(r);
    cmn_buf_release(&doc);
    cmn_buf_release(&next);
    return ex;
}

static int show_cmd(int argc, char **argv)
{
    const char *prev_path = NULL;
    struct cli_args a;
    struct cmn_root *prev = NULL, *r = NULL, *ok_r = NULL;
    struct cmn_buf doc;
    struct cmn_errbuf eb = {{0}}, e2 = {{0}};
    int ex, complete = 0;
    const struct cli_opt opts[] = {
        {"previous", "FILE", &prev_path, NULL, "verify FILE as the successor of this root"},
        {0},
    };
    const struct cli_cmd cmd = {"root show",
                                "Print a root document and verify it (its own threshold, and the previous root's).",
                                "hotpatch root show FILE [--previous FILE]", NULL,
                                "Exit 5 when the root is not valid as a successor of --previous (or, without it, not\n"
                                "signed by a threshold of its own root keys), or when it has expired.\n"};
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    if (a.npos != 1)
        return cli_fail(CLI_EXIT_USAGE, "usage: hotpatch root show FILE [--previous FILE]");
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    cmn_buf_init(&doc, CMN_ROOT_MAX_BYTES);
    if ((ex = read_doc(a.pos[0], &doc)))
        goto out;
    if (prev_path && (ex = open_file(prev_path, &prev)))
        goto out;
    enum cmn_err rc = cmn_root_parse_unverified(doc.ptr ? doc.ptr : "", doc.len, &r, &eb);
    if (rc) {
        ex = cli_fail(CLI_EXIT_VERIFY, "'%s' is not a root document: %s", a.pos[0], cmn_errmsg(&eb, rc));
        goto out;
    }
    rc = prev ? cmn_root_accept(prev, doc.ptr, doc.len, &ok_r, &e2) : cmn_root_open(doc.ptr, doc.len, NULL, &ok_r, &e2);
    if (!rc)
        rc = cmn_root_fresh(ok_r, (int64_t)time(NULL), &e2);
    json_t *o = status_json(r, prev, &doc, &complete);
    if (rc) {
        json_decref(o);
        ex = cli_fail(CLI_EXIT_VERIFY, "root '%s' is not valid: %s", a.pos[0], cmn_errmsg(&e2, rc));
        goto out;
    }
    print_status(o, NULL);
out:
    cmn_root_free(prev);
    cmn_root_free(r);
    cmn_root_free(ok_r);
    cmn_buf_release(&doc);
    return ex;
}

static int publish_cmd(int argc, char **argv)
{
    struct cli_conn c;
    struct cli_args a;
    struct cmn_root *r = NULL, *prev = NULL, *chk = NULL;
    struct cmn_storage *st = NULL;
    struct cmn_buf doc, pdoc;
    struct cmn_errbuf eb = {{0}};
    char key[CMN_STORAGE_KEY_MAX];
    int ex, complete = 0;
    memset(&c, 0, sizeof(c));
    const struct cli_opt opts[] = {
        {"storage", "URL", &c.storage, NULL, "file:///dir or s3://bucket/prefix"},
        {"s3-endpoint", "URL", &c.s3_endpoint, NULL, "S3 endpoint, e.g. http://127.0.0.1:7480 or R2"},
        {"region", "NAME", &c.region, NULL, "S3 region (default us-east-1; R2: auto)"},
        {0},
    };
    const struct cli_cmd cmd = {"root publish",
                                "Upload a complete root to storage (roots/<app>/<N>.json and roots/<app>/root.json).",
                                "hotpatch root publish FILE --storage URL", CLI_CONN_ENV,
                                "Refuses a root that is not the valid successor of the stored version N-1, and never\n"
                                "replaces a published version (exit 4). Root keys are not needed here: the file is\n"
                                "already signed. The publisher never holds root keys and never writes roots.\n"};
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    if (a.npos != 1)
        return cli_fail(CLI_EXIT_USAGE, "usage: hotpatch root publish FILE --storage URL");
    c.storage = cli_setting(c.storage, "HOTPATCH_STORAGE", "storage");
    c.s3_endpoint = cli_setting(c.s3_endpoint, "HOTPATCH_S3_ENDPOINT", "s3_endpoint");
    c.region = cli_setting(c.region, "AWS_REGION", "region");
    if (!c.storage)
        return cli_fail(CLI_EXIT_USAGE, "root publish writes to storage: pass --storage URL (roots are signed "
                                        "offline and uploaded as files; the publisher does not hold root keys)");
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    cmn_buf_init(&doc, CMN_ROOT_MAX_BYTES);
    cmn_buf_init(&pdoc, CMN_ROOT_MAX_BYTES);
    if ((ex = read_doc(a.pos[0], &doc)) || (ex = open_file(a.pos[0], &r)) || (ex = cli_conn_storage(&c, &st)))
        goto out;
    enum cmn_err rc;
    if (r->version > 1) {
        if (cmn_root_storage_key(r->app, r->version - 1, key, sizeof(key))) {
            ex = cli_fail(CLI_EXIT_USAGE, "bad app '%s'", r->app);
            goto out;
        }
        rc = cmn_storage_get(st, key, NULL, &pdoc, NULL, &eb);
        if (rc == CMN_E_NOTFOUND) {
            ex = cli_fail(CLI_EXIT_NOTFOUND, "'%s' is not in storage: publish root version %llu first", key,
                          (unsigned long long)(r->version - 1));
            goto out;
        }
        if (rc) {
            ex = cli_fail_rc(rc, &eb, "cannot read '%s'", key);
            goto out;
        }
        rc = cmn_root_open(pdoc.ptr ? pdoc.ptr : "", pdoc.len, r->app, &prev, &eb);
        if (!rc)
            rc = cmn_root_accept(prev, doc.ptr, doc.len, &chk, &eb);
        if (rc) {
            ex = cli_fail(CLI_EXIT_VERIFY, "root version %llu is not a valid successor of the stored '%s': %s",
                          (unsigned long long)r->version, key, cmn_errmsg(&eb, rc));
            goto out;
        }
    }
    cmn_root_storage_key(r->app, r->version, key, sizeof(key));
    struct cmn_put_opts po = {.if_none_match = 1, .content_type = "application/json"};
    rc = cmn_storage_put(st, key, doc.ptr, doc.len, &po, NULL, &eb);
    if (rc == CMN_E_CONFLICT || rc == CMN_E_EXISTS) {
        ex = cli_fail(CLI_EXIT_CONFLICT, "'%s' is already published: a root version is never replaced", key);
        goto out;
    }
    if (rc) {
        ex = cli_fail_rc(rc, &eb, "cannot write '%s'", key);
        goto out;
    }
    char cur[CMN_STORAGE_KEY_MAX];
    cmn_root_storage_key(r->app, 0, cur, sizeof(cur));
    struct cmn_put_opts pc = {.content_type = "application/json", .cache_control = "max-age=60"};
    if ((rc = cmn_storage_put(st, cur, doc.ptr, doc.len, &pc, NULL, &eb))) {
        ex = cli_fail_rc(rc, &eb, "cannot write '%s'", cur);
        goto out;
    }
    json_t *o = status_json(r, prev, &doc, &complete);
    json_object_set_new(o, "key", json_string(key));
    if (cli_out.json)
        cli_print_json(o);
    else {
        printf("published root version %llu of %s as %s\n", (unsigned long long)r->version, r->app, key);
        json_decref(o);
    }
out:
    cmn_root_free(r);
    cmn_root_free(prev);
    cmn_root_free(chk);
    cmn_storage_free(st);
    cmn_buf_release(&doc);
    cmn_buf_release(&pdoc);
    return ex;
}

int cli_cmd_root(int argc, char **argv)
{
    static const char *const verbs[] = {"init", "rotate", "revoke"};
    for (size_t i = 0; argc >= 1 && i < CMN_ARRAY_SIZE(verbs); i++)
        if (strcmp(argv[0], verbs[i]) == 0)
            return make(argc - 1, argv + 1, verbs[i]);
    if (argc >= 1 && strcmp(argv[0], "sign") == 0)
        return sign_cmd(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "show") == 0)
        return show_cmd(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "publish") == 0)
        return publish_cmd(argc - 1, argv + 1);
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("usage: hotpatch root init|rotate|revoke|sign|show|publish [options]  (see 'hotpatch root init "
               "--help')\n");
        return 0;
    }
    return cli_fail(CLI_EXIT_USAGE, "usage: hotpatch root init|rotate|revoke|sign|show|publish [options]");
}
