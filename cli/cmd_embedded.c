/*
 * cmd_embedded.c - `hotpatch embedded add|list|remove`: the embedded bundle
 * of each native binary version, registered as a patch base
 * (common/embedded.h, manifests/SPEC.md section 14 "Embedded bases").
 *
 * A fresh install runs the bundle shipped inside the native binary, so that
 * is the base most devices patch from. `add` zips the bundle directory the
 * deterministic way releases are zipped, reads the zip back and checks that
 * it extracts to exactly the directory's content digest (what a device
 * computes from its embedded files), then stores it: serverless straight into
 * storage (cmn_embedded_add), with a publisher through
 * POST /v1/apps/:app/platforms/:platform/embedded. Later releases whose
 * --target-binary admits the version list a patch from it.
 */
#include "common/compat.h"

#include <time.h>

#include "cli.h"
#include "common/embedded.h"
#include "common/patch.h"
#include "common/patchset.h"

/* What `add` prepared: the zip in a private work dir and its content digest. */
struct emb_zip {
    char *work;
    char zip[PATH_MAX];
    char content_sha256[CMN_SHA256_HEX];
    char zip_sha256[CMN_SHA256_HEX];
    uint64_t size;
    size_t files;
};

static int prepare_zip(const char *dir, struct emb_zip *z)
{
    struct cli_zip_list zl;
    struct cmn_errbuf eb = {{0}};
    uint8_t dd[CMN_SHA256_BYTES], zd[CMN_SHA256_BYTES], h[CMN_SHA256_BYTES];
    enum cmn_err rc;
    int ex;
    memset(&zl, 0, sizeof(zl));
    rc = cli_zip_collect(dir, &zl, &eb);
    if (rc)
        return cli_fail(rc == CMN_E_NOTFOUND ? CLI_EXIT_NOTFOUND : CLI_EXIT_FAIL, "cannot use bundle dir '%s': %s", dir,
                        cmn_errmsg(&eb, rc));
    z->files = zl.n;
    if ((rc = cmn_content_digest_dir(dir, dd, &eb))) {
        ex = cli_fail(CLI_EXIT_FAIL, "cannot digest bundle dir '%s': %s", dir, cmn_errmsg(&eb, rc));
        goto out;
    }
    if ((ex = cli_mkdtemp(&z->work)))
        goto out;
    snprintf(z->zip, sizeof(z->zip), "%s/embedded.zip", z->work);
    if ((rc = cli_zip_write(&zl, z->zip, &eb))) {
        ex = cli_fail_rc(rc, &eb, "cannot zip '%s'", dir);
        goto out;
    }
    /* What release-time patching will see: the content the zip extracts to. */
    if ((rc = cmn_content_digest_zip(z->zip, 0, 0, zd, NULL, &eb))) {
        ex = cli_fail_rc(rc, &eb, "cannot read back the zip of '%s'", dir);
        goto out;
    }
    if (memcmp(dd, zd, sizeof(dd)) != 0) {
        ex = cli_fail(CLI_EXIT_FAIL,
                      "bundle dir '%s' does not survive zipping unchanged (a file the zip cannot "
                      "carry?): its content digest differs from the zip's",
                      dir);
        goto out;
    }
    if ((rc = cmn_sha256_file(z->zip, h, &z->size, &eb))) {
        ex = cli_fail_rc(rc, &eb, "cannot hash '%s'", z->zip);
        goto out;
    }
    cmn_hex_encode(dd, sizeof(dd), z->content_sha256);
    cmn_hex_encode(h, sizeof(h), z->zip_sha256);
    ex = 0;
out:
    cli_zip_list_release(&zl);
    return ex;
}

static json_t *base_json(const struct cmn_embedded_base *b)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:s}", "binary_version", b->binary_version, "content_sha256", b->content_sha256,
                     "key", b->key, "size", (json_int_t)b->size, "added", b->added);
}

static void print_list(const struct cli_target *t, const struct cmn_embedded *r)
{
    if (cli_out.json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < r->n; i++)
            json_array_append_new(arr, base_json(&r->v[i]));
        cli_print_json(
            json_pack("{s:s,s:s,s:s,s:o}", "action", "list", "app", t->app, "platform", t->platform, "bases", arr));
        return;
    }
    if (r->n == 0) {
        printf("no embedded bundles registered for %s/%s\n", t->app, t->platform);
        return;
    }
    printf("%-20s %-64s %10s  %s\n", "BINARY VERSION", "CONTENT SHA256", "ZIP BYTES", "ADDED");
    for (size_t i = 0; i < r->n; i++)
        printf("%-20s %-64s %10llu  %s\n", r->v[i].binary_version, r->v[i].content_sha256,
               (unsigned long long)r->v[i].size, r->v[i].added);
}

