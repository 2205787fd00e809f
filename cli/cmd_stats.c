/*
 * cmd_stats.c - `hotpatch stats`: a release's install telemetry as the
 * publisher counts it (installs, failures, rollbacks, devices downloading,
 * active devices, failure rate, native-version distribution). Publisher mode
 * only: serverless storage has no telemetry.
 */
#include "common/compat.h"

#include "cli.h"

static long long num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

int cli_cmd_stats(int argc, char **argv)
{
    struct cli_conn c;
    struct cli_target t;
    struct cli_args a;
    const char *id = NULL, *version = NULL;
    json_t *rel = NULL, *resp = NULL, *st, *vers, *v;
    char path[300], eid[200];
    size_t i;
    int ex;
    const struct cli_opt opts[] = {
        CLI_TARGET_OPTS(&t),
        {"release", "ID", &id, NULL, "the release id (default: the newest active release)"},
        {"version", "LABEL", &version, NULL, "pick the release by its version label"},
        CLI_CONN_OPTS(&c),
        {0},
    };
    const struct cli_cmd cmd = {"stats", "Install statistics of a release (publisher mode).",
                                "hotpatch stats --app A --platform P [--channel C] [--release ID | --version V]",
                                CLI_CONN_ENV, NULL};
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    if ((ex = cli_parse_flags(&cmd, opts, argc, argv, &a)) || a.help)
        return ex;
    if (id && version)
        return cli_fail(CLI_EXIT_USAGE, "pass --release or --version, not both");
    if ((ex = cli_target_resolve(&t)) || (ex = cli_conn_resolve(&c)))
        return ex;
    if (c.mode != CLI_MODE_PUBLISHER)
        return cli_fail(CLI_EXIT_USAGE, "'hotpatch stats' needs a publisher (--endpoint): serverless storage keeps no "
                                        "telemetry");
    {
        struct cli_api api = {c.endpoint, c.token};
        ex = cli_api_find_release_eid(&api, t.app, t.platform, t.channel, id, version, &rel, eid, sizeof(eid));
        if (ex)
            return ex;
        snprintf(path, sizeof(path), "/v1/releases/%s/stats", eid);
        ex = cli_api_call(&api, "GET", path, NULL, &resp);
    }
    if (ex) {
        json_decref(rel);
        return ex;
    }
    st = json_object_get(resp, "stats");
    if (!json_is_object(st)) {
        json_decref(rel);
        json_decref(resp);
        return cli_fail(CLI_EXIT_FAIL, "publisher answer has no 'stats' object");
    }
    if (cli_out.json) {
        cli_print_json(json_pack("{s:O,s:O}", "release", rel, "stats", st));
    } else {
        json_t *ver = json_object_get(rel, "version");
        long long bp = num(st, "failure_rate_bp");
        printf("release        %s (%s) on %s/%s channel '%s'\n", eid,
               json_is_string(ver) ? json_string_value(ver) : "?", t.app, t.platform, t.channel);
        printf("installs       %lld\n", num(st, "installs"));
        printf("failures       %lld\n", num(st, "failures"));
        printf("rollbacks      %lld\n", num(st, "rollbacks"));
        printf("downloading    %lld\n", num(st, "downloading"));
        printf("active devices %lld\n", num(st, "active_devices"));
        printf("failure rate   %lld.%02lld%%\n", bp / 100, bp % 100);
        json_t *tk = json_object_get(st, "ticketed");
        if (json_is_object(tk)) {
            /* what the auto-halt sees: reports carrying a valid edge ticket (docs/security.md) */
            long long tbp = num(tk, "failure_rate_bp");
            const char *counts = json_string_value(json_object_get(st, "auto_halt_counts"));
            if (counts && strcmp(counts, "all") == 0)
                printf("auto-halt sees every report above: this app counts unticketed reports too "
                       "(count_unticketed on)\n");
            else
                printf("auto-halt sees %lld installs, %lld failures, %lld rollbacks (%lld.%02lld%%) from ticketed "
                       "devices; unticketed reports never halt\n",
                       num(tk, "installs"), num(tk, "failures"), num(tk, "rollbacks"), tbp / 100, tbp % 100);
        }
        vers = json_object_get(st, "version_distribution");
        if (json_is_array(vers) && json_array_size(vers)) {
            printf("native versions:\n");
            json_array_foreach(vers, i, v)
            {
                json_t *bv = json_object_get(v, "binary_version");
                printf("  %-16s %lld devices\n", json_is_string(bv) ? json_string_value(bv) : "?", num(v, "devices"));
            }
        }
    }
    json_decref(rel);
    json_decref(resp);
    return 0;
}
