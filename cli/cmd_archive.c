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

static int check(void *ctx, const struct cli_args *a, struct cli_change_args *r, struct cli_change *ch)
{
    (void)ctx;
    (void)ch;
    if (a->npos)
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a->pos[0]);
    if (!r->id && !r->version)
        return cli_fail(CLI_EXIT_USAGE, "missing --release ID or --version V: archive has no default release");
    return 0;
}

static int request(void *ctx, const char *eid, char *path, size_t cap, json_t **body, struct cli_target *summary)
{
    (void)ctx;
    (void)body;
    (void)summary;
    snprintf(path, cap, "/v1/releases/%s", eid);
    return 0;
}

int cli_cmd_archive(int argc, char **argv)
{
    static const struct cli_change_cmd cc = {
        .cmd = {"archive", "Remove a release from the channel manifest.",
                "hotpatch archive --app A --platform P [--channel C] --release ID | --version V", CLI_CONN_ENV, NULL},
        .channel_opt = 1,
        .release_help = "the release id",
        .version_help = "the release's version label",
        .check = check,
        .change = {.apply = remove_release, .what = "archived"},
        .method = "DELETE",
        .request = request,
    };
    struct cli_change_args r;
    return cli_change_run(&cc, NULL, &r, NULL, NULL, argc, argv);
}