static void print_change(const char *verb, const struct cli_target *t, const struct cmn_embedded_change *ch)
{
    const struct cmn_embedded_base *b = &ch->entry;
    if (cli_out.json) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:b,s:b}", "action", verb, "app", t->app, "platform", t->platform,
                              "base", base_json(b), "changed", ch->changed, "replaced", ch->replaced);
        if (ch->old_sha256[0] && (ch->replaced || !strcmp(verb, "remove")))
            json_object_set_new(o, "old_content_sha256", json_string(ch->old_sha256));
        cli_print_json(o);
        return;
    }
    if (!strcmp(verb, "remove")) {
        printf("removed the embedded bundle of binary %s from %s/%s (content %.16s...; the zip object stays)\n",
               b->binary_version, t->app, t->platform, ch->old_sha256);
    } else if (!ch->changed) {
        printf("embedded bundle of binary %s for %s/%s is already registered with content %s: nothing changed\n",
               b->binary_version, t->app, t->platform, b->content_sha256);
    } else {
        printf("registered the embedded bundle of binary %s for %s/%s: content %s, %llu bytes zipped\n",
               b->binary_version, t->app, t->platform, b->content_sha256, (unsigned long long)b->size);
        if (ch->replaced)
            printf("it replaces the one registered before for %s (content %s)\n", b->binary_version, ch->old_sha256);
    }
}

/* A publisher answer {"base":{...},"changed":..,"replaced":..,"old_content_sha256":..} into ch. */
static int change_from_json(json_t *ans, struct cmn_embedded_change *ch)
{
    json_t *b = json_object_get(ans, "base");
    const char *v = json_string_value(json_object_get(b, "binary_version"));
    const char *c = json_string_value(json_object_get(b, "content_sha256"));
    const char *k = json_string_value(json_object_get(b, "key"));
    const char *a = json_string_value(json_object_get(b, "added"));
    const char *o = json_string_value(json_object_get(ans, "old_content_sha256"));
    json_t *sz = json_object_get(b, "size");
    memset(ch, 0, sizeof(*ch));
    if (!v || !c || !k || !a || !json_is_integer(sz))
        return cli_fail(CLI_EXIT_FAIL, "publisher answered without the embedded base");
    snprintf(ch->entry.binary_version, sizeof(ch->entry.binary_version), "%s", v);
    snprintf(ch->entry.content_sha256, sizeof(ch->entry.content_sha256), "%s", c);
    snprintf(ch->entry.key, sizeof(ch->entry.key), "%s", k);
    snprintf(ch->entry.added, sizeof(ch->entry.added), "%s", a);
    ch->entry.size = (uint64_t)json_integer_value(sz);
    ch->changed = json_is_true(json_object_get(ans, "changed"));
    ch->replaced = json_is_true(json_object_get(ans, "replaced"));
    if (o)
        snprintf(ch->old_sha256, sizeof(ch->old_sha256), "%s", o);
    return 0;
}

/* The publisher's list answer {"bases":[...]} through the same strict parser as storage. */
static int list_from_json(json_t *ans, const struct cli_target *t, struct cmn_embedded *r)
{
    struct cmn_errbuf eb = {{0}};
    json_t *doc = json_pack("{s:O}", "bases", json_object_get(ans, "bases"));
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!s)
        return cli_fail(CLI_EXIT_FAIL, "publisher answered without a list of bases");
    enum cmn_err rc = cmn_embedded_parse(s, strlen(s), t->app, t->platform, r, &eb);
    free(s);
    if (rc)
        return cli_fail_rc(rc, &eb, "publisher's list of embedded bundles");
    return 0;
}

