/*
 * cmd_release.c - `hotpatch release`: build (or take) a bundle, zip it
 * deterministically, hash it, sign the digest with the release key, and
 * publish it: to a publisher (multipart upload) or serverless (content-
 * addressed bundle upload, then a conditional read-modify-write of the
 * channel manifest, see remote.c).
 *
 * Everything that can be checked before the ~20 s bundler run is checked
 * first (flags, keys, storage URL), so a typo fails at once. The work dir is
 * private and removed at the end. Re-releasing a version already on the
 * channel is refused (exit 4) before anything is written.
 */
#include "common/compat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

struct rel {
    struct cli_target t;
    const char *version, *target_binary, *notes;
    int mandatory, new_channel;
    long rollout_bp;
    char sha256[CMN_SHA256_HEX];
    char codepush_hash[CMN_SHA256_HEX]; /* the CodePush package hash: into the release entry / upload metadata */
    uint64_t size;
    char sig[CMN_SIG_B64];
    int legacy; /* --legacy-signature: also sign the bare digest (SPEC.md section 15) */
    char legacy_sig[CMN_SIG_B64];
    char keyid[CMN_KEYID_HEX];
    char bundle_key[CMN_STORAGE_KEY_MAX];
    char id[CMN_ID_MAX + 1];
    struct cmn_semver_range range;
    int64_t created_at;
    /* Serverless: release key and work dir for patches, and what they produced. */
    const struct cmn_key *skey;
    const char *work;
    long patch_bases;
    int no_embedded;          /* --no-embedded-patches */
    json_t *patch_notes;      /* why each base gave a patch or not (--json) */
    struct cmn_release extra; /* content_sha256, content_sig, patches */
};

static int valid_version(const char *v)
{
    size_t i, n = strlen(v);
    if (n == 0 || n > CMN_ID_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '+' || c == '_'))
            return 0;
    }
    return 1;
}

static int copy_file(const char *from, const char *to)
{
    char buf[65536];
    ssize_t r;
    int in = open(from, O_RDONLY | O_CLOEXEC), out;
    if (in < 0)
        return cli_fail(CLI_EXIT_FAIL, "cannot read '%s': %s", from, strerror(errno));
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return cli_fail(CLI_EXIT_FAIL, "cannot write '%s': %s", to, strerror(errno));
    }
    while ((r = read(in, buf, sizeof(buf))) > 0) {
        ssize_t off = 0;
        while (off < r) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w <= 0) {
                close(in);
                close(out);
                return cli_fail(CLI_EXIT_FAIL, "cannot write '%s': %s", to, strerror(errno));
            }
            off += w;
        }
    }
    close(in);
    if (r < 0 || close(out) != 0)
        return cli_fail(CLI_EXIT_FAIL, "cannot copy '%s' to '%s': %s", from, to, strerror(errno));
    return 0;
}

