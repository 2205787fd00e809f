/*
 * remote.c - serverless mode: the CLI edits channel manifests in storage
 * itself, with the manifest key, the same way the publisher does.
 *
 * Every change is a read-modify-write: get the envelope and its ETag, verify
 * it with the manifest key (an expired manifest is accepted here because we
 * are about to re-sign it), apply the change to the parsed model, bump the
 * sequence, seal, and put it back conditionally (If-Match the ETag we read,
 * or If-None-Match when the channel is new). A lost race (CMN_E_CONFLICT)
 * re-reads and re-applies the change after a jittered backoff, so two
 * concurrent releases both end up in the manifest with increasing sequences.
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

/* Sleep a random 20..(40 << attempt) ms, capped at ~1 s: decorrelates racing writers. */
static void backoff(int attempt)
{
    uint32_t r;
    unsigned base = 20u << (attempt < 5 ? attempt : 5);
    unsigned ms;
    struct timespec ts;
    cmn_random(&r, sizeof(r));
    ms = 20 + r % (base + 1);
    if (ms > 1000)
        ms = 1000;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
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

int cli_channel_edit(struct cmn_storage *st, const struct cmn_key *mkey, const char *app, const char *platform,
                     const char *channel, int64_t ttl, int create, cli_edit_fn fn, void *ctx,
                     struct cli_edit_result *res)
{
    struct cmn_keyring ring;
    struct cmn_key pub[1 + CLI_MAX_TRUSTED];
    int attempt, ex = 0;
    memset(res, 0, sizeof(*res));
    if ((ex = cli_edit_keyring(mkey, pub, &ring)))
        return ex;
    if (cmn_storage_manifest_key(app, platform, channel, res->key, sizeof(res->key)))
        return cli_fail(CLI_EXIT_USAGE, "bad app/platform/channel '%s/%s/%s'", app, platform, channel);
    for (attempt = 0; attempt < CLI_MAX_RETRIES; attempt++) {
        struct cmn_manifest *m = NULL;
        struct cmn_errbuf eb = {{0}};
        struct cmn_put_opts po;
        struct cmn_buf b, env;
        char etag[CMN_ETAG_MAX] = "";
        enum cmn_err rc;
        int is_new = 0, skip = 0;
        int64_t now;
        char what[CMN_STORAGE_KEY_MAX + 8];

        cmn_buf_init(&b, CMN_MANIFEST_MAX_BYTES);
        cmn_buf_init(&env, CMN_MANIFEST_MAX_BYTES);
        res->attempts = attempt + 1;
        rc = cmn_storage_get(st, res->key, NULL, &b, etag, &eb);
        if (rc == CMN_E_NOTFOUND) {
            if (!create) {
                ex = cli_fail(CLI_EXIT_NOTFOUND,
                              "no manifest for channel '%s' of %s/%s in '%s' (nothing released "
                              "yet?)",
                              channel, app, platform, cmn_storage_url(st));
                goto next;
            }
            if (!(create & CLI_EDIT_NEW_CHANNEL)) {
                ex = cli_channel_may_create(st, app, platform, channel, NULL);
                if (ex)
                    goto next;
            }
            m = cmn_manifest_new(app, platform, channel);
            if (!m) {
                ex = cli_fail(CLI_EXIT_FAIL, "out of memory");
                goto next;
            }
            is_new = 1;
        } else if (rc) {
            ex = cli_fail_rc(rc, &eb, "cannot read '%s' from '%s'", res->key, cmn_storage_url(st));
            goto next;
        } else {
            snprintf(what, sizeof(what), "'%s'", res->key);
            ex = cli_manifest_open(b.ptr ? b.ptr : "", b.len, &ring, app, platform, channel, CMN_MANIFEST_ALLOW_EXPIRED,
                                   what, &m);
            if (ex)
                goto next;
        }
        ex = fn(ctx, m, is_new, &skip);
        if (ex || skip) {
            res->sequence = m->sequence;
            res->expires_at = m->expires_at;
            res->skipped = skip;
            goto next;
        }
        now = (int64_t)time(NULL);
        m->sequence = cmn_manifest_next_sequence(m->sequence, cmn_now_ms());
        if (m->sequence == 0) {
            ex = cli_fail(CLI_EXIT_CONFLICT, "channel '%s' of %s/%s has reached the highest sequence", channel, app,
                          platform);
            goto next;
        }
        m->issued_at = now;
        m->expires_at = now + ttl;
        if (m->signed_by) {
            free(m->signed_by);
            m->signed_by = NULL;
        }
        rc = cmn_manifest_seal(m, mkey, &env, &eb);
        if (rc) {
            ex = cli_fail_rc(rc, &eb, "cannot seal the manifest of '%s/%s/%s'", app, platform, channel);
            goto next;
        }
        memset(&po, 0, sizeof(po));
        po.content_type = "application/json";
        po.cache_control = "public, max-age=30";
        if (is_new)
            po.if_none_match = 1;
        else
            po.if_match = etag;
        char newetag[CMN_ETAG_MAX] = "";
        rc = cmn_storage_put(st, res->key, env.ptr, env.len, &po, newetag, &eb);
        if (rc == CMN_E_CONFLICT) {
            cmn_manifest_free(m);
            cmn_buf_release(&b);
            cmn_buf_release(&env);
            cmn_debug("manifest '%s' changed under us (attempt %d): re-reading", res->key, attempt + 1);
            backoff(attempt);
            continue;
        }
        if (rc) {
            ex = cli_fail_rc(rc, &eb, "cannot write '%s' to '%s'", res->key, cmn_storage_url(st));
            goto next;
        }
        res->sequence = m->sequence;
        res->expires_at = m->expires_at;
        ex = 0;
        /*
         * The change feed is a hint for edges: a failure here leaves the
         * manifest written and is caught by their periodic full listing.
         */
        if (newetag[0]) {
            struct cmn_errbuf feb = {{0}};
            enum cmn_err frc = cmn_feed_record(st, app, platform, channel, m->sequence, newetag, now, &feb);
            if (frc)
                cli_note("warning: manifest written, but the change feed was not updated: %s (edges pick the change "
                         "up at their next full listing)",
                         cmn_errmsg(&feb, frc));
        }
    next:
        cmn_manifest_free(m);
        cmn_buf_release(&b);
        cmn_buf_release(&env);
        return ex;
    }
    return cli_fail(CLI_EXIT_CONFLICT,
                    "manifest '%s' kept changing under us (%d attempts): another release is in "
                    "progress; try again",
                    res->key, CLI_MAX_RETRIES);
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