int cli_cmd_embedded(int argc, char **argv)
{
    struct cli_conn c;
    struct cli_target t;
    struct cli_args a;
    struct cmn_storage *st = NULL;
    struct cmn_embedded reg;
    struct cmn_embedded_change ch;
    struct cmn_errbuf eb = {{0}};
    struct emb_zip z;
    const char *version = NULL, *bundle_dir = NULL;
    enum cmn_err rc;
    int ex;
    const struct cli_opt opts[] = {
        {"app", "NAME", &t.app, NULL, "app name (config: app)"},
        {"platform", "NAME", &t.platform, NULL, "android | ios | any device platform (config: platform)"},
        {"binary-version", "V", &version, NULL, "add/remove: the native binary version that embeds the bundle"},
        {"bundle-dir", "DIR", &bundle_dir, NULL,
         "add: the embedded bundle's files, exactly as the app ships them (what the SDK's embedded_dir points at)"},
        CLI_CONN_OPTS(&c),
        {0},
    };
    const struct cli_cmd cmd = {
        "embedded", "Register the bundle each native binary version embeds, as a patch base.",
        "hotpatch embedded add --app A --platform P --binary-version V --bundle-dir DIR\n"
        "       hotpatch embedded list --app A --platform P\n"
        "       hotpatch embedded remove --app A --platform P --binary-version V",
        CLI_CONN_ENV,
        "A fresh install runs the bundle embedded in the app, so it is the most common base for a patch.\n"
        "Once registered, every 'hotpatch release' whose --target-binary admits V lists a patch from it\n"
        "(when the patch is meaningfully smaller than the zip). Re-adding V with other content replaces it.\n"
        "The registry (embedded/<app>/<platform>/index.json) is unsigned: a base is only an identity, and a\n"
        "device verifies what a patch builds against the content digest the release key signed."};
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    memset(&z, 0, sizeof(z));
    memset(&ch, 0, sizeof(ch));
    cmn_embedded_init(&reg);
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    if (a.npos != 1 || (strcmp(a.pos[0], "add") && strcmp(a.pos[0], "list") && strcmp(a.pos[0], "remove")))
        return cli_fail(CLI_EXIT_USAGE, "want one of: add, list, remove");
    const char *verb = a.pos[0];
    if ((ex = cli_target_resolve(&t)))
        return ex;
    if (strcmp(verb, "list") != 0) {
        if (!version)
            return cli_fail(CLI_EXIT_USAGE, "%s needs --binary-version V (the native app version)", verb);
        if (!cmn_embedded_version_ok(version))
            return cli_fail(CLI_EXIT_USAGE, "bad --binary-version '%s': a version like 1.2.0 (at most %d characters)",
                            version, CMN_EMBEDDED_VERSION_MAX);
    } else if (version) {
        return cli_fail(CLI_EXIT_USAGE, "--binary-version is for add and remove");
    }
    if (!strcmp(verb, "add") && !bundle_dir)
        return cli_fail(CLI_EXIT_USAGE, "add needs --bundle-dir DIR (the embedded bundle's files)");
    if (strcmp(verb, "add") && bundle_dir)
        return cli_fail(CLI_EXIT_USAGE, "--bundle-dir is for add");
    if ((ex = cli_conn_resolve(&c)))
        return ex;
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    if (!strcmp(verb, "add") && (ex = prepare_zip(bundle_dir, &z)))
        goto out;

    if (c.mode == CLI_MODE_SERVERLESS) {
        if ((ex = cli_conn_storage(&c, &st)))
            goto out;
        if (!strcmp(verb, "list")) {
            rc = cmn_embedded_list(st, t.app, t.platform, &reg, NULL, &eb);
        } else if (!strcmp(verb, "add")) {
            rc = cmn_embedded_add(st, t.app, t.platform, version, z.zip, NULL, 0, z.content_sha256, (int64_t)time(NULL),
                                  &ch, &eb);
        } else {
            rc = cmn_embedded_remove(st, t.app, t.platform, version, &ch, &eb);
        }
        if (rc) {
            ex = cli_fail_rc(rc, &eb, "cannot %s the embedded bundle%s of %s/%s",
                             !strcmp(verb, "list")  ? "list"
                             : !strcmp(verb, "add") ? "register"
                                                    : "remove",
                             !strcmp(verb, "list") ? "s" : "", t.app, t.platform);
            goto out;
        }
    } else {
        struct cli_api api = {c.endpoint, c.token};
        char path[600], ea[200], ep[200], ev[200];
        json_t *ans = NULL;
        if (cli_api_escape(t.app, ea, sizeof(ea)) || cli_api_escape(t.platform, ep, sizeof(ep)) ||
            cli_api_escape(version ? version : "", ev, sizeof(ev))) {
            ex = cli_fail(CLI_EXIT_USAGE, "bad app, platform or version");
            goto out;
        }
        snprintf(path, sizeof(path), "/v1/apps/%s/platforms/%s/embedded", ea, ep);
        if (!strcmp(verb, "list")) {
            ex = cli_api_call(&api, "GET", path, NULL, &ans);
            if (!ex)
                ex = list_from_json(ans, &t, &reg);
        } else if (!strcmp(verb, "add")) {
            json_t *meta = json_pack("{s:s,s:s,s:s,s:I}", "binary_version", version, "content_sha256", z.content_sha256,
                                     "sha256", z.zip_sha256, "size", (json_int_t)z.size);
            ex = cli_api_upload_to(&api, path, "the embedded bundle", meta, z.zip, &ans);
            json_decref(meta);
            if (!ex)
                ex = change_from_json(ans, &ch);
        } else {
            size_t n = strlen(path);
            snprintf(path + n, sizeof(path) - n, "/%s", ev);
            ex = cli_api_call(&api, "DELETE", path, NULL, &ans);
            if (!ex)
                ex = change_from_json(ans, &ch);
        }
        json_decref(ans);
        if (ex)
            goto out;
    }
    if (!strcmp(verb, "list"))
        print_list(&t, &reg);
    else
        print_change(verb, &t, &ch);
    if (!strcmp(verb, "add"))
        cli_note("embedded bundle: %zu files, content sha256 %s", z.files, z.content_sha256);
    ex = 0;
out:
    if (z.work) {
        cli_rmtree(z.work);
        free(z.work);
    }
    cmn_embedded_release(&reg);
    cmn_storage_free(st);
    return ex;
}