/* Serverless edit: refuse a duplicate version, append the release. */
static int add_release(void *ctx, struct cmn_manifest *m, int is_new, int *skip)
{
    struct rel *r = ctx;
    struct cmn_release e;
    enum cmn_err rc;
    size_t i;
    (void)is_new;
    (void)skip;
    if (m->retired && !r->new_channel)
        return cli_fail(CLI_EXIT_CONFLICT,
                        "channel '%s' is retired (signed tombstone); pass --new-channel to start it again",
                        r->t.channel);
    m->retired = 0;
    for (i = 0; i < m->n_releases; i++)
        if (strcmp(m->releases[i].version, r->version) == 0)
            return cli_fail(CLI_EXIT_CONFLICT,
                            "version '%s' is already released on channel '%s' (release %s, %s): "
                            "bump --version, or use 'hotpatch rollout'/'rollback' on it",
                            r->version, r->t.channel, m->releases[i].id, cmn_release_state_name(m->releases[i].state));
    if (m->n_releases >= CMN_MANIFEST_MAX_RELEASES)
        return cli_fail(CLI_EXIT_CONFLICT,
                        "channel '%s' already lists %d releases: archive old ones with 'hotpatch "
                        "archive --release ID'",
                        r->t.channel, CMN_MANIFEST_MAX_RELEASES);
    memset(&e, 0, sizeof(e));
    e.id = r->id;
    e.version = (char *)r->version;
    e.target_binary = (char *)r->target_binary;
    e.target = r->range;
    e.bundle_url = r->bundle_key;
    memcpy(e.sha256, r->sha256, sizeof(e.sha256));
    e.size = r->size;
    e.bundle_sig = r->sig;
    e.legacy_signature = r->legacy ? r->legacy_sig : NULL;
    memcpy(e.bundle_keyid, r->keyid, sizeof(e.bundle_keyid));
    e.mandatory = r->mandatory;
    e.rollout_bp = (uint32_t)r->rollout_bp;
    e.state = CMN_REL_ACTIVE;
    e.created_at = r->created_at;
    e.notes = (char *)r->notes;
    memcpy(e.content_sha256, r->extra.content_sha256, sizeof(e.content_sha256));
    e.content_sig = r->extra.content_sig;
    e.patches = r->extra.patches;
    e.n_patches = r->extra.n_patches;
    /* Only channels that answer CodePush clients carry it: SDKs predating SPEC section 16 refuse unknown members. */
    if (m->codepush_keys)
        memcpy(e.codepush_hash, r->codepush_hash, sizeof(e.codepush_hash));
    rc = cmn_manifest_add_release(m, &e);
    if (rc)
        return cli_fail_rc(rc, NULL, "cannot add the release");
    return 0;
}

/*
 * Before uploading anything: the channel's manifest (if any) must verify with
 * our manifest key and must not list this version yet. cli_channel_edit
 * checks both again on the manifest it actually rewrites.
 */
static int precheck(struct cmn_storage *st, const struct cmn_key *mkey, struct rel *r, struct cmn_manifest **keep)
{
    struct cmn_keyring ring;
    struct cmn_key pub[1 + CLI_MAX_TRUSTED];
    struct cmn_manifest *m = NULL;
    struct cmn_errbuf eb = {{0}};
    char key[CMN_STORAGE_KEY_MAX], what[CMN_STORAGE_KEY_MAX + 8];
    struct cmn_buf b;
    enum cmn_err rc;
    int ex = 0, skip = 0;
    if ((ex = cli_edit_keyring(mkey, pub, &ring)))
        return ex;
    if (cmn_storage_manifest_key(r->t.app, r->t.platform, r->t.channel, key, sizeof(key)))
        return cli_fail(CLI_EXIT_USAGE, "bad app/platform/channel");
    cmn_buf_init(&b, CMN_MANIFEST_MAX_BYTES);
    rc = cmn_storage_get(st, key, NULL, &b, NULL, &eb);
    if (rc == CMN_E_NOTFOUND) {
        cmn_buf_release(&b);
        /* Before uploading anything: a channel is only started from nothing when it is new. */
        return r->new_channel ? 0 : cli_channel_may_create(st, r->t.app, r->t.platform, r->t.channel, r->bundle_key);
    }
    if (rc) {
        cmn_buf_release(&b);
        return cli_fail_rc(rc, &eb, "cannot read '%s' from '%s'", key, cmn_storage_url(st));
    }
    snprintf(what, sizeof(what), "'%s'", key);
    ex = cli_manifest_open(b.ptr ? b.ptr : "", b.len, &ring, r->t.app, r->t.platform, r->t.channel,
                           CMN_MANIFEST_ALLOW_EXPIRED, what, &m);
    if (!ex) {
        /* add_release refuses duplicates; run it on a throwaway copy. */
        ex = add_release(r, m, 0, &skip);
    }
    if (!ex && keep) {
        *keep = m;
        m = NULL;
    }
    cmn_manifest_free(m);
    cmn_buf_release(&b);
    return ex;
}

