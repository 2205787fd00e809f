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

static int request(void *ctx, const char *eid, char *path, size_t cap, json_t **body, struct cli_target *summary)
{
    const struct verb *v = ctx;
    (void)body;
    (void)summary;
    snprintf(path, cap, "/v1/releases/%s/%s", eid, v->path);
    return 0;
}

static int run(const struct verb *v, int argc, char **argv)
{
    char usage[256];
    struct cli_change_args r;
    struct cli_change_cmd cc = {
        .cmd = {v->name, v->summary, usage, CLI_CONN_ENV, NULL},
        .channel_opt = 1,
        .release_help = "the release id (default: the newest one the command applies to)",
        .version_help = "pick the release by its version label",
        .change = {.states = v->from, .apply = set_state, .arg = v->to, .what = v->what},
        .method = "POST",
        .request = request,
    };
    snprintf(usage, sizeof(usage), "hotpatch %s --app A --platform P [--channel C] [--release ID | --version V]",
             v->name);
    return cli_change_run(&cc, (void *)v, &r, NULL, NULL, argc, argv);
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
