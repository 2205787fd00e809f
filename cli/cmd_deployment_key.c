/*
 * cmd_deployment_key.c - `hotpatch deployment-key add|list|revoke`: the
 * CodePush deployment keys a channel answers (common/codepush.h). A key is
 * "<app>~<platform>~<channel>~<random>"; the channel's signed manifest lists
 * the SHA-256 of each valid key (codepush_keys), which is all the edge
 * trusts. Serverless mode edits the manifest (read-modify-write, re-signed
 * with a higher sequence); the key itself is printed once, by `add`: storage
 * keeps only its hash.
 */
#include "common/compat.h"

#include "cli.h"
#include "common/codepush.h"

struct dk {
    const char *verb;
    char key[CMN_CODEPUSH_KEY_MAX + 1];
    char hash[CMN_SHA256_HEX];
    size_t n;                     /* list: how many */
    char (*list)[CMN_SHA256_HEX]; /* list: copy of the hashes */
};

static int edit(void *ctx, struct cmn_manifest *m, int is_new, int *skip)
{
    struct dk *d = ctx;
    enum cmn_err rc;
    (void)is_new;
    if (strcmp(d->verb, "add") == 0) {
        rc = cmn_manifest_codepush_key_add(m, d->hash);
        if (rc == CMN_E_TOOBIG)
            return cli_fail(CLI_EXIT_CONFLICT, "channel already has %d deployment keys: revoke one first",
                            CMN_MANIFEST_MAX_CODEPUSH_KEYS);
        if (rc)
            return cli_fail_rc(rc, NULL, "cannot add the deployment key");
        return 0;
    }
    if (strcmp(d->verb, "revoke") == 0) {
        rc = cmn_manifest_codepush_key_remove(m, d->hash);
        if (rc == CMN_E_NOTFOUND)
            return cli_fail(CLI_EXIT_NOTFOUND, "deployment key %.12s... is not listed on this channel", d->hash);
        return 0;
    }
    /* list: nothing to write */
    *skip = 1;
    free(d->list);
    d->list = NULL;
    d->n = m->n_codepush_keys;
    if (d->n) {
        d->list = calloc(d->n, sizeof(*d->list));
        if (!d->list)
            return cli_fail(CLI_EXIT_FAIL, "out of memory");
        memcpy(d->list, m->codepush_keys, d->n * sizeof(*d->list));
    }
    return 0;
}