static int publish_serverless(const struct cli_conn *c, struct rel *r, const char *zip, int64_t ttl)
{
    struct cmn_storage *st = NULL;
    struct cmn_key mkey;
    struct cmn_errbuf eb = {{0}};
    struct cli_edit_result res;
    struct cli_progress prog;
    struct cmn_put_opts po;
    enum cmn_err rc;
    uint64_t have = 0;
    struct cmn_manifest *prev = NULL;
    int ex, uploaded = 0;
    memset(&mkey, 0, sizeof(mkey));
    ex = cli_conn_manifest_key(c, &mkey);
    if (ex)
        goto out;
    ex = cli_conn_storage(c, &st);
    if (ex)
        goto out;
    ex = precheck(st, &mkey, r, &prev);
    if (ex)
        goto out;
    if (r->patch_bases >= 0) {
        memcpy(r->extra.sha256, r->sha256, sizeof(r->extra.sha256));
        r->patch_notes = json_array();
        struct cli_patch_from from = {r->t.app,        r->t.platform, prev,          (int)r->patch_bases,
                                      !r->no_embedded, &r->range,     r->patch_notes};
        ex = cli_release_patches(st, r->skey, r->work, zip, r->size, &from, &r->extra);
        if (ex)
            goto out;
    }
    rc = cmn_storage_head(st, r->bundle_key, NULL, &have, &eb);
    if (rc == CMN_OK && have == r->size) {
        cli_note("bundle %s already in storage: not uploading again", r->bundle_key);
    } else if (rc == CMN_OK || rc == CMN_E_NOTFOUND) {
        memset(&po, 0, sizeof(po));
        po.content_type = "application/zip";
        po.cache_control = "public, max-age=31536000, immutable";
        cli_progress_init(&prog, "uploading");
        po.progress = cli_progress_cb;
        po.progress_ctx = &prog;
        memset(&eb, 0, sizeof(eb));
        rc = cmn_storage_put_file(st, r->bundle_key, zip, &po, NULL, &eb);
        cli_progress_done(&prog);
        if (rc) {
            ex = cli_fail_rc(rc, &eb, "cannot upload the bundle to '%s'", cmn_storage_url(st));
            goto out;
        }
        uploaded = 1;
    } else {
        ex = cli_fail_rc(rc, &eb, "cannot reach storage '%s'", cmn_storage_url(st));
        goto out;
    }
    /* precheck ran cli_channel_may_create before the upload (our own bundle is in storage now) */
    ex = cli_channel_edit(st, &mkey, r->t.app, r->t.platform, r->t.channel, ttl, CLI_EDIT_CREATE | CLI_EDIT_NEW_CHANNEL,
                          add_release, r, &res);
    if (ex)
        goto out;
    if (cli_out.json) {
        json_t *o = json_object(), *rel = json_object(), *man = json_object(), *b = json_object();
        json_object_set_new(rel, "id", json_string(r->id));
        json_object_set_new(rel, "app", json_string(r->t.app));
        json_object_set_new(rel, "platform", json_string(r->t.platform));
        json_object_set_new(rel, "channel", json_string(r->t.channel));
        json_object_set_new(rel, "version", json_string(r->version));
        json_object_set_new(rel, "target_binary", json_string(r->target_binary));
        json_object_set_new(rel, "mandatory", json_boolean(r->mandatory));
        json_object_set_new(rel, "rollout_bp", json_integer(r->rollout_bp));
        json_object_set_new(rel, "state", json_string("active"));
        json_object_set_new(rel, "sha256", json_string(r->sha256));
        json_object_set_new(rel, "size", json_integer((json_int_t)r->size));
        json_object_set_new(rel, "bundle_sig", json_string(r->sig));
        if (r->legacy)
            json_object_set_new(rel, "legacy_signature", json_string(r->legacy_sig));
        json_object_set_new(rel, "bundle_keyid", json_string(r->keyid));
        json_object_set_new(rel, "bundle_url", json_string(r->bundle_key));
        json_object_set_new(rel, "created_at", json_integer(r->created_at));
        json_object_set_new(rel, "codepush_hash", json_string(r->codepush_hash));
        if (r->extra.content_sig) {
            json_t *pa = json_array();
            json_object_set_new(rel, "content_sha256", json_string(r->extra.content_sha256));
            for (size_t i = 0; i < r->extra.n_patches; i++)
                json_array_append_new(pa, json_pack("{s:s,s:s,s:s,s:I}", "base", r->extra.patches[i].base, "url",
                                                    r->extra.patches[i].url, "sha256", r->extra.patches[i].sha256,
                                                    "size", (json_int_t)r->extra.patches[i].size));
            json_object_set_new(rel, "patches", pa);
        }
        json_object_set_new(man, "key", json_string(res.key));
        json_object_set_new(man, "sequence", json_integer((json_int_t)res.sequence));
        json_object_set_new(man, "expires_at", json_integer(res.expires_at));
        json_object_set_new(man, "attempts", json_integer(res.attempts));
        json_object_set_new(b, "key", json_string(r->bundle_key));
        json_object_set_new(b, "uploaded", json_boolean(uploaded));
        json_object_set_new(o, "mode", json_string("serverless"));
        json_object_set_new(o, "release", rel);
        json_object_set_new(o, "manifest", man);
        json_object_set_new(o, "bundle", b);
        if (r->patch_notes)
            json_object_set(o, "patch_notes", r->patch_notes);
        cli_print_json(o);
    } else {
        char exp[32];
        cli_iso_time(res.expires_at, exp, sizeof(exp));
        printf("released %s to %s/%s channel '%s'\n", r->version, r->t.app, r->t.platform, r->t.channel);
        printf("  release   %s\n", r->id);
        printf("  sequence  %llu (manifest %s, expires %s)\n", (unsigned long long)res.sequence, res.key, exp);
        printf("  bundle    %s (%llu bytes, %s)\n", r->bundle_key, (unsigned long long)r->size,
               uploaded ? "uploaded" : "already present");
        printf("  sha256    %s\n", r->sha256);
        printf("  signed by %s\n", r->keyid);
        printf("  rollout   %ld.%02ld%%%s\n", r->rollout_bp / 100, r->rollout_bp % 100,
               r->mandatory ? ", mandatory" : "");
    }
out:
    cmn_manifest_free(prev);
    cmn_key_clear(&mkey);
    cmn_storage_free(st);
    return ex;
}

