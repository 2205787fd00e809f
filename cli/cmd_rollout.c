/*
 * cmd_rollout.c - `hotpatch rollout --percent N`: change the share of devices
 * a release is offered to. Raising it only adds devices (each release draws
 * its own cohort: bucket = fnv1a32(release_id ":" device_id) mod 10000).
 */
#include "common/compat.h"

#include "cli.h"

static int set_bp(struct cli_change *ch, struct cmn_manifest *m, long idx, int *skip)
{
    struct cmn_release *r = &m->releases[idx];
    if (r->state == CMN_REL_ROLLED_BACK || r->state == CMN_REL_DISABLED)
        return cli_fail(CLI_EXIT_CONFLICT, "release %s (%s) is %s: its rollout cannot change", r->id, r->version,
                        cmn_release_state_name(r->state));
    if (r->rollout_bp == (uint32_t)ch->arg)
        *skip = 1;
    r->rollout_bp = (uint32_t)ch->arg;
    return 0;
}

int cli_cmd_rollout(int argc, char **argv)
{
    struct cli_conn c;
    struct cli_target t;
    struct cli_args a;
    struct cli_change ch;
    const char *id = NULL, *version = NULL, *ttl_s = NULL, *percent = NULL, *bp_s = NULL;
    long long ttl = CLI_DEFAULT_TTL;
    long bp = -1;
    int ex;
    const struct cli_opt opts[] = {
        CLI_TARGET_OPTS(&t),
        {"percent", "PERCENT", &percent, NULL, "new share of devices, 0-100 (e.g. 25 or 2.5)"},
        {"bp", "N", &bp_s, NULL, "new share in basis points, 0-10000"},
        {"release", "ID", &id, NULL, "the release id (default: the newest active release)"},
        {"version", "LABEL", &version, NULL, "pick the release by its version label"},
        {"ttl", "DURATION", &ttl_s, NULL, "serverless: validity of the re-signed manifest (default 7d)"},
        CLI_CONN_OPTS(&c),
        {0},
    };
    const struct cli_cmd cmd = {"rollout", "Change the rollout percentage of a release.",
                                "hotpatch rollout --app A --platform P [--channel C] --percent N | --bp N "
                                "[--release ID | --version V]",
                                CLI_CONN_ENV, NULL};
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    if (a.npos == 1 && !percent && !bp_s)
        percent = a.pos[0]; /* `hotpatch rollout 25` */
    else if (a.npos)
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a.pos[0]);
    if (!percent && !bp_s)
        return cli_fail(CLI_EXIT_USAGE, "missing --percent N (0-100) or --bp N (0-10000)");
    if (percent && bp_s)
        return cli_fail(CLI_EXIT_USAGE, "pass --percent or --bp, not both");
    if (percent && (bp = cli_percent_to_bp(percent)) < 0)
        return cli_fail(CLI_EXIT_USAGE, "bad --percent '%s': 0-100 with at most 2 decimals", percent);
    if (bp_s && (bp = (long)cli_parse_uint(bp_s, 0, 10000)) < 0)
        return cli_fail(CLI_EXIT_USAGE, "bad --bp '%s': 0-10000", bp_s);
    if (id && version)
        return cli_fail(CLI_EXIT_USAGE, "pass --release or --version, not both");
    if ((ex = cli_parse_ttl(ttl_s, &ttl)))
        return ex;
    if ((ex = cli_target_resolve(&t)) || (ex = cli_conn_resolve(&c)))
        return ex;
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    if (c.mode == CLI_MODE_SERVERLESS) {
        memset(&ch, 0, sizeof(ch));
        ch.id = id;
        ch.version = version;
        ch.states = (1u << CMN_REL_ACTIVE) | (1u << CMN_REL_HALTED);
        ch.apply = set_bp;
        ch.arg = bp;
        ch.what = "rollout changed for";
        return cli_change_serverless(&c, &t, ttl, &ch);
    } else {
        struct cli_api api = {c.endpoint, c.token};
        json_t *rel = NULL, *resp = NULL, *body;
        char path[300], eid[200];
        ex = cli_api_find_release(&api, t.app, t.platform, t.channel, id, version, &rel);
        if (ex)
            return ex;
        if (!json_is_string(json_object_get(rel, "id")) ||
            cli_api_escape(json_string_value(json_object_get(rel, "id")), eid, sizeof(eid))) {
            json_decref(rel);
            return cli_fail(CLI_EXIT_FAIL, "publisher release has no usable 'id'");
        }
        snprintf(path, sizeof(path), "/v1/releases/%s/rollout", eid);
        body = json_pack("{s:i}", "rollout_bp", (int)bp);
        ex = cli_api_call(&api, "PATCH", path, body, &resp);
        json_decref(body);
        if (!ex)
            ex = cli_change_publisher_done(&t, "rollout changed for", rel, resp);
        json_decref(rel);
        json_decref(resp);
        return ex;
    }
}
