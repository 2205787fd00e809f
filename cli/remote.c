/*
 * remote.c - serverless mode: the CLI edits channel manifests in storage
 * itself, with the manifest key, the same way the publisher does.
 *
 * Every change is a read-modify-write: get the envelope and its ETag, verify
 * it with the manifest key (an expired manifest is accepted here because we
 * are about to re-sign it), apply the change to the parsed model, bump the
 * sequence, seal, and put it back conditionally (If-Match the ETag we read,
 * or If-None-Match when the channel is new): cmn_storage_update's loop. A
 * lost race (CMN_E_CONFLICT) re-reads and re-applies the change after a
 * jittered backoff, so two concurrent releases both end up in the manifest
 * with increasing sequences.
 * A manifest is only ever written whole, after sealing; storage puts are
 * atomic (temp + rename on file://, one PUT on S3).
 */
#include "common/compat.h"

#include <unistd.h>

#include "cli.h"
#include "common/feed.h"
#include "common/log.h"

int cli_manifest_open(const void *doc, size_t len, const struct cmn_keyring *trusted, const char *app,
                      const char *platform, const char *channel, unsigned flags, const char *what,
                      struct cmn_manifest **out)
{
    struct cmn_manifest_expect ex;
    struct cmn_errbuf eb = {{0}};
    enum cmn_err rc;
    memset(&ex, 0, sizeof(ex));
    ex.app = app;
    ex.platform = platform;
    ex.channel = channel;
    rc = cmn_manifest_open(doc, len, trusted, &ex, (int64_t)time(NULL), flags, out, &eb);
    switch (rc) {
    case CMN_OK:
        return 0;
    case CMN_E_UNKNOWN_KEY:
        return cli_fail(CLI_EXIT_VERIFY, "manifest %s refused: %s; check HOTPATCH_MANIFEST_KEY / --trusted-key", what,
                        cmn_errmsg(&eb, rc));
    case CMN_E_SIG:
        return cli_fail(CLI_EXIT_VERIFY, "manifest %s refused: %s; it was modified or corrupted", what,
                        cmn_errmsg(&eb, rc));
    case CMN_E_EXPIRED:
        return cli_fail(CLI_EXIT_VERIFY,
                        "manifest %s refused: %s; re-sign it ('hotpatch manifest resign'), or "
                        "pass --allow-expired to inspect it",
                        what, cmn_errmsg(&eb, rc));
    default:
        return cli_fail_rc(rc == CMN_E_INVAL ? CMN_E_PARSE : rc, &eb, "manifest %s is invalid", what);
    }
}

int cli_channel_read(struct cmn_storage *st, const struct cmn_keyring *trusted, const char *app, const char *platform,
                     const char *channel, unsigned flags, struct cmn_manifest **out, char etag[CMN_ETAG_MAX])
{
    char key[CMN_STORAGE_KEY_MAX], what[CMN_STORAGE_KEY_MAX + 64];
    struct cmn_errbuf eb = {{0}};
    struct cmn_buf b;
    enum cmn_err rc;
    int ex;
    rc = cmn_storage_manifest_key(app, platform, channel, key, sizeof(key));
    if (rc)
        return cli_fail(CLI_EXIT_USAGE, "bad app/platform/channel '%s/%s/%s'", app, platform, channel);
    cmn_buf_init(&b, CMN_MANIFEST_MAX_BYTES);
    rc = cmn_storage_get(st, key, NULL, &b, etag, &eb);
    if (rc == CMN_E_NOTFOUND) {
        cmn_buf_release(&b);
        return cli_fail(CLI_EXIT_NOTFOUND, "no manifest for channel '%s' of %s/%s in '%s' (nothing released yet?)",
                        channel, app, platform, cmn_storage_url(st));
    }
    if (rc) {
        cmn_buf_release(&b);
        return cli_fail_rc(rc, &eb, "cannot read '%s'", key);
    }
    snprintf(what, sizeof(what), "'%s'", key);
    ex = cli_manifest_open(b.ptr ? b.ptr : "", b.len, trusted, app, platform, channel, flags, what, out);
    cmn_buf_release(&b);
    return ex;
}

int cli_edit_keyring(const struct cmn_key *mkey, struct cmn_key pub[1 + CLI_MAX_TRUSTED], struct cmn_keyring *ring)
{
    size_t n_also = 0;
    int ex;
    /* Verify with the public half only: the opener never needs the secret. */
    pub[0] = *mkey;
    cmn_wipe(pub[0].sk, sizeof(pub[0].sk));
    pub[0].has_secret = 0;
    /* Key rotation: the stored manifest may still carry the previous key's signature (HOTPATCH_TRUSTED_KEYS). */
    const char *also = cli_setting(NULL, "HOTPATCH_TRUSTED_KEYS", "trusted_keys");
    if (also && (ex = cli_parse_pubkeys(also, pub + 1, CLI_MAX_TRUSTED, &n_also)))
        return ex;
    ring->keys = pub;
    ring->n = 1 + n_also;
    return 0;
}