static int publish_publisher(const struct cli_conn *c, struct rel *r, const char *zip)
{
    struct cli_api api = {c->endpoint, c->token};
    json_t *meta, *resp = NULL, *rel, *man;
    int ex;
    meta = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:i,s:s,s:I,s:s,s:s}", "app", r->t.app, "platform", r->t.platform,
                     "channel", r->t.channel, "version", r->version, "target_binary", r->target_binary, "mandatory",
                     r->mandatory, "rollout_bp", (int)r->rollout_bp, "sha256", r->sha256, "size", (json_int_t)r->size,
                     "bundle_sig", r->sig, "bundle_keyid", r->keyid);
    if (!meta)
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    /* SPEC section 14: the publisher builds patches itself, against the content digest our release key signs
     * here (it holds no release key); it checks both against the zip before accepting it. */
    if (r->patch_bases >= 0) {
        ex = cli_release_content(r->skey, r->work, zip, &r->extra);
        if (ex) {
            json_decref(meta);
            return ex;
        }
        json_object_set_new(meta, "content_sha256", json_string(r->extra.content_sha256));
        json_object_set_new(meta, "content_sig", json_string(r->extra.content_sig));
    }
    if (r->legacy)
        json_object_set_new(meta, "legacy_signature", json_string(r->legacy_sig));
    /* the publisher stores it and lists it on channels with CodePush deployment keys (SPEC.md section 16) */
    if (r->codepush_hash[0])
        json_object_set_new(meta, "codepush_hash", json_string(r->codepush_hash));
    if (r->notes)
        json_object_set_new(meta, "notes", json_string(r->notes));
    ex = cli_api_upload(&api, meta, zip, &resp);
    json_decref(meta);
    if (ex)
        return ex;
    rel = json_object_get(resp, "release");
    man = json_object_get(resp, "manifest");
    if (cli_out.json) {
        json_t *o = json_object();
        json_object_set_new(o, "mode", json_string("publisher"));
        json_object_set(o, "release", json_is_object(rel) ? rel : json_null());
        json_object_set(o, "manifest", json_is_object(man) ? man : json_null());
        cli_print_json(o);
    } else {
        json_t *id = json_object_get(rel, "id"), *seq = json_object_get(man, "sequence");
        printf("released %s to %s/%s channel '%s' via %s\n", r->version, r->t.app, r->t.platform, r->t.channel,
               c->endpoint);
        if (json_is_string(id))
            printf("  release   %s\n", json_string_value(id));
        if (json_is_integer(seq))
            printf("  sequence  %lld\n", (long long)json_integer_value(seq));
        printf("  sha256    %s (%llu bytes)\n", r->sha256, (unsigned long long)r->size);
        printf("  signed by %s\n", r->keyid);
    }
    json_decref(resp);
    return 0;
}