int cli_cmd_deployment_key(int argc, char **argv)
{
    struct cli_conn c;
    struct cli_target t;
    struct cli_args a;
    struct cli_edit_result res;
    struct cmn_storage *st = NULL;
    struct cmn_key mkey;
    struct dk d;
    const char *key = NULL, *sha = NULL, *ttl_s = NULL;
    long long ttl = CLI_DEFAULT_TTL;
    int ex, new_channel = 0;
    const struct cli_opt opts[] = {
        CLI_TARGET_OPTS(&t),
        {"key", "KEY", &key, NULL, "revoke: the deployment key"},
        {"sha256", "HEX", &sha, NULL, "revoke: the key's SHA-256 (as `list` shows it)"},
        {"ttl", "DURATION", &ttl_s, NULL, "serverless: validity of the re-signed manifest (default 7d)"},
        {"new-channel", NULL, NULL, &new_channel, "add: start the channel even though the app has others"},
        CLI_CONN_OPTS(&c),
        {0},
    };
    const struct cli_cmd cmd = {"deployment-key", "CodePush deployment keys of a channel.",
                                "hotpatch deployment-key add|list|revoke --app A --platform P [--channel C] "
                                "[--key K | --sha256 H]",
                                CLI_CONN_ENV, NULL};
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    memset(&d, 0, sizeof(d));
    memset(&mkey, 0, sizeof(mkey));
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    if (a.npos != 1 || (strcmp(a.pos[0], "add") && strcmp(a.pos[0], "list") && strcmp(a.pos[0], "revoke")))
        return cli_fail(CLI_EXIT_USAGE, "want one of: add, list, revoke");
    d.verb = a.pos[0];
    if ((ex = cli_parse_ttl(ttl_s, &ttl)) || (ex = cli_target_resolve(&t)) || (ex = cli_conn_resolve(&c)))
        return ex;
    if (strcmp(d.verb, "revoke") == 0) {
        if (!!key == !!sha)
            return cli_fail(CLI_EXIT_USAGE, "revoke needs --key KEY or --sha256 HEX (one of them)");
        if (key) {
            char k3[3][CMN_ID_MAX + 1];
            if (cmn_codepush_key_parse(key, strlen(key), k3[0], k3[1], k3[2]) != 0)
                return cli_fail(CLI_EXIT_USAGE, "--key is not a HotPatch deployment key");
            if (strcmp(k3[0], t.app) || strcmp(k3[1], t.platform) || strcmp(k3[2], t.channel))
                return cli_fail(CLI_EXIT_USAGE, "--key belongs to %s/%s channel '%s'", k3[0], k3[1], k3[2]);
            cmn_codepush_key_hash(key, strlen(key), d.hash);
        } else {
            if (strlen(sha) != CMN_SHA256_HEX - 1 || strspn(sha, "0123456789abcdef") != CMN_SHA256_HEX - 1)
                return cli_fail(CLI_EXIT_USAGE, "--sha256 must be 64 lower-case hex characters");
            memcpy(d.hash, sha, CMN_SHA256_HEX);
        }
    } else if (key || sha) {
        return cli_fail(CLI_EXIT_USAGE, "--key/--sha256 are for revoke");
    }
    if (strcmp(d.verb, "add") == 0) {
        if (cmn_codepush_key_new(t.app, t.platform, t.channel, d.key) != CMN_OK)
            return cli_fail(CLI_EXIT_USAGE, "bad app/platform/channel");
        cmn_codepush_key_hash(d.key, strlen(d.key), d.hash);
    }
    if (c.mode != CLI_MODE_SERVERLESS)
        return cli_fail(CLI_EXIT_USAGE, "'hotpatch deployment-key' works in serverless mode (--storage) for now; "
                                        "with a publisher, see docs/compatibility.md");
    if ((ex = cli_conn_manifest_key(&c, &mkey)) || (ex = cli_conn_storage(&c, &st)))
        goto out;
    /* add may start a channel (so its first release already carries the package hash); list/revoke never do */
    ex = cli_channel_edit(st, &mkey, t.app, t.platform, t.channel, ttl,
                          strcmp(d.verb, "add") ? 0 : CLI_EDIT_CREATE | (new_channel ? CLI_EDIT_NEW_CHANNEL : 0), edit,
                          &d, &res);
    if (ex)
        goto out;
    if (cli_out.json) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "action", d.verb, "app", t.app, "platform", t.platform, "channel",
                              t.channel);
        if (strcmp(d.verb, "list") == 0) {
            json_t *arr = json_array();
            for (size_t i = 0; i < d.n; i++)
                json_array_append_new(arr, json_pack("{s:s}", "sha256", d.list[i]));
            json_object_set_new(o, "keys", arr);
        } else {
            if (d.key[0])
                json_object_set_new(o, "key", json_string(d.key));
            json_object_set_new(o, "sha256", json_string(d.hash));
            json_object_set_new(o, "sequence", json_integer((json_int_t)res.sequence));
        }
        cli_print_json(o);
    } else if (strcmp(d.verb, "list") == 0) {
        for (size_t i = 0; i < d.n; i++)
            printf("%s\n", d.list[i]);
        if (!d.n)
            printf("no deployment keys on %s/%s channel '%s'\n", t.app, t.platform, t.channel);
    } else if (d.key[0]) {
        printf("%s\n", d.key);
        fprintf(stderr,
                "deployment key added to %s/%s channel '%s' (sequence %llu); storage keeps only its hash, "
                "so note the key now\n",
                t.app, t.platform, t.channel, (unsigned long long)res.sequence);
    } else {
        printf("revoked deployment key %s on %s/%s channel '%s' (sequence %llu)\n", d.hash, t.app, t.platform,
               t.channel, (unsigned long long)res.sequence);
    }
out:
    free(d.list);
    cmn_wipe(d.key, sizeof(d.key));
    cmn_key_clear(&mkey);
    cmn_storage_free(st);
    return ex;
}