/* One cli_channel_edit, carried through cmn_storage_update to edit_manifest on every attempt. */
struct channel_edit {
    struct cmn_storage *st;
    const struct cmn_key *mkey;
    const struct cmn_keyring *ring;
    const char *app, *platform, *channel;
    int64_t ttl;
    int create;
    cli_edit_fn fn;
    void *ctx;
    struct cli_edit_result *res;
    int ex;             /* exit code, already reported, when edit_manifest stopped the update */
    int64_t now;        /* issued_at of the manifest sealed last */
    uint64_t sequence;  /* ... its sequence */
    int64_t expires_at; /* ... its expires_at */
};

/*
 * The cmn_storage_update callback: verify what is stored (or start a new
 * manifest), apply the caller's change, bump the sequence and seal. A
 * failure is reported here (cli_fail) and stops the update with
 * CMN_E_CANCELLED; ce->ex holds the exit code.
 */
static enum cmn_err edit_manifest(void *vctx, struct cmn_storage_edit *ed, struct cmn_errbuf *ueb)
{
    struct channel_edit *ce = vctx;
    struct cli_edit_result *res = ce->res;
    struct cmn_manifest *m = NULL;
    struct cmn_errbuf eb = {{0}};
    char what[CMN_STORAGE_KEY_MAX + 8];
    int is_new = 0, skip = 0, ex;
    enum cmn_err rc;
    (void)ueb;
    res->attempts = ed->attempt + 1;
    if (!ed->cur) {
        if (!ce->create) {
            ex = cli_fail(CLI_EXIT_NOTFOUND,
                          "no manifest for channel '%s' of %s/%s in '%s' (nothing released "
                          "yet?)",
                          ce->channel, ce->app, ce->platform, cmn_storage_url(ce->st));
            goto out;
        }
        if (!(ce->create & CLI_EDIT_NEW_CHANNEL)) {
            ex = cli_channel_may_create(ce->st, ce->app, ce->platform, ce->channel, NULL);
            if (ex)
                goto out;
        }
        m = cmn_manifest_new(ce->app, ce->platform, ce->channel);
        if (!m) {
            ex = cli_fail(CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
        is_new = 1;
    } else {
        snprintf(what, sizeof(what), "'%s'", ed->key);
        ex = cli_manifest_open(ed->cur, ed->cur_len, ce->ring, ce->app, ce->platform, ce->channel,
                               CMN_MANIFEST_ALLOW_EXPIRED, what, &m);
        if (ex)
            goto out;
    }
    ex = ce->fn(ce->ctx, m, is_new, &skip);
    if (ex || skip) {
        res->sequence = m->sequence;
        res->expires_at = m->expires_at;
        res->skipped = skip;
        ed->keep = !ex;
        goto out;
    }
    ce->now = (int64_t)time(NULL);
    m->sequence = cmn_manifest_next_sequence(m->sequence, cmn_now_ms());
    if (m->sequence == 0) {
        ex = cli_fail(CLI_EXIT_CONFLICT, "channel '%s' of %s/%s has reached the highest sequence", ce->channel, ce->app,
                      ce->platform);
        goto out;
    }
    m->issued_at = ce->now;
    m->expires_at = ce->now + ce->ttl;
    if (m->signed_by) {
        free(m->signed_by);
        m->signed_by = NULL;
    }
    rc = cmn_manifest_seal(m, ce->mkey, ed->out, &eb);
    if (rc) {
        ex = cli_fail_rc(rc, &eb, "cannot seal the manifest of '%s/%s/%s'", ce->app, ce->platform, ce->channel);
        goto out;
    }
    ce->sequence = m->sequence; /* what a successful put stores */
    ce->expires_at = m->expires_at;
out:
    cmn_manifest_free(m);
    ce->ex = ex;
    return ex ? CMN_E_CANCELLED : CMN_OK;
}

int cli_channel_edit(struct cmn_storage *st, const struct cmn_key *mkey, const char *app, const char *platform,
                     const char *channel, int64_t ttl, int create, cli_edit_fn fn, void *ctx,
                     struct cli_edit_result *res)
{
    struct cmn_keyring ring;
    struct cmn_key pub[1 + CLI_MAX_TRUSTED];
    struct cmn_errbuf eb = {{0}};
    struct cmn_storage_update_result ur;
    int ex = 0;
    memset(res, 0, sizeof(*res));
    if ((ex = cli_edit_keyring(mkey, pub, &ring)))
        return ex;
    if (cmn_storage_manifest_key(app, platform, channel, res->key, sizeof(res->key)))
        return cli_fail(CLI_EXIT_USAGE, "bad app/platform/channel '%s/%s/%s'", app, platform, channel);
    struct channel_edit ce = {st, mkey, &ring, app, platform, channel, ttl, create, fn, ctx, res, 0, 0, 0, 0};
    struct cmn_storage_update_opts uo = {.what = "manifest",
                                         .max_size = CMN_MANIFEST_MAX_BYTES,
                                         .max_attempts = CLI_MAX_RETRIES,
                                         .backoff_min_ms = 20,
                                         .backoff_max_ms = 1000,
                                         .content_type = "application/json",
                                         .cache_control = "public, max-age=30"};
    enum cmn_err rc = cmn_storage_update(st, res->key, edit_manifest, &ce, &uo, &ur, &eb);
    if (ce.ex)
        return ce.ex; /* edit_manifest reported it */
    if (rc == CMN_E_CONFLICT)
        return cli_fail(CLI_EXIT_CONFLICT,
                        "manifest '%s' kept changing under us (%d attempts): another release is in "
                        "progress; try again",
                        res->key, CLI_MAX_RETRIES);
    if (rc)
        return cli_fail_rc(rc, &eb, "storage '%s'", cmn_storage_url(st));
    if (ur.written) {
        res->sequence = ce.sequence;
        res->expires_at = ce.expires_at;
    }
    /*
     * The change feed is a hint for edges: a failure here leaves the
     * manifest written and is caught by their periodic full listing.
     */
    if (ur.written && ur.etag[0]) {
        struct cmn_errbuf feb = {{0}};
        enum cmn_err frc = cmn_feed_record(st, app, platform, channel, res->sequence, ur.etag, ce.now, &feb);
        if (frc)
            cli_note("warning: manifest written, but the change feed was not updated: %s (edges pick the change "
                     "up at their next full listing)",
                     cmn_errmsg(&feb, frc));
    }
    return 0;
}

struct may_create {
    const char *skip1, *skip2;
    char found[CMN_STORAGE_KEY_MAX];
};

static int note_other(void *ctx, const char *key, const char *etag, uint64_t size)
{
    struct may_create *mc = ctx;
    (void)etag;
    (void)size;
    if ((mc->skip1 && strcmp(key, mc->skip1) == 0) || (mc->skip2 && strcmp(key, mc->skip2) == 0))
        return 0;
    snprintf(mc->found, sizeof(mc->found), "%s", key);
    return 1;
}

int cli_channel_may_create(struct cmn_storage *st, const char *app, const char *platform, const char *channel,
                           const char *own_bundle)
{
    static const char *const roots[] = {"manifests", "bundles"};
    char own_manifest[CMN_STORAGE_KEY_MAX], prefix[CMN_STORAGE_KEY_MAX];
    struct may_create mc = {own_manifest, own_bundle, ""};
    if (cmn_storage_manifest_key(app, platform, channel, own_manifest, sizeof(own_manifest)))
        return cli_fail(CLI_EXIT_USAGE, "bad app/platform/channel '%s/%s/%s'", app, platform, channel);
    for (size_t i = 0; i < CMN_ARRAY_SIZE(roots) && !mc.found[0]; i++) {
        struct cmn_errbuf eb = {{0}};
        snprintf(prefix, sizeof(prefix), "%s/%s/", roots[i], app);
        enum cmn_err rc = cmn_storage_list(st, prefix, note_other, &mc, &eb);
        if (rc)
            return cli_fail_rc(rc, &eb, "cannot list '%s' in '%s'", prefix, cmn_storage_url(st));
    }
    if (!mc.found[0])
        return 0;
    {
        /* A concurrent writer may have just created it (two first releases racing): then it is
         * not lost, and the caller's conditional put finds it and re-reads. */
        struct cmn_errbuf eb = {{0}};
        if (cmn_storage_head(st, own_manifest, NULL, NULL, &eb) == CMN_OK)
            return 0;
    }
    return cli_fail(CLI_EXIT_CONFLICT,
                    "no manifest for channel '%s' of %s/%s, but storage '%s' already holds '%s': the manifest "
                    "may have been lost, and starting the channel again would drop its history; restore it, or "
                    "pass --new-channel if '%s' really is a new channel",
                    channel, app, platform, cmn_storage_url(st), mc.found, channel);
}

long cli_pick_release(const struct cmn_manifest *m, const char *id, const char *version, unsigned states)
{
    size_t i;
    if (id) {
        long k = cmn_manifest_find(m, id);
        if (k < 0)
            cli_fail(CLI_EXIT_NOTFOUND, "no release '%s' on channel '%s'", id, m->channel);
        return k;
    }
    if (version) {
        for (i = m->n_releases; i-- > 0;)
            if (strcmp(m->releases[i].version, version) == 0)
                return (long)i;
        cli_fail(CLI_EXIT_NOTFOUND, "no release with version '%s' on channel '%s'", version, m->channel);
        return -1;
    }
    for (i = m->n_releases; i-- > 0;)
        if (states & (1u << m->releases[i].state))
            return (long)i;
    cli_fail(CLI_EXIT_NOTFOUND, "no %s release on channel '%s': pass --release ID or --version V",
             states == (1u << CMN_REL_ACTIVE) ? "active" : "matching", m->channel);
    return -1;
}
