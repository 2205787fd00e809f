/*
 * cmd_manifest.c - `hotpatch manifest show` and `manifest resign`, and
 * `hotpatch history`: read a channel manifest, verify it against the trusted
 * manifest keys exactly as a device would (signature, canonical payload,
 * app/platform/channel, expiry), then print it. Nothing unverified is shown
 * as if it were true. `resign` (serverless) re-seals the manifest with a new
 * expiry and a higher sequence, for channels with no publisher to do it.
 */
#include "common/compat.h"

#include "cli.h"

int cli_trusted_resolve(const char *flag, const struct cli_conn *c, struct cmn_key keys[CLI_MAX_TRUSTED], size_t *n)
{
    const char *list = cli_setting(flag, "HOTPATCH_TRUSTED_KEYS", "trusted_keys");
    *n = 0;
    if (list)
        return cli_parse_pubkeys(list, keys, CLI_MAX_TRUSTED, n);
    if (c->manifest_key || c->mode == CLI_MODE_SERVERLESS) {
        struct cmn_key sk;
        int ex;
        memset(&sk, 0, sizeof(sk));
        ex = cli_load_secret(c->manifest_key, "HOTPATCH_MANIFEST_KEY", "manifest_key", "manifest.key", "manifest",
                             "pass --trusted-key B64 (the manifest public key), set HOTPATCH_TRUSTED_KEYS, or set "
                             "HOTPATCH_MANIFEST_KEY",
                             &sk);
        if (ex)
            return ex;
        keys[0] = sk;
        cmn_wipe(keys[0].sk, sizeof(keys[0].sk));
        keys[0].has_secret = 0;
        cmn_key_clear(&sk);
        *n = 1;
        return 0;
    }
    return cli_fail(CLI_EXIT_USAGE, "no trusted manifest key: pass --trusted-key B64 or set HOTPATCH_TRUSTED_KEYS");
}

/* Fetch and verify; *out on success. */
static int fetch(const struct cli_conn *c, const struct cli_target *t, const struct cmn_keyring *ring, unsigned flags,
                 struct cmn_manifest **out, struct cmn_buf *raw)
{
    int ex;
    if (c->mode == CLI_MODE_SERVERLESS) {
        struct cmn_storage *st = NULL;
        char key[CMN_STORAGE_KEY_MAX], what[CMN_STORAGE_KEY_MAX + 8];
        struct cmn_errbuf eb = {{0}};
        enum cmn_err rc;
        ex = cli_conn_storage(c, &st);
        if (ex)
            return ex;
        if (cmn_storage_manifest_key(t->app, t->platform, t->channel, key, sizeof(key))) {
            cmn_storage_free(st);
            return cli_fail(CLI_EXIT_USAGE, "bad app/platform/channel");
        }
        rc = cmn_storage_get(st, key, NULL, raw, NULL, &eb);
        if (rc == CMN_E_NOTFOUND)
            ex = cli_fail(CLI_EXIT_NOTFOUND, "no manifest for channel '%s' of %s/%s in '%s' (nothing released yet?)",
                          t->channel, t->app, t->platform, cmn_storage_url(st));
        else if (rc)
            ex = cli_fail_rc(rc, &eb, "cannot read '%s' from '%s'", key, cmn_storage_url(st));
        cmn_storage_free(st);
        if (ex)
            return ex;
        snprintf(what, sizeof(what), "'%s'", key);
        return cli_manifest_open(raw->ptr ? raw->ptr : "", raw->len, ring, t->app, t->platform, t->channel, flags, what,
                                 out);
    } else {
        struct cli_api api = {c->endpoint, c->token};
        char path[800], ea[200], ep[200], ec[200], what[300];
        if (cli_api_escape(t->app, ea, sizeof(ea)) || cli_api_escape(t->platform, ep, sizeof(ep)) ||
            cli_api_escape(t->channel, ec, sizeof(ec)))
            return cli_fail(CLI_EXIT_USAGE, "bad app/platform/channel");
        snprintf(path, sizeof(path), "/v1/manifests/%s/%s/%s", ea, ep, ec);
        ex = cli_api_get_raw(&api, path, raw);
        if (ex)
            return ex;
        snprintf(what, sizeof(what), "from %s", c->endpoint);
        return cli_manifest_open(raw->ptr ? raw->ptr : "", raw->len, ring, t->app, t->platform, t->channel, flags, what,
                                 out);
    }
}

