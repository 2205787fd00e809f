/*
 * cmd_rollback.c - `hotpatch rollback`, `halt` and `resume`: change the state
 * of one release on a channel.
 *
 * rollback: state rolled_back; devices on it move to the newest older
 * eligible release (or their embedded bundle) at their next check, published
 * as a new, higher manifest sequence. halt: frozen, offered to no one new.
 * resume: a halted release becomes active again. Default target: the newest
 * release in the state the verb applies to; --release ID or --version V pick
 * another one.
 */
#include "common/compat.h"

#include "cli.h"

struct verb {
    const char *name, *summary, *what, *path;
    enum cmn_release_state to;
    unsigned from; /* states the default selection looks at */
};

static int set_state(struct cli_change *ch, struct cmn_manifest *m, long idx, int *skip)
{
    struct cmn_release *r = &m->releases[idx];
    enum cmn_release_state to = (enum cmn_release_state)ch->arg;
    if (r->state == to) {
        *skip = 1;
        return 0;
    }
    if (r->state == CMN_REL_ROLLED_BACK && to != CMN_REL_ROLLED_BACK)
        return cli_fail(CLI_EXIT_CONFLICT, "release %s (%s) was rolled back: publish a new version instead", r->id,
                        r->version);
    if (r->state == CMN_REL_DISABLED)
        return cli_fail(CLI_EXIT_CONFLICT, "release %s (%s) is disabled", r->id, r->version);
    if (to == CMN_REL_ACTIVE && r->state != CMN_REL_HALTED)
        return cli_fail(CLI_EXIT_CONFLICT, "release %s (%s) is %s, not halted", r->id, r->version,
                        cmn_release_state_name(r->state));
    r->state = to;
    return 0;
}

static int run(const struct verb *v, int argc, char **argv)
{
    struct cli_conn c;
    struct cli_target t;
    struct cli_args a;
    struct cli_change ch;
    const char *id = NULL, *version = NULL, *ttl_s = NULL;
    long long ttl = CLI_DEFAULT_TTL;
    char usage[256];
    int ex;
    const struct cli_opt opts[] = {
        CLI_TARGET_OPTS(&t),
        {"release", "ID", &id, NULL, "the release id (default: the newest one the command applies to)"},
        {"version", "LABEL", &version, NULL, "pick the release by its version label"},
        {"ttl", "DURATION", &ttl_s, NULL, "serverless: validity of the re-signed manifest (default 7d)"},
        CLI_CONN_OPTS(&c),
        {0},
    };
    struct cli_cmd cmd = {v->name, v->summary, usage, CLI_CONN_ENV, NULL};
    snprintf(usage, sizeof(usage), "hotpatch %s --app A --platform P [--channel C] [--release ID | --version V]",
             v->name);
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    if (a.npos)
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a.pos[0]);
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
        ch.states = v->from;
        ch.apply = set_state;
        ch.arg = v->to;
        ch.what = v->what;
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
        snprintf(path, sizeof(path), "/v1/releases/%s/%s", eid, v->path);
        ex = cli_api_call(&api, "POST", path, NULL, &resp);
        if (!ex)
            ex = cli_change_publisher_done(&t, v->what, rel, resp);
        json_decref(rel);
        json_decref(resp);
        return ex;
    }
}

int cli_cmd_rollback(int argc, char **argv)
{
    static const struct verb v = {"rollback",
                                  "Roll back a release: devices on it return to the newest older eligible release "
                                  "(or their embedded bundle).",
                                  "rolled back",
                                  "rollback",
                                  CMN_REL_ROLLED_BACK,
                                  (1u << CMN_REL_ACTIVE) | (1u << CMN_REL_HALTED)};
    return run(&v, argc, argv);
}

int cli_cmd_halt(int argc, char **argv)
{
    static const struct verb v = {"halt",         "Halt a release: devices that have it keep it, no one new gets it.",
                                  "halted",       "halt",
                                  CMN_REL_HALTED, 1u << CMN_REL_ACTIVE};
    return run(&v, argc, argv);
}

int cli_cmd_resume(int argc, char **argv)
{
    static const struct verb v = {"resume",       "Resume a halted release.", "resumed", "resume",
                                  CMN_REL_ACTIVE, 1u << CMN_REL_HALTED};
    return run(&v, argc, argv);
}
