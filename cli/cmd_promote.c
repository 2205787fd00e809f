/*
 * cmd_promote.c - `hotpatch promote --from staging --to production`: publish
 * a release that was tested on one channel to another. The bundle object is
 * shared (content-addressed); the new entry gets its own id (so its own
 * cohort), the same version, target range, hash and bundle signature, and is
 * refused when that version is already on the target channel.
 */
#include "common/compat.h"

#include "cli.h"

struct promo {
    struct cmn_release src;
    const char *to;
    long rollout_bp; /* -1: keep 100% */
    char id[CMN_ID_MAX + 1];
    json_t *result;
    int new_channel; /* --new-channel: may also start a retired channel again */
};

static int add_copy(void *ctx, struct cmn_manifest *m, int is_new, int *skip)
{
    struct promo *p = ctx;
    struct cmn_release e = p->src;
    enum cmn_err rc;
    size_t i;
    (void)is_new;
    (void)skip;
    if (m->retired && !p->new_channel)
        return cli_fail(CLI_EXIT_CONFLICT,
                        "channel '%s' is retired (signed tombstone); pass --new-channel to start it again", p->to);
    m->retired = 0;
    for (i = 0; i < m->n_releases; i++)
        if (strcmp(m->releases[i].version, p->src.version) == 0)
            return cli_fail(CLI_EXIT_CONFLICT, "version '%s' is already released on channel '%s' (release %s)",
                            p->src.version, p->to, m->releases[i].id);
    if (m->n_releases >= CMN_MANIFEST_MAX_RELEASES)
        return cli_fail(CLI_EXIT_CONFLICT, "channel '%s' already lists %d releases: archive old ones first", p->to,
                        CMN_MANIFEST_MAX_RELEASES);
    e.id = p->id;
    e.state = CMN_REL_ACTIVE;
    e.rollout_bp = p->rollout_bp < 0 ? 10000u : (uint32_t)p->rollout_bp;
    e.created_at = (int64_t)time(NULL);
    rc = cmn_manifest_add_release(m, &e);
    if (rc)
        return cli_fail_rc(rc, NULL, "cannot add the release");
    json_decref(p->result);
    p->result = cli_release_json(&m->releases[m->n_releases - 1]);
    return 0;
}

