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

struct rollout {
    const char *percent, *bp_s;
    long bp;
};

static int check(void *ctx, const struct cli_args *a, struct cli_change_args *r, struct cli_change *ch)
{
    struct rollout *o = ctx;
    (void)r;
    if (a->npos == 1 && !o->percent && !o->bp_s)
        o->percent = a->pos[0]; /* `hotpatch rollout 25` */
    else if (a->npos)
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a->pos[0]);
    if (!o->percent && !o->bp_s)
        return cli_fail(CLI_EXIT_USAGE, "missing --percent N (0-100) or --bp N (0-10000)");
    if (o->percent && o->bp_s)
        return cli_fail(CLI_EXIT_USAGE, "pass --percent or --bp, not both");
    if (o->percent && (o->bp = cli_percent_to_bp(o->percent)) < 0)
        return cli_fail(CLI_EXIT_USAGE, "bad --percent '%s': 0-100 with at most 2 decimals", o->percent);
    if (o->bp_s && (o->bp = (long)cli_parse_uint(o->bp_s, 0, 10000)) < 0)
        return cli_fail(CLI_EXIT_USAGE, "bad --bp '%s': 0-10000", o->bp_s);
    ch->arg = o->bp;
    return 0;
}

static int request(void *ctx, const char *eid, char *path, size_t cap, json_t **body, struct cli_target *summary)
{
    const struct rollout *o = ctx;
    (void)summary;
    snprintf(path, cap, "/v1/releases/%s/rollout", eid);
    *body = json_pack("{s:i}", "rollout_bp", (int)o->bp);
    return 0;
}

int cli_cmd_rollout(int argc, char **argv)
{
    static const struct cli_change_cmd cc = {
        .cmd = {"rollout", "Change the rollout percentage of a release.",
                "hotpatch rollout --app A --platform P [--channel C] --percent N | --bp N "
                "[--release ID | --version V]",
                CLI_CONN_ENV, NULL},
        .channel_opt = 1,
        .release_help = "the release id (default: the newest active release)",
        .version_help = "pick the release by its version label",
        .check = check,
        .change = {.states = (1u << CMN_REL_ACTIVE) | (1u << CMN_REL_HALTED),
                   .apply = set_bp,
                   .what = "rollout changed for"},
        .method = "PATCH",
        .request = request,
    };
    struct rollout o = {NULL, NULL, -1};
    struct cli_change_args r;
    const struct cli_opt own[] = {
        {"percent", "PERCENT", &o.percent, NULL, "new share of devices, 0-100 (e.g. 25 or 2.5)"},
        {"bp", "N", &o.bp_s, NULL, "new share in basis points, 0-10000"},
        {0},
    };
    return cli_change_run(&cc, &o, &r, own, NULL, argc, argv);
}