static json_t *manifest_json(const struct cmn_manifest *m)
{
    json_t *o = json_object(), *rels = json_array();
    size_t i;
    json_object_set_new(o, "schema", json_integer(m->schema));
    json_object_set_new(o, "app", json_string(m->app));
    json_object_set_new(o, "platform", json_string(m->platform));
    json_object_set_new(o, "channel", json_string(m->channel));
    json_object_set_new(o, "sequence", json_integer((json_int_t)m->sequence));
    json_object_set_new(o, "issued_at", json_integer(m->issued_at));
    json_object_set_new(o, "expires_at", json_integer(m->expires_at));
    json_object_set_new(o, "expired", json_boolean((int64_t)time(NULL) >= m->expires_at));
    json_object_set_new(o, "retired", json_boolean(m->retired));
    if (m->signed_by)
        json_object_set_new(o, "signed_by", json_string(m->signed_by));
    for (i = 0; i < m->n_releases; i++)
        json_array_append_new(rels, cli_release_json(&m->releases[i]));
    json_object_set_new(o, "releases", rels);
    if (m->codepush_keys) { /* SPEC.md section 16: the CodePush deployment key hashes the channel answers */
        json_t *k = json_array();
        for (i = 0; i < m->n_codepush_keys; i++)
            json_array_append_new(k, json_string(m->codepush_keys[i]));
        json_object_set_new(o, "codepush_keys", k);
    }
    return o;
}

static int show(int argc, char **argv)
{
    struct cli_conn c;
    struct cli_target t;
    struct cli_args a;
    struct cmn_key keys[CLI_MAX_TRUSTED];
    struct cmn_keyring ring;
    struct cmn_manifest *m = NULL;
    struct cmn_buf raw;
    const char *trusted = NULL;
    int allow_expired = 0, want_raw = 0, ex;
    size_t nk = 0;
    const struct cli_opt opts[] = {
        CLI_TARGET_OPTS(&t),
        {"trusted-key", "B64[,B64]", &trusted, NULL, "manifest public key(s) to verify with"},
        {"allow-expired", NULL, NULL, &allow_expired, "show an expired manifest instead of failing"},
        {"raw", NULL, NULL, &want_raw, "print the verified envelope bytes as stored"},
        CLI_CONN_OPTS(&c),
        {0},
    };
    const struct cli_cmd cmd = {"manifest show",
                                "Fetch a channel manifest, verify it like a device would, and print it.",
                                "hotpatch manifest show --app A --platform P [--channel C] [--trusted-key B64]",
                                CLI_CONN_ENV "HOTPATCH_TRUSTED_KEYS  default for --trusted-key\n",
                                "Verification: a signature by a trusted key over the exact canonical payload,\n"
                                "the expected app/platform/channel, and expiry (exit 5 when any fails).\n"};
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    if ((ex = cli_parse_flags(&cmd, opts, argc, argv, &a)) || a.help)
        return ex;
    if ((ex = cli_target_resolve(&t)) || (ex = cli_conn_resolve(&c)))
        return ex;
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    if ((ex = cli_trusted_resolve(trusted, &c, keys, &nk)))
        return ex;
    ring.keys = keys;
    ring.n = nk;
    cmn_buf_init(&raw, CMN_MANIFEST_MAX_BYTES);
    ex = fetch(&c, &t, &ring, allow_expired ? CMN_MANIFEST_ALLOW_EXPIRED : 0, &m, &raw);
    if (ex)
        goto out;
    if (want_raw) {
        fwrite(raw.ptr, 1, raw.len, stdout);
        if (raw.len && raw.ptr[raw.len - 1] != '\n')
            fputc('\n', stdout);
    } else if (cli_out.json) {
        cli_print_json(json_pack("{s:o,s:b}", "manifest", manifest_json(m), "verified", 1));
    } else {
        char iss[32], exp[32];
        int64_t now = (int64_t)time(NULL);
        cli_iso_time(m->issued_at, iss, sizeof(iss));
        cli_iso_time(m->expires_at, exp, sizeof(exp));
        printf("manifest  %s/%s channel '%s' (verified, signed by %s)\n", m->app, m->platform, m->channel,
               m->signed_by ? m->signed_by : "?");
        printf("sequence  %llu\n", (unsigned long long)m->sequence);
        printf("issued    %s\n", iss);
        if (now >= m->expires_at)
            printf("expires   %s (EXPIRED: devices refuse it; re-sign it)\n", exp);
        else
            printf("expires   %s (in %lldh%02lldm)\n", exp, (long long)((m->expires_at - now) / 3600),
                   (long long)((m->expires_at - now) % 3600 / 60));
        printf("releases  %zu\n\n", m->n_releases);
        if (m->n_releases)
            cli_print_release_table(m->releases, m->n_releases);
    }
out:
    cmn_manifest_free(m);
    cmn_buf_release(&raw);
    return ex;
}