int cli_cmd_promote(int argc, char **argv)
{
    struct cli_conn c;
    struct cli_target t;
    struct cli_args a;
    const char *from = NULL, *to = NULL, *id = NULL, *version = NULL, *ttl_s = NULL, *rollout = NULL;
    long long ttl = CLI_DEFAULT_TTL;
    long bp = -1;
    int ex, new_channel = 0;
    const struct cli_opt opts[] = {
        {"app", "NAME", &t.app, NULL, "app name (config: app)"},
        {"platform", "NAME", &t.platform, NULL, "platform (config: platform)"},
        {"from", "CHANNEL", &from, NULL, "source channel, e.g. staging"},
        {"to", "CHANNEL", &to, NULL, "target channel, e.g. production"},
        {"release", "ID", &id, NULL, "the release on the source channel (default: its newest active release)"},
        {"version", "LABEL", &version, NULL, "pick the release by its version label"},
        {"rollout", "PERCENT", &rollout, NULL, "share of devices on the target channel (default 100)"},
        {"ttl", "DURATION", &ttl_s, NULL, "serverless: validity of the re-signed manifest (default 7d)"},
        {"new-channel", NULL, NULL, &new_channel, "serverless: the target channel is new (it has no manifest yet)"},
        CLI_CONN_OPTS(&c),
        {0},
    };
    const struct cli_cmd cmd = {"promote", "Publish a release from one channel to another.",
                                "hotpatch promote --app A --platform P --from staging --to production "
                                "[--release ID | --version V] [--rollout N]",
                                CLI_CONN_ENV, NULL};
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    if (a.npos)
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a.pos[0]);
    if (!from || !to)
        return cli_fail(CLI_EXIT_USAGE, "missing --from CHANNEL and --to CHANNEL");
    if (strcmp(from, to) == 0)
        return cli_fail(CLI_EXIT_USAGE, "--from and --to are the same channel '%s'", from);
    if (!cli_valid_id(to))
        return cli_fail(CLI_EXIT_USAGE, "bad channel '%s'", to);
    if (id && version)
        return cli_fail(CLI_EXIT_USAGE, "pass --release or --version, not both");
    if (rollout && (bp = cli_percent_to_bp(rollout)) < 0)
        return cli_fail(CLI_EXIT_USAGE, "bad --rollout '%s': 0-100 with at most 2 decimals", rollout);
    if ((ex = cli_parse_ttl(ttl_s, &ttl)))
        return ex;
    t.channel = from;
    if ((ex = cli_target_resolve(&t)) || (ex = cli_conn_resolve(&c)))
        return ex;
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    if (c.mode == CLI_MODE_SERVERLESS) {
        struct cmn_storage *st = NULL;
        struct cmn_key mkey, pub;
        struct cmn_keyring ring = {&pub, 1};
        struct cmn_manifest *m = NULL;
        struct cli_edit_result res;
        struct promo p;
        long idx;
        memset(&mkey, 0, sizeof(mkey));
        memset(&p, 0, sizeof(p));
        ex = cli_conn_manifest_key(&c, &mkey);
        if (!ex)
            ex = cli_conn_storage(&c, &st);
        if (!ex) {
            pub = mkey;
            cmn_wipe(pub.sk, sizeof(pub.sk));
            pub.has_secret = 0;
            ex = cli_channel_read(st, &ring, t.app, t.platform, from, CMN_MANIFEST_ALLOW_EXPIRED, &m, NULL);
        }
        if (!ex) {
            idx = cli_pick_release(m, id, version, 1u << CMN_REL_ACTIVE);
            if (idx < 0) {
                ex = CLI_EXIT_NOTFOUND;
            } else if (m->releases[idx].state == CMN_REL_ROLLED_BACK || m->releases[idx].state == CMN_REL_DISABLED) {
                ex = cli_fail(CLI_EXIT_CONFLICT, "release %s (%s) is %s on '%s': it cannot be promoted",
                              m->releases[idx].id, m->releases[idx].version,
                              cmn_release_state_name(m->releases[idx].state), from);
            } else {
                p.src = m->releases[idx];
                p.to = to;
                p.rollout_bp = bp;
                p.new_channel = new_channel;
                cli_release_id(p.id);
                ex = cli_channel_edit(st, &mkey, t.app, t.platform, to, ttl,
                                      CLI_EDIT_CREATE | (new_channel ? CLI_EDIT_NEW_CHANNEL : 0), add_copy, &p, &res);
            }
        }
        if (!ex) {
            if (cli_out.json) {
                cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:O,s:{s:s,s:I,s:I}}", "mode", "serverless", "action",
                                         "promoted", "from", from, "to", to, "release", p.result, "manifest", "key",
                                         res.key, "sequence", (json_int_t)res.sequence, "expires_at",
                                         (json_int_t)res.expires_at));
            } else {
                printf("promoted %s from '%s' to '%s' on %s/%s: release %s, manifest sequence %llu\n", p.src.version,
                       from, to, t.app, t.platform, p.id, (unsigned long long)res.sequence);
            }
        }
        json_decref(p.result);
        cmn_manifest_free(m);
        cmn_key_clear(&mkey);
        cmn_key_clear(&pub);
        cmn_storage_free(st);
        return ex;
    } else {
        struct cli_api api = {c.endpoint, c.token};
        json_t *rel = NULL, *resp = NULL, *body;
        char path[300], eid[200];
        ex = cli_api_find_release(&api, t.app, t.platform, from, id, version, &rel);
        if (ex)
            return ex;
        if (!json_is_string(json_object_get(rel, "id")) ||
            cli_api_escape(json_string_value(json_object_get(rel, "id")), eid, sizeof(eid))) {
            json_decref(rel);
            return cli_fail(CLI_EXIT_FAIL, "publisher release has no usable 'id'");
        }
        snprintf(path, sizeof(path), "/v1/releases/%s/promote", eid);
        body = json_pack("{s:s}", "to_channel", to);
        if (bp >= 0)
            json_object_set_new(body, "rollout_bp", json_integer(bp));
        ex = cli_api_call(&api, "POST", path, body, &resp);
        json_decref(body);
        if (!ex) {
            struct cli_target tt = t;
            tt.channel = to;
            ex = cli_change_publisher_done(&tt, "promoted", rel, resp);
        }
        json_decref(rel);
        json_decref(resp);
        return ex;
    }
}
