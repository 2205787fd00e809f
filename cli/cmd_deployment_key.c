/*
 * cmd_deployment_key.c - `hotpatch deployment-key add|list|revoke`: the
 * CodePush deployment keys a channel answers (common/codepush.h). A key is
 * "<app>~<platform>~<channel>~<random>"; the channel's signed manifest lists
 * the SHA-256 of each valid key (codepush_keys), which is all the edge
 * trusts. Serverless mode edits the manifest (read-modify-write, re-signed
 * with a higher sequence); publisher mode asks the publisher
 * (/v1/apps/:app/deployment-keys, publisher/h_codepush.c), which keeps the
 * hashes in its database and re-publishes the manifest. Either way the key
 * itself is printed once, by `add`: storage and database keep only its hash.
 * `add --key K` adopts a key apps already ship (e.g. moving a channel from
 * serverless mode to a publisher).
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
    json_t *extra;                /* list, publisher mode: the publisher's rows (id, last4, created_at...) */
};

/* Publisher mode: the same verbs through the API; fills d (and *seq) like the serverless edit. */
static int via_publisher(const struct cli_conn *c, const struct cli_target *t, struct dk *d, int given, long long *seq)
{
    struct cli_api api = {c->endpoint, c->token};
    char ea[160], ep[160], ec[160], path[700];
    json_t *body = NULL, *resp = NULL, *man;
    int ex;
    if (cli_api_escape(t->app, ea, sizeof(ea)) || cli_api_escape(t->platform, ep, sizeof(ep)) ||
        cli_api_escape(t->channel, ec, sizeof(ec)))
        return cli_fail(CLI_EXIT_USAGE, "app/platform/channel too long");
    if (strcmp(d->verb, "list") == 0) {
        snprintf(path, sizeof(path), "/v1/apps/%s/deployment-keys?platform=%s&channel=%s", ea, ep, ec);
        ex = cli_api_call(&api, "GET", path, NULL, &resp);
        if (ex)
            return ex;
        json_t *arr = json_object_get(resp, "deployment_keys"), *k;
        size_t i;
        if (!json_is_array(arr)) {
            json_decref(resp);
            return cli_fail(CLI_EXIT_FAIL, "publisher answer has no 'deployment_keys' list");
        }
        d->n = json_array_size(arr);
        d->list = d->n ? calloc(d->n, sizeof(*d->list)) : NULL;
        if (d->n && !d->list) {
            json_decref(resp);
            return cli_fail(CLI_EXIT_FAIL, "out of memory");
        }
        json_array_foreach(arr, i, k)
        {
            const char *h = json_string_value(json_object_get(k, "sha256"));
            if (!h || strlen(h) != CMN_SHA256_HEX - 1) {
                json_decref(resp);
                return cli_fail(CLI_EXIT_FAIL, "publisher answer lists a key without its sha256");
            }
            memcpy(d->list[i], h, CMN_SHA256_HEX);
        }
        d->extra = json_incref(arr);
        json_decref(resp);
        return 0;
    }
    if (strcmp(d->verb, "add") == 0) {
        snprintf(path, sizeof(path), "/v1/apps/%s/deployment-keys", ea);
        body = json_pack("{s:s,s:s}", "platform", t->platform, "channel", t->channel);
        if (body && given)
            json_object_set_new(body, "key", json_string(d->key));
        ex = body ? cli_api_call(&api, "POST", path, body, &resp) : cli_fail(CLI_EXIT_FAIL, "out of memory");
    } else {
        snprintf(path, sizeof(path), "/v1/apps/%s/deployment-keys/%s", ea, d->hash);
        body = json_pack("{s:s,s:s}", "platform", t->platform, "channel", t->channel);
        ex = body ? cli_api_call(&api, "DELETE", path, body, &resp) : cli_fail(CLI_EXIT_FAIL, "out of memory");
    }
    json_decref(body);
    if (ex)
        return ex;
    json_t *dk = json_object_get(resp, "deployment_key");
    if (strcmp(d->verb, "add") == 0 && !given) {
        /* the publisher made the key: check it names this channel before printing it */
        const char *k = json_string_value(json_object_get(dk, "key"));
        char k3[3][CMN_ID_MAX + 1];
        if (!k || cmn_codepush_key_parse(k, strlen(k), k3[0], k3[1], k3[2]) != 0 || strcmp(k3[0], t->app) ||
            strcmp(k3[1], t->platform) || strcmp(k3[2], t->channel)) {
            json_decref(resp);
            return cli_fail(CLI_EXIT_FAIL, "publisher answered without a deployment key for this channel");
        }
        snprintf(d->key, sizeof(d->key), "%s", k);
        cmn_codepush_key_hash(d->key, strlen(d->key), d->hash);
    }
    const char *h = json_string_value(json_object_get(dk, "sha256"));
    if (!h || strcmp(h, d->hash) != 0) {
        json_decref(resp);
        return cli_fail(CLI_EXIT_FAIL, "publisher answered for another deployment key");
    }
    man = json_object_get(resp, "manifest");
    if (json_is_integer(json_object_get(man, "published_sequence")))
        *seq = json_integer_value(json_object_get(man, "published_sequence"));
    else
        *seq = json_integer_value(json_object_get(man, "sequence"));
    if (!json_is_true(json_object_get(man, "published")))
        cli_note("warning: the key change is stored, but the manifest is not published yet (%s); the publisher "
                 "retries",
                 json_string_value(json_object_get(man, "error")) ? json_string_value(json_object_get(man, "error"))
                                                                  : "no reason given");
    json_decref(resp);
    return 0;
}

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
        if (rc == CMN_E_EXISTS)
            return cli_fail(CLI_EXIT_CONFLICT, "deployment key %.12s... is already listed on this channel", d->hash);
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
    long long seq = 0;
    const struct cli_opt opts[] = {
        CLI_TARGET_OPTS(&t),
        {"key", "KEY", &key, NULL, "revoke: the deployment key; add: adopt this key (apps already ship it)"},
        {"sha256", "HEX", &sha, NULL, "revoke: the key's SHA-256 (as `list` shows it)"},
        {"ttl", "DURATION", &ttl_s, NULL, "serverless: validity of the re-signed manifest (default 7d)"},
        {"new-channel", NULL, NULL, &new_channel, "serverless add: start the channel even though the app has others"},
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
    if (key) { /* revoke, or add (adopt) */
        char k3[3][CMN_ID_MAX + 1];
        if (cmn_codepush_key_parse(key, strlen(key), k3[0], k3[1], k3[2]) != 0)
            return cli_fail(CLI_EXIT_USAGE, "--key is not a HotPatch deployment key");
        if (strcmp(k3[0], t.app) || strcmp(k3[1], t.platform) || strcmp(k3[2], t.channel))
            return cli_fail(CLI_EXIT_USAGE, "--key belongs to %s/%s channel '%s'", k3[0], k3[1], k3[2]);
    }
    if (strcmp(d.verb, "revoke") == 0) {
        if (!!key == !!sha)
            return cli_fail(CLI_EXIT_USAGE, "revoke needs --key KEY or --sha256 HEX (one of them)");
        if (key) {
            cmn_codepush_key_hash(key, strlen(key), d.hash);
        } else {
            if (strlen(sha) != CMN_SHA256_HEX - 1 || strspn(sha, "0123456789abcdef") != CMN_SHA256_HEX - 1)
                return cli_fail(CLI_EXIT_USAGE, "--sha256 must be 64 lower-case hex characters");
            memcpy(d.hash, sha, CMN_SHA256_HEX);
        }
    } else if (sha || (key && strcmp(d.verb, "add"))) {
        return cli_fail(CLI_EXIT_USAGE, "--sha256 is for revoke, --key for add and revoke");
    }
    /* add: serverless mode makes the key here; a publisher makes it (via_publisher reads it back) */
    if (strcmp(d.verb, "add") == 0 && (key || c.mode == CLI_MODE_SERVERLESS)) {
        if (key)
            snprintf(d.key, sizeof(d.key), "%s", key);
        else if (cmn_codepush_key_new(t.app, t.platform, t.channel, d.key) != CMN_OK)
            return cli_fail(CLI_EXIT_USAGE, "bad app/platform/channel");
        cmn_codepush_key_hash(d.key, strlen(d.key), d.hash);
    }
    memset(&res, 0, sizeof(res));
    if (c.mode != CLI_MODE_SERVERLESS) {
        if (ttl_s || new_channel) {
            ex = cli_fail(CLI_EXIT_USAGE, "--%s is for serverless mode: the publisher signs and starts channels",
                          ttl_s ? "ttl" : "new-channel");
            goto out;
        }
        ex = via_publisher(&c, &t, &d, key != NULL, &seq);
        if (ex)
            goto out;
        res.sequence = (uint64_t)seq;
    } else {
        if ((ex = cli_conn_manifest_key(&c, &mkey)) || (ex = cli_conn_storage(&c, &st)))
            goto out;
        /* add may start a channel (so its first release already carries the package hash); list/revoke never do */
        ex = cli_channel_edit(st, &mkey, t.app, t.platform, t.channel, ttl,
                              strcmp(d.verb, "add") ? 0 : CLI_EDIT_CREATE | (new_channel ? CLI_EDIT_NEW_CHANNEL : 0),
                              edit, &d, &res);
        if (ex)
            goto out;
    }
    if (cli_out.json) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "action", d.verb, "app", t.app, "platform", t.platform, "channel",
                              t.channel);
        if (strcmp(d.verb, "list") == 0) {
            json_t *arr = json_array();
            for (size_t i = 0; i < d.n; i++) {
                json_t *k = json_pack("{s:s}", "sha256", d.list[i]), *row = json_array_get(d.extra, i);
                /* publisher mode: what the publisher also knows of the key (never the key itself) */
                static const char *const more[] = {"id", "last4", "name", "created_by", "created_at"};
                for (size_t j = 0; row && j < CMN_ARRAY_SIZE(more); j++)
                    if (json_object_get(row, more[j]))
                        json_object_set(k, more[j], json_object_get(row, more[j]));
                json_array_append_new(arr, k);
            }
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
                "deployment key added to %s/%s channel '%s' (sequence %llu); %s keeps only its hash, "
                "so note the key now\n",
                t.app, t.platform, t.channel, (unsigned long long)res.sequence,
                c.mode == CLI_MODE_SERVERLESS ? "storage" : "the publisher");
    } else {
        printf("revoked deployment key %s on %s/%s channel '%s' (sequence %llu)\n", d.hash, t.app, t.platform,
               t.channel, (unsigned long long)res.sequence);
    }
out:
    json_decref(d.extra);
    free(d.list);
    cmn_wipe(d.key, sizeof(d.key));
    cmn_key_clear(&mkey);
    cmn_storage_free(st);
    return ex;
}
