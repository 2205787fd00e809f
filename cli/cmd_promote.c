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

struct promote {
    const char *from, *to, *rollout;
    long bp;
    int new_channel; /* --new-channel: the target has no manifest yet, or is retired */
};

static int check(void *ctx, const struct cli_args *a, struct cli_change_args *r, struct cli_change *ch)
{
    struct promote *o = ctx;
    (void)ch;
    if (a->npos)
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a->pos[0]);
    if (!o->from || !o->to)
        return cli_fail(CLI_EXIT_USAGE, "missing --from CHANNEL and --to CHANNEL");
    if (strcmp(o->from, o->to) == 0)
        return cli_fail(CLI_EXIT_USAGE, "--from and --to are the same channel '%s'", o->from);
    if (!cmn_id_valid(o->to))
        return cli_fail(CLI_EXIT_USAGE, "bad channel '%s'", o->to);
    if (o->rollout && (o->bp = cli_percent_to_bp(o->rollout)) < 0)
        return cli_fail(CLI_EXIT_USAGE, "bad --rollout '%s': 0-100 with at most 2 decimals", o->rollout);
    r->t.channel = o->from; /* the release is looked up on the source channel */
    return 0;
}

/* Serverless: copy the release from the source channel's manifest into the target channel's. */
static int act_serverless(void *ctx, struct cli_change_args *r)
{
    const struct promote *o = ctx;
    const struct cli_conn *c = &r->c;
    const struct cli_target *t = &r->t;
    const char *from = o->from, *to = o->to;
    int ex;
    struct cmn_storage *st = NULL;
    struct cmn_key mkey, pub;
    struct cmn_keyring ring = {&pub, 1};
    struct cmn_manifest *m = NULL;
    struct cli_edit_result res;
    struct promo p;
    long idx;
    memset(&mkey, 0, sizeof(mkey));
    memset(&p, 0, sizeof(p));
    ex = cli_conn_manifest_key(c, &mkey);
    if (!ex)
        ex = cli_conn_storage(c, &st);
    if (!ex) {
        pub = mkey;
        cmn_wipe(pub.sk, sizeof(pub.sk));
        pub.has_secret = 0;
        ex = cli_channel_read(st, &ring, t->app, t->platform, from, CMN_MANIFEST_ALLOW_EXPIRED, &m, NULL);
    }
    if (!ex) {
        idx = cli_pick_release(m, r->id, r->version, 1u << CMN_REL_ACTIVE);
        if (idx < 0) {
            ex = CLI_EXIT_NOTFOUND;
        } else if (m->releases[idx].state == CMN_REL_ROLLED_BACK || m->releases[idx].state == CMN_REL_DISABLED) {
            ex =
                cli_fail(CLI_EXIT_CONFLICT, "release %s (%s) is %s on '%s': it cannot be promoted", m->releases[idx].id,
                         m->releases[idx].version, cmn_release_state_name(m->releases[idx].state), from);
        } else {
            p.src = m->releases[idx];
            p.to = to;
            p.rollout_bp = o->bp;
            p.new_channel = o->new_channel;
            cli_release_id(p.id);
            ex = cli_channel_edit(st, &mkey, t->app, t->platform, to, r->ttl,
                                  CLI_EDIT_CREATE | (o->new_channel ? CLI_EDIT_NEW_CHANNEL : 0), add_copy, &p, &res);
        }
    }
    if (!ex) {
        if (cli_out.json) {
            cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:O,s:{s:s,s:I,s:I}}", "mode", "serverless", "action",
                                     "promoted", "from", from, "to", to, "release", p.result, "manifest", "key",
                                     res.key, "sequence", (json_int_t)res.sequence, "expires_at",
                                     (json_int_t)res.expires_at));
        } else {
            printf("promoted %s from '%s' to '%s' on %s/%s: release %s, manifest sequence %llu\n", p.src.version, from,
                   to, t->app, t->platform, p.id, (unsigned long long)res.sequence);
        }
    }
    json_decref(p.result);
    cmn_manifest_free(m);
    cmn_key_clear(&mkey);
    cmn_key_clear(&pub);
    cmn_storage_free(st);
    return ex;
}

static int request(void *ctx, const char *eid, char *path, size_t cap, json_t **body, struct cli_target *summary)
{
    const struct promote *o = ctx;
    snprintf(path, cap, "/v1/releases/%s/promote", eid);
    *body = json_pack("{s:s}", "to_channel", o->to);
    if (o->bp >= 0)
        json_object_set_new(*body, "rollout_bp", json_integer(o->bp));
    summary->channel = o->to;
    return 0;
}

int cli_cmd_promote(int argc, char **argv)
{
    static const struct cli_change_cmd cc = {
        .cmd = {"promote", "Publish a release from one channel to another.",
                "hotpatch promote --app A --platform P --from staging --to production "
                "[--release ID | --version V] [--rollout N]",
                CLI_CONN_ENV, NULL},
        .channel_opt = 0,
        .release_help = "the release on the source channel (default: its newest active release)",
        .version_help = "pick the release by its version label",
        .check = check,
        .change = {.what = "promoted"},
        .serverless = act_serverless,
        .method = "POST",
        .request = request,
    };
    struct promote o = {NULL, NULL, NULL, -1, 0};
    struct cli_change_args r;
    const struct cli_opt before[] = {
        {"from", "CHANNEL", &o.from, NULL, "source channel, e.g. staging"},
        {"to", "CHANNEL", &o.to, NULL, "target channel, e.g. production"},
        {0},
    };
    const struct cli_opt after[] = {
        {"rollout", "PERCENT", &o.rollout, NULL, "share of devices on the target channel (default 100)"},
        {"new-channel", NULL, NULL, &o.new_channel, "serverless: the target channel is new (it has no manifest yet)"},
        {0},
    };
    return cli_change_run(&cc, &o, &r, before, after, argc, argv);
}
