/*
 * change.c - the driver of the change commands (archive, rollback, halt,
 * resume, rollout, promote), in the manner of git's run_builtin(): the
 * driver owns the prologue every one of them shares,
 *
 *     parse options -> check the selection (--release | --version) and --ttl
 *     -> resolve target and connection -> serverless or publisher
 *     -> find the release -> act -> print the summary,
 *
 * and each command supplies only what is its own (struct cli_change_cmd):
 * extra options and their checks, the edit applied to the channel manifest
 * (serverless) and the request sent for the found release (publisher).
 */
#include "common/compat.h"

#include "cli.h"

#define MAX_OPTS 32

/* Append the {0}-terminated `src` to dst[*n]; 0, or -1 when the table is full. */
static int add_opts(struct cli_opt *dst, size_t *n, const struct cli_opt *src)
{
    for (; src && src->name; src++) {
        if (*n + 1 >= MAX_OPTS)
            return -1;
        dst[(*n)++] = *src;
    }
    return 0;
}

/* Publisher mode: find the release, send the command's request for it, print the summary. */
static int act_publisher(const struct cli_change_cmd *cc, void *ctx, struct cli_change_args *r)
{
    struct cli_api api = {r->c.endpoint, r->c.token};
    struct cli_target summary_t = r->t;
    json_t *rel = NULL, *resp = NULL, *body = NULL;
    char path[300], eid[200];
    int ex = cli_api_find_release_eid(&api, r->t.app, r->t.platform, r->t.channel, r->id, r->version, &rel, eid,
                                      sizeof(eid));
    if (ex)
        return ex;
    ex = cc->request(ctx, eid, path, sizeof(path), &body, &summary_t);
    if (!ex)
        ex = cli_api_call(&api, cc->method, path, body, &resp);
    json_decref(body);
    if (!ex)
        ex = cli_change_publisher_done(&summary_t, cc->change.what, rel, resp);
    json_decref(rel);
    json_decref(resp);
    return ex;
}

int cli_change_run(const struct cli_change_cmd *cc, void *ctx, struct cli_change_args *r,
                   const struct cli_opt *opts_before, const struct cli_opt *opts_after, int argc, char **argv)
{
    struct cli_opt opts[MAX_OPTS];
    struct cli_args a;
    struct cli_change ch = cc->change;
    size_t n = 0;
    int ex;

    memset(r, 0, sizeof(*r));
    r->ttl = CLI_DEFAULT_TTL;
    {
        const struct cli_opt target[] = {CLI_TARGET_OPTS(&r->t), {0}};
        const struct cli_opt app_platform[] = {target[0], target[1], {0}};
        const struct cli_opt selection[] = {
            {"release", "ID", &r->id, NULL, cc->release_help},
            {"version", "LABEL", &r->version, NULL, cc->version_help},
            {0},
        };
        const struct cli_opt tail[] = {
            {"ttl", "DURATION", &r->ttl_s, NULL, "serverless: validity of the re-signed manifest (default 7d)"},
            CLI_CONN_OPTS(&r->c),
            {0},
        };
        if (add_opts(opts, &n, cc->channel_opt ? target : app_platform) || add_opts(opts, &n, opts_before) ||
            add_opts(opts, &n, selection) || add_opts(opts, &n, opts_after) || add_opts(opts, &n, tail))
            return cli_fail(CLI_EXIT_FAIL, "too many options for '%s'", cc->cmd.name);
        memset(&opts[n], 0, sizeof(opts[n]));
        ex = cli_parse(&cc->cmd, opts, argc, argv, &a);
    }
    if (ex || a.help)
        return ex;
    if (cc->check)
        ex = cc->check(ctx, &a, r, &ch);
    else if (a.npos)
        ex = cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a.pos[0]);
    if (ex)
        return ex;
    if (r->id && r->version)
        return cli_fail(CLI_EXIT_USAGE, "pass --release or --version, not both");
    if ((ex = cli_parse_ttl(r->ttl_s, &r->ttl)))
        return ex;
    if ((ex = cli_target_resolve(&r->t)) || (ex = cli_conn_resolve(&r->c)))
        return ex;
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    if (r->c.mode != CLI_MODE_SERVERLESS)
        return act_publisher(cc, ctx, r);
    if (cc->serverless)
        return cc->serverless(ctx, r);
    ch.id = r->id;
    ch.version = r->version;
    return cli_change_serverless(&r->c, &r->t, r->ttl, &ch);
}
