/*
 * cmd_archive.c - `hotpatch archive`: remove a release from the channel
 * manifest (the publisher keeps its record; the content-addressed bundle
 * stays in storage, since other channels may point at the same object).
 * Needs an explicit --release or --version: there is no default target.
 */
#include "common/compat.h"

#include "cli.h"

static int remove_release(struct cli_change *ch, struct cmn_manifest *m, long idx, int *skip)
{
    struct cmn_release *r = m->releases;
    (void)ch;
    (void)skip;
    cmn_release_clear(&r[idx]);
    memmove(&r[idx], &r[idx + 1], (m->n_releases - (size_t)idx - 1) * sizeof(*r));
    m->n_releases--;
    return 0;
}

int cli_cmd_archive(int argc, char **argv)
{
    struct cli_conn c;
    struct cli_target t;
    struct cli_args a;
    struct cli_change ch;
    const char *id = NULL, *version = NULL, *ttl_s = NULL;
    long long ttl = CLI_DEFAULT_TTL;
    int ex;
    const struct cli_opt opts[] = {
        CLI_TARGET_OPTS(&t),
        {"release", "ID", &id, NULL, "the release id"},
        {"version", "LABEL", &version, NULL, "the release's version label"},
        {"ttl", "DURATION", &ttl_s, NULL, "serverless: validity of the re-signed manifest (default 7d)"},
        CLI_CONN_OPTS(&c),
        {0},
    };
    const struct cli_cmd cmd = {"archive", "Remove a release from the channel manifest.",
                                "hotpatch archive --app A --platform P [--channel C] --release ID | --version V",
                                CLI_CONN_ENV, NULL};
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    if (a.npos)
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a.pos[0]);
    if (!id && !version)
        return cli_fail(CLI_EXIT_USAGE, "missing --release ID or --version V: archive has no default release");
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
        ch.apply = remove_release;
        ch.what = "archived";
        return cli_change_serverless(&c, &t, ttl, &ch);
    } else {
        struct cli_api api = {c.endpoint, c.token};
        json_t *rel = NULL, *resp = NULL;
        char path[300], eid[200];
        ex = cli_api_find_release(&api, t.app, t.platform, t.channel, id, version, &rel);
        if (ex)
            return ex;
        if (!json_is_string(json_object_get(rel, "id")) ||
            cli_api_escape(json_string_value(json_object_get(rel, "id")), eid, sizeof(eid))) {
            json_decref(rel);
            return cli_fail(CLI_EXIT_FAIL, "publisher release has no usable 'id'");
        }
        snprintf(path, sizeof(path), "/v1/releases/%s", eid);
        ex = cli_api_call(&api, "DELETE", path, NULL, &resp);
        if (!ex)
            ex = cli_change_publisher_done(&t, "archived", rel, resp);
        json_decref(rel);
        json_decref(resp);
        return ex;
    }
}
