/*
 * edit.c - one change to one release of a channel (rollback, halt, resume,
 * rollout, archive), shared by the cmd_*.c files: in serverless mode it is
 * applied inside cli_channel_edit (so it is re-applied to the fresh manifest
 * after a lost race), and both modes print the same summary.
 */
#include "common/compat.h"

#include "cli.h"

struct edit_ctx {
    struct cli_change *ch;
};

static int apply_change(void *ctx, struct cmn_manifest *m, int is_new, int *skip)
{
    struct cli_change *ch = ((struct edit_ctx *)ctx)->ch;
    long idx;
    json_t *snap;
    int ex;
    (void)is_new;
    idx = cli_pick_release(m, ch->id, ch->version, ch->states);
    if (idx < 0)
        return CLI_EXIT_NOTFOUND;
    snap = cli_release_json(&m->releases[idx]); /* before: archive removes it */
    if (!snap)
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    ex = ch->apply(ch, m, idx, skip);
    if (ex) {
        json_decref(snap);
        return ex;
    }
    json_decref(ch->result);
    if (idx < (long)m->n_releases && strcmp(m->releases[idx].id, json_string_value(json_object_get(snap, "id"))) == 0) {
        ch->result = cli_release_json(&m->releases[idx]);
        json_decref(snap);
    } else {
        ch->result = snap;
    }
    return 0;
}

static void summary(const struct cli_target *t, const char *what, json_t *rel, const char *mode, json_t *manifest)
{
    if (cli_out.json) {
        json_t *o = json_object();
        json_object_set_new(o, "mode", json_string(mode));
        json_object_set_new(o, "action", json_string(what));
        json_object_set(o, "release", rel ? rel : json_null());
        json_object_set(o, "manifest", manifest ? manifest : json_null());
        cli_print_json(o);
    } else {
        json_t *id = json_object_get(rel, "id"), *v = json_object_get(rel, "version");
        json_t *seq = json_object_get(manifest, "sequence");
        printf("%s %s (%s) on %s/%s channel '%s'", what, json_is_string(v) ? json_string_value(v) : "?",
               json_is_string(id) ? json_string_value(id) : "?", t->app, t->platform, t->channel);
        if (json_is_integer(seq))
            printf(": manifest sequence %lld", (long long)json_integer_value(seq));
        printf("\n");
    }
}

int cli_change_serverless(const struct cli_conn *c, const struct cli_target *t, int64_t ttl, struct cli_change *ch)
{
    struct cmn_storage *st = NULL;
    struct cmn_key mkey;
    struct cli_edit_result res;
    struct edit_ctx ctx = {ch};
    json_t *man;
    int ex;
    memset(&mkey, 0, sizeof(mkey));
    ex = cli_conn_manifest_key(c, &mkey);
    if (!ex)
        ex = cli_conn_storage(c, &st);
    if (!ex)
        ex = cli_channel_edit(st, &mkey, t->app, t->platform, t->channel, ttl, 0, apply_change, &ctx, &res);
    if (!ex) {
        man = json_pack("{s:s,s:I,s:I,s:b}", "key", res.key, "sequence", (json_int_t)res.sequence, "expires_at",
                        (json_int_t)res.expires_at, "changed", !res.skipped);
        if (res.skipped && !cli_out.json)
            printf("nothing to change: ");
        summary(t, ch->what, ch->result, "serverless", man);
        json_decref(man);
    }
    json_decref(ch->result);
    ch->result = NULL;
    cmn_key_clear(&mkey);
    cmn_storage_free(st);
    return ex;
}

int cli_change_publisher_done(const struct cli_target *t, const char *what, json_t *rel, json_t *answer)
{
    json_t *r = json_object_get(answer, "release"), *m = json_object_get(answer, "manifest");
    summary(t, what, json_is_object(r) ? r : rel, "publisher", json_is_object(m) ? m : NULL);
    return 0;
}