static int noop(void *ctx, struct cmn_manifest *m, int is_new, int *skip)
{
    (void)ctx;
    (void)m;
    (void)is_new;
    (void)skip;
    return 0;
}

/* Serverless tombstone: the channel is retired, its releases leave the manifest (issue 12 #4). */
static int retire_fn(void *ctx, struct cmn_manifest *m, int is_new, int *skip)
{
    (void)ctx;
    (void)is_new;
    (void)skip;
    for (size_t i = 0; i < m->n_releases; i++)
        cmn_release_clear(&m->releases[i]);
    free(m->releases);
    m->releases = NULL;
    m->n_releases = 0;
    m->retired = 1;
    return 0;
}

/* `manifest resign` (retire = 0) and `manifest retire` (retire = 1). */
static int reseal(int argc, char **argv, int retire)
{
    struct cli_conn c;
    struct cli_target t;
    struct cli_args a;
    struct cmn_storage *st = NULL;
    struct cmn_key mkey;
    struct cli_edit_result res;
    const char *ttl_s = NULL;
    long long ttl = CLI_DEFAULT_TTL;
    int ex;
    const struct cli_opt opts[] = {
        CLI_TARGET_OPTS(&t),
        {"ttl", "DURATION", &ttl_s, NULL, "validity of the re-signed manifest (default 7d)"},
        CLI_CONN_OPTS(&c),
        {0},
    };
    const struct cli_cmd rs = {"manifest resign",
                               "Serverless: re-sign a channel manifest with a new expiry and a higher sequence "
                               "(run it from cron well before the expiry).",
                               "hotpatch manifest resign --app A --platform P [--channel C] [--ttl 7d] --storage URL",
                               CLI_CONN_ENV, NULL};
    const struct cli_cmd rt = {"manifest retire",
                               "Serverless: retire a channel with a signed tombstone (a manifest with a higher "
                               "sequence, no releases and \"retired\": true) that edges and devices verify like any "
                               "manifest. Never delete a channel's manifest instead.",
                               "hotpatch manifest retire --app A --platform P --channel C [--ttl 7d] --storage URL",
                               CLI_CONN_ENV, NULL};
    const struct cli_cmd cmd = retire ? rt : rs;
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    memset(&mkey, 0, sizeof(mkey));
    if ((ex = cli_parse_flags(&cmd, opts, argc, argv, &a)) || a.help)
        return ex;
    if ((ex = cli_parse_ttl(ttl_s, &ttl)))
        return ex;
    if ((ex = cli_target_resolve(&t)) || (ex = cli_conn_resolve(&c)))
        return ex;
    if (c.mode != CLI_MODE_SERVERLESS && retire) {
        /* the publisher writes the tombstone itself (POST .../channels/P/C/retire) */
        struct cli_api api = {c.endpoint, c.token};
        char path[700], ea[200], ep[200], ec[200];
        json_t *resp = NULL, *body = json_object();
        if (cli_api_escape(t.app, ea, sizeof(ea)) || cli_api_escape(t.platform, ep, sizeof(ep)) ||
            cli_api_escape(t.channel, ec, sizeof(ec))) {
            json_decref(body);
            return cli_fail(CLI_EXIT_USAGE, "bad app/platform/channel");
        }
        snprintf(path, sizeof(path), "/v1/apps/%s/channels/%s/%s/retire", ea, ep, ec);
        ex = cli_api_call(&api, "POST", path, body, &resp);
        json_decref(body);
        if (!ex) {
            json_t *seq = json_object_get(json_object_get(resp, "manifest"), "sequence");
            if (cli_out.json)
                cli_print_json(json_pack("{s:s,s:s,s:s,s:O,s:b}", "app", t.app, "platform", t.platform, "channel",
                                         t.channel, "sequence", seq ? seq : json_null(), "retired", 1));
            else
                printf("retired %s/%s channel '%s' (publisher): manifest sequence %lld\n", t.app, t.platform, t.channel,
                       (long long)json_integer_value(seq));
        }
        json_decref(resp);
        return ex;
    }
    if (c.mode != CLI_MODE_SERVERLESS)
        return cli_fail(CLI_EXIT_USAGE,
                        "'%s' is for serverless mode (--storage); the publisher re-signs its "
                        "manifests itself",
                        cmd.name);
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    ex = cli_conn_manifest_key(&c, &mkey);
    if (!ex)
        ex = cli_conn_storage(&c, &st);
    if (!ex)
        ex = retire ? cli_channel_edit(st, &mkey, t.app, t.platform, t.channel, ttl,
                                       CLI_EDIT_CREATE | CLI_EDIT_NEW_CHANNEL, retire_fn, NULL, &res)
                    : cli_channel_edit(st, &mkey, t.app, t.platform, t.channel, ttl, 0, noop, NULL, &res);
    if (!ex) {
        char exp[32];
        cli_iso_time(res.expires_at, exp, sizeof(exp));
        if (cli_out.json)
            cli_print_json(json_pack("{s:s,s:I,s:I,s:b}", "key", res.key, "sequence", (json_int_t)res.sequence,
                                     "expires_at", (json_int_t)res.expires_at, "retired", retire));
        else
            printf("%s %s: sequence %llu, expires %s\n", retire ? "retired" : "re-signed", res.key,
                   (unsigned long long)res.sequence, exp);
    }
    cmn_key_clear(&mkey);
    cmn_storage_free(st);
    return ex;
}