int cli_cmd_release(int argc, char **argv)
{
    struct cli_conn c;
    struct rel r;
    struct cli_args a;
    struct cmn_key skey;
    struct cli_zip_list zl;
    struct cmn_errbuf eb = {{0}};
    const char *rollout = NULL, *rollout_bp = NULL, *entry = NULL, *project = NULL, *bundle_dir = NULL;
    const char *build_dir = NULL, *hermesc = NULL, *signing = NULL, *ttl_s = NULL, *zip_out = NULL;
    const char *patch_bases = NULL;
    int hermes = 0, dry_run = 0, ex;
    char *work = NULL, zip[PATH_MAX], bdir[PATH_MAX], entry_name[128], hbc[PATH_MAX];
    uint8_t digest[CMN_SHA256_BYTES];
    long long ttl = CLI_DEFAULT_TTL;
    enum cmn_err rc;
    const struct cli_opt opts[] = {
        CLI_TARGET_OPTS(&r.t),
        {"version", "LABEL", &r.version, NULL, "release label, e.g. 1.2.0 (unique per channel)"},
        {"target-binary", "RANGE", &r.target_binary, NULL, "native versions it runs on, e.g. \">=1.2.0 <1.3.0\""},
        {"mandatory", NULL, NULL, &r.mandatory, "devices must install it"},
        {"rollout", "PERCENT", &rollout, NULL, "share of devices, 0-100 (e.g. 10 or 2.5); default 100"},
        {"rollout-bp", "N", &rollout_bp, NULL, "share of devices in basis points, 0-10000"},
        {"notes", "TEXT", &r.notes, NULL, "release notes"},
        {"project-dir", "DIR", &project, NULL, "React Native project to bundle (default: current dir)"},
        {"entry-file", "FILE", &entry, NULL, "JS entry file (default index.js)"},
        {"bundle-dir", "DIR", &bundle_dir, NULL, "publish this prebuilt bundle dir instead of running the bundler"},
        {"build-dir", "DIR", &build_dir, NULL, "keep the bundler output here (new or empty dir)"},
        {"hermes", NULL, NULL, &hermes, "compile the bundle to Hermes bytecode"},
        {"hermesc", "FILE", &hermesc, NULL, "hermesc binary (default: the project's node_modules)"},
        {"signing-key", "FILE", &signing, NULL, "release secret key file"},
        {"legacy-signature", NULL, NULL, &r.legacy,
         "also sign the bare SHA-256 for seed 000/001 clients (apps that opted in; docs/compatibility.md)"},
        {"ttl", "DURATION", &ttl_s, NULL, "serverless: manifest validity, e.g. 7d (default), 12h"},
        {"zip-out", "FILE", &zip_out, NULL, "also keep a copy of the release zip here"},
        {"dry-run", NULL, NULL, &dry_run, "build, zip, hash and sign, but publish nothing"},
        {"new-channel", NULL, NULL, &r.new_channel,
         "serverless: start this channel although storage holds other channels or bundles of the app"},
        {"patch-bases", "N", &patch_bases, NULL,
         "serverless: patches from the channel's last N bundles (default 3; 0: none); -1 (both modes): no "
         "content digest and no patches at all (a publisher builds its own patches from the signed digest)"},
        {"no-embedded-patches", NULL, NULL, &r.no_embedded,
         "serverless: no patches from the embedded bundles registered with 'hotpatch embedded add'"},
        CLI_CONN_OPTS(&c),
        {0},
    };
    const struct cli_cmd cmd = {
        "release", "Build, zip, hash, sign and publish a bundle to a channel.",
        "hotpatch release --app A --platform android|ios --version 1.2.0 --target-binary RANGE\n"
        "                [--channel production] [--mandatory] [--rollout 10] [--notes TEXT]\n"
        "                [--project-dir DIR] [--entry-file index.js | --bundle-dir DIR] [--hermes]\n"
        "                [--endpoint URL | --storage URL]",
        CLI_CONN_ENV "HOTPATCH_SIGNING_KEY   release secret key file (default: config dir release.key)\n",
        "Runs `npx react-native bundle --platform P --dev false --entry-file F --bundle-output\n"
        "OUT/index.<P>.bundle --assets-dest OUT` in the project dir (or takes --bundle-dir), zips OUT\n"
        "deterministically (same input, same SHA-256), signs the SHA-256 with the release key, then\n"
        "uploads to the publisher (publisher mode) or writes the bundle and the re-signed channel\n"
        "manifest to storage itself (serverless mode: --storage, with the manifest key).\n"};
    memset(&c, 0, sizeof(c));
    memset(&r, 0, sizeof(r));
    memset(&skey, 0, sizeof(skey));
    memset(&zl, 0, sizeof(zl));
    r.rollout_bp = 10000;
    r.patch_bases = CLI_PATCH_BASES_DEFAULT;
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    if (patch_bases) {
        char *end = NULL;
        r.patch_bases = strtol(patch_bases, &end, 10);
        if (!end || *end || r.patch_bases < -1 || r.patch_bases > CMN_MANIFEST_MAX_PATCHES)
            return cli_fail(CLI_EXIT_USAGE, "bad --patch-bases '%s': -1..%d", patch_bases, CMN_MANIFEST_MAX_PATCHES);
    }
    if (a.npos)
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s'", a.pos[0]);
    if ((ex = cli_target_resolve(&r.t)))
        return ex;
    if (!r.version)
        return cli_fail(CLI_EXIT_USAGE, "missing --version LABEL (e.g. --version 1.2.0)");
    if (!valid_version(r.version))
        return cli_fail(CLI_EXIT_USAGE, "bad --version '%s': use 1-64 of A-Z a-z 0-9 . + - _", r.version);
    if (!r.target_binary)
        return cli_fail(CLI_EXIT_USAGE, "missing --target-binary RANGE: the native app versions this bundle runs on, "
                                        "e.g. \">=1.2.0 <1.3.0\" or \"1.2.x\"");
    if (cmn_semver_range_parse(r.target_binary, &r.range))
        return cli_fail(CLI_EXIT_USAGE,
                        "bad --target-binary '%s': expected a version range like \">=1.2.0 "
                        "<1.3.0\", \"~1.2.0\" or \"1.2.x\"",
                        r.target_binary);
    if (rollout && rollout_bp)
        return cli_fail(CLI_EXIT_USAGE, "pass --rollout or --rollout-bp, not both");
    if (rollout && (r.rollout_bp = cli_percent_to_bp(rollout)) < 0)
        return cli_fail(CLI_EXIT_USAGE, "bad --rollout '%s': a percentage 0-100 with at most 2 decimals", rollout);
    if (rollout_bp && (r.rollout_bp = (long)cli_parse_uint(rollout_bp, 0, 10000)) < 0)
        return cli_fail(CLI_EXIT_USAGE, "bad --rollout-bp '%s': 0-10000", rollout_bp);
    if (r.notes && strlen(r.notes) > CMN_NOTES_MAX)
        return cli_fail(CLI_EXIT_USAGE, "--notes is longer than %d bytes", CMN_NOTES_MAX);
    if ((ex = cli_parse_ttl(ttl_s, &ttl)))
        return ex;
    if (bundle_dir && (entry || project || build_dir) && !hermes)
        return cli_fail(CLI_EXIT_USAGE, "--bundle-dir takes a prebuilt bundle: drop --entry-file/--project-dir/"
                                        "--build-dir");
    if (entry && (strlen(entry) == 0 || strlen(entry) >= 1024))
        return cli_fail(CLI_EXIT_USAGE, "bad --entry-file");
    if (!dry_run && (ex = cli_conn_resolve(&c)))
        return ex;
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    /* Fail fast on keys and storage before the slow bundler run. */
    ex = cli_load_secret(signing, "HOTPATCH_SIGNING_KEY", "signing_key", "release.key", "signing",
                         "run 'hotpatch keygen' or set HOTPATCH_SIGNING_KEY", &skey);
    if (ex)
        return ex;
    if (!dry_run && c.mode == CLI_MODE_SERVERLESS) {
        struct cmn_key mk;
        struct cmn_storage *st = NULL;
        memset(&mk, 0, sizeof(mk));
        ex = cli_conn_manifest_key(&c, &mk);
        cmn_key_clear(&mk);
        if (!ex)
            ex = cli_conn_storage(&c, &st);
        cmn_storage_free(st);
        if (ex)
            goto out;
    }
    ex = cli_mkdtemp(&work);
    if (ex)
        goto out;
    if (bundle_dir) {
        snprintf(bdir, sizeof(bdir), "%s", bundle_dir);
    } else {
        struct cli_build_opts bo;
        if (build_dir) {
            struct stat sb;
            if (stat(build_dir, &sb) == 0) {
                struct cli_zip_list probe;
                memset(&probe, 0, sizeof(probe));
                if (!S_ISDIR(sb.st_mode) || cli_zip_collect(build_dir, &probe, NULL) != CMN_E_INVAL) {
                    cli_zip_list_release(&probe);
                    ex = cli_fail(CLI_EXIT_USAGE, "build dir '%s' is not an empty directory: pass a new or empty one",
                                  build_dir);
                    goto out;
                }
            } else if (mkdir(build_dir, 0755) != 0) {
                ex = cli_fail(CLI_EXIT_FAIL, "cannot create build dir '%s': %s", build_dir, strerror(errno));
                goto out;
            }
            snprintf(bdir, sizeof(bdir), "%s", build_dir);
        } else {
            snprintf(bdir, sizeof(bdir), "%s/bundle", work);
            if (mkdir(bdir, 0755) != 0) {
                ex = cli_fail(CLI_EXIT_FAIL, "cannot create '%s': %s", bdir, strerror(errno));
                goto out;
            }
        }
        memset(&bo, 0, sizeof(bo));
        bo.project_dir = project;
        bo.platform = r.t.platform;
        bo.entry_file = entry;
        bo.out_dir = bdir;
        ex = cli_build_bundle(&bo);
        if (ex)
            goto out;
    }
    rc = cli_zip_collect(bdir, &zl, &eb);
    if (rc) {
        ex = cli_fail(rc == CMN_E_NOTFOUND ? CLI_EXIT_NOTFOUND
                      : rc == CMN_E_DENIED ? CLI_EXIT_AUTH
                                           : CLI_EXIT_FAIL,
                      "cannot use bundle dir '%s': %s", bdir, cmn_errmsg(&eb, rc));
        goto out;
    }
    snprintf(entry_name, sizeof(entry_name), "index.%s.bundle", r.t.platform);
    if ((strcmp(r.t.platform, "android") == 0 || strcmp(r.t.platform, "ios") == 0) && !cli_zip_find(&zl, entry_name)) {
        ex = cli_fail(CLI_EXIT_USAGE,
                      "bundle dir '%s' has no '%s': build it with 'npx react-native bundle "
                      "--platform %s ...' or drop --bundle-dir",
                      bdir, entry_name, r.t.platform);
        goto out;
    }
    if (hermes) {
        struct cli_zip_entry *e = cli_zip_find(&zl, entry_name);
        struct stat sb;
        if (!e) {
            ex = cli_fail(CLI_EXIT_USAGE, "--hermes needs '%s' in the bundle dir", entry_name);
            goto out;
        }
        snprintf(hbc, sizeof(hbc), "%s/%s.hbc", work, entry_name);
        ex = cli_build_hermes(project, hermesc, e->path, hbc);
        if (ex)
            goto out;
        free(e->path);
        e->path = strdup(hbc);
        if (!e->path || stat(hbc, &sb) != 0) {
            ex = cli_fail(CLI_EXIT_FAIL, "hermesc wrote no '%s'", hbc);
            goto out;
        }
        e->size = (uint64_t)sb.st_size;
    }
    snprintf(zip, sizeof(zip), "%s/bundle.zip", work);
    rc = cli_zip_write(&zl, zip, &eb);
    if (rc) {
        ex = cli_fail_rc(rc, &eb, "cannot zip '%s'", bdir);
        goto out;
    }
    rc = cmn_sha256_file(zip, digest, &r.size, &eb);
    if (rc) {
        ex = cli_fail_rc(rc, &eb, "cannot hash '%s'", zip);
        goto out;
    }
    cmn_hex_encode(digest, sizeof(digest), r.sha256);
    rc = cli_zip_codepush_hash(&zl, r.codepush_hash, &eb);
    if (rc) {
        ex = cli_fail_rc(rc, &eb, "cannot compute the CodePush package hash");
        goto out;
    }
    rc = cmn_bundle_sign(&skey, digest, r.sig);
    if (!rc && r.legacy)
        rc = cmn_digest_sign(&skey, CMN_SIGCTX_LEGACY, digest, r.legacy_sig);
    if (rc) {
        ex = cli_fail_rc(rc, NULL, "cannot sign the bundle");
        goto out;
    }
    memcpy(r.keyid, skey.keyid, sizeof(r.keyid));
    if (cmn_storage_bundle_key(r.t.app, r.t.platform, r.sha256, r.bundle_key, sizeof(r.bundle_key))) {
        ex = cli_fail(CLI_EXIT_FAIL, "cannot name the bundle object");
        goto out;
    }
    cli_release_id(r.id);
    r.created_at = (int64_t)time(NULL);
    cli_note("bundle: %zu files, %llu bytes zipped, sha256 %s, signed by %s", zl.n, (unsigned long long)r.size,
             r.sha256, r.keyid);
    if (zip_out && (ex = copy_file(zip, zip_out)))
        goto out;
    if (dry_run) {
        if (cli_out.json)
            cli_print_json(json_pack("{s:b,s:s,s:I,s:s,s:s,s:s,s:i}", "dry_run", 1, "sha256", r.sha256, "size",
                                     (json_int_t)r.size, "bundle_sig", r.sig, "bundle_keyid", r.keyid, "bundle_url",
                                     r.bundle_key, "files", (int)zl.n));
        else
            printf("dry run: %s (%llu bytes)\n  sha256    %s\n  signature %s\n  key id    %s\n",
                   zip_out ? zip_out : "zip discarded", (unsigned long long)r.size, r.sha256, r.sig, r.keyid);
        ex = 0;
        goto out;
    }
    r.skey = &skey;
    r.work = work;
    if (c.mode == CLI_MODE_SERVERLESS)
        ex = publish_serverless(&c, &r, zip, ttl);
    else
        ex = publish_publisher(&c, &r, zip);
out:
    json_decref(r.patch_notes);
    free(r.extra.content_sig);
    for (size_t i = 0; i < r.extra.n_patches; i++)
        free(r.extra.patches[i].url);
    free(r.extra.patches);
    cmn_key_clear(&skey);
    cli_zip_list_release(&zl);
    if (work) {
        cli_rmtree(work);
        free(work);
    }
    return ex;
}