int cli_cmd_manifest(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "show") == 0)
        return show(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "resign") == 0)
        return reseal(argc - 1, argv + 1, 0);
    if (argc >= 1 && strcmp(argv[0], "retire") == 0)
        return reseal(argc - 1, argv + 1, 1);
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("usage: hotpatch manifest show|resign|retire [options]  (see 'hotpatch manifest show --help')\n");
        return 0;
    }
    return cli_fail(CLI_EXIT_USAGE, "usage: hotpatch manifest show|resign|retire [options]");
}

/* ---- history ---- */

static const char *jstr(json_t *o, const char *k, const char *dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

int cli_cmd_history(int argc, char **argv)
{
    struct cli_conn c;
    struct cli_target t;
    struct cli_args a;
    const char *trusted = NULL, *limit_s = NULL;
    long long limit = 50;
    int ex;
    const struct cli_opt opts[] = {
        CLI_TARGET_OPTS(&t),
        {"limit", "N", &limit_s, NULL, "publisher mode: at most N releases (default 50)"},
        {"trusted-key", "B64[,B64]", &trusted, NULL, "serverless: manifest public key(s) to verify with"},
        CLI_CONN_OPTS(&c),
        {0},
    };
    const struct cli_cmd cmd = {"history", "List the releases of a channel, newest first (table, or --json).",
                                "hotpatch history --app A --platform P [--channel C]",
                                CLI_CONN_ENV "HOTPATCH_TRUSTED_KEYS  serverless: default for --trusted-key\n", NULL};
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    if ((ex = cli_parse_flags(&cmd, opts, argc, argv, &a)) || a.help)
        return ex;
    if (limit_s && (limit = cli_parse_uint(limit_s, 1, 1000)) < 0)
        return cli_fail(CLI_EXIT_USAGE, "bad --limit '%s': 1-1000", limit_s);
    if ((ex = cli_target_resolve(&t)) || (ex = cli_conn_resolve(&c)))
        return ex;
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    if (c.mode == CLI_MODE_SERVERLESS) {
        struct cmn_key keys[CLI_MAX_TRUSTED];
        struct cmn_keyring ring;
        struct cmn_manifest *m = NULL;
        struct cmn_buf raw;
        size_t nk = 0, i;
        if ((ex = cli_trusted_resolve(trusted, &c, keys, &nk)))
            return ex;
        ring.keys = keys;
        ring.n = nk;
        cmn_buf_init(&raw, CMN_MANIFEST_MAX_BYTES);
        /* History is a record: show it even when the manifest has expired. */
        ex = fetch(&c, &t, &ring, CMN_MANIFEST_ALLOW_EXPIRED, &m, &raw);
        cmn_buf_release(&raw);
        if (ex)
            return ex;
        if (cli_out.json) {
            json_t *rels = json_array();
            for (i = m->n_releases; i-- > 0;)
                json_array_append_new(rels, cli_release_json(&m->releases[i]));
            cli_print_json(json_pack("{s:s,s:s,s:s,s:I,s:o}", "app", m->app, "platform", m->platform, "channel",
                                     m->channel, "sequence", (json_int_t)m->sequence, "releases", rels));
        } else if (m->n_releases == 0) {
            printf("no releases on %s/%s channel '%s' (manifest sequence %llu)\n", m->app, m->platform, m->channel,
                   (unsigned long long)m->sequence);
        } else {
            cli_print_release_table(m->releases, m->n_releases);
        }
        cmn_manifest_free(m);
        return 0;
    } else {
        struct cli_api api = {c.endpoint, c.token};
        char path[800], ea[200], ep[200], ec[200];
        json_t *resp = NULL, *list, *r;
        size_t i;
        if (cli_api_escape(t.app, ea, sizeof(ea)) || cli_api_escape(t.platform, ep, sizeof(ep)) ||
            cli_api_escape(t.channel, ec, sizeof(ec)))
            return cli_fail(CLI_EXIT_USAGE, "bad app/platform/channel");
        snprintf(path, sizeof(path), "/v1/releases?app=%s&platform=%s&channel=%s&limit=%lld", ea, ep, ec, limit);
        ex = cli_api_call(&api, "GET", path, NULL, &resp);
        if (ex)
            return ex;
        list = json_object_get(resp, "releases");
        if (!json_is_array(list)) {
            json_decref(resp);
            return cli_fail(CLI_EXIT_FAIL, "publisher answer has no 'releases' list");
        }
        if (cli_out.json) {
            cli_print_json(json_pack("{s:s,s:s,s:s,s:O}", "app", t.app, "platform", t.platform, "channel", t.channel,
                                     "releases", list));
        } else if (json_array_size(list) == 0) {
            printf("no releases on %s/%s channel '%s'\n", t.app, t.platform, t.channel);
        } else {
            printf("%-28s %-12s %-12s %8s %-9s %-18s %s\n", "ID", "VERSION", "STATE", "ROLLOUT", "MANDATORY", "TARGET",
                   "CREATED");
            json_array_foreach(list, i, r)
            {
                json_t *bp = json_object_get(r, "rollout_bp"), *cr = json_object_get(r, "created_at");
                char pct[48] = "?", when[40] = "?";
                if (json_is_integer(bp))
                    snprintf(pct, sizeof(pct), "%lld.%02lld%%", (long long)json_integer_value(bp) / 100,
                             (long long)json_integer_value(bp) % 100);
                if (json_is_integer(cr))
                    cli_iso_time(json_integer_value(cr), when, sizeof(when));
                else if (json_is_string(cr))
                    snprintf(when, sizeof(when), "%s", json_string_value(cr));
                printf("%-28s %-12s %-12s %8s %-9s %-18s %s\n", jstr(r, "id", "?"), jstr(r, "version", "?"),
                       jstr(r, "state", "?"), pct, json_is_true(json_object_get(r, "mandatory")) ? "yes" : "no",
                       jstr(r, "target_binary", "?"), when);
            }
        }
        json_decref(resp);
        return 0;
    }
}
