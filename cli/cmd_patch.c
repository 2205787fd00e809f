/*
 * cmd_patch.c - `hotpatch patch create|apply|digest`: the differential patch
 * container (common/patch.h) on bundle directories, for inspection, for the
 * patch benchmark and for reproducing what a device does:
 *   hotpatch patch create BASE_DIR NEW_DIR OUT.patch [--level N]
 *   hotpatch patch apply OUT.patch BASE_DIR EMPTY_DIR --content-sha256 HEX
 *   hotpatch patch digest DIR          the content digest a release key signs
 */
#include "common/compat.h"

#include "cli.h"
#include "common/patch.h"

static void print_stats(const char *what, const char *dig, const struct cmn_patch_stats *s)
{
    if (cli_out.json)
        cli_print_json(json_pack("{s:s,s:i,s:i,s:i,s:I,s:I,s:s?}", "result", what, "copied", (int)s->copied, "diffed",
                                 (int)s->diffed, "full", (int)s->full, "out_bytes", (json_int_t)s->out_bytes,
                                 "patch_bytes", (json_int_t)s->patch_bytes, "content_sha256", dig));
    else
        printf("%s: %u copied, %u diffed, %u full; %llu bytes of files, patch %llu bytes%s%s\n", what, s->copied,
               s->diffed, s->full, (unsigned long long)s->out_bytes, (unsigned long long)s->patch_bytes,
               dig ? ", content sha256 " : "", dig ? dig : "");
}

int cli_cmd_patch(int argc, char **argv)
{
    const char *level_s = NULL, *want = NULL;
    struct cmn_errbuf eb = {{0}};
    struct cli_args a;
    enum cmn_err rc;
    const struct cli_opt opts[] = {
        {"level", "N", &level_s, NULL, "create: zstd level 1..22 (default 19)"},
        {"content-sha256", "HEX", &want, NULL, "apply: the content digest the result must have (required)"},
        {0},
    };
    const struct cli_cmd cmd = {
        "patch", "Create, apply or inspect differential bundle patches.",
        "hotpatch patch create BASE_DIR NEW_DIR OUT | apply PATCH BASE_DIR OUT_DIR --content-sha256 HEX | "
        "digest DIR",
        NULL, NULL};
    int ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    const char *verb = a.npos ? a.pos[0] : "";
    uint8_t d[CMN_SHA256_BYTES];
    char hex[CMN_SHA256_HEX];
    struct cmn_patch_stats st = {0};
    if (!strcmp(verb, "digest") && a.npos == 2) {
        rc = cmn_content_digest_dir(a.pos[1], d, &eb);
        if (rc)
            return cli_fail(CLI_EXIT_FAIL, "cannot digest '%s': %s", a.pos[1], cmn_errmsg(&eb, rc));
        cmn_hex_encode(d, sizeof d, hex);
        if (cli_out.json)
            cli_print_json(json_pack("{s:s}", "content_sha256", hex));
        else
            printf("%s\n", hex);
        return 0;
    }
    if (!strcmp(verb, "create") && a.npos == 4) {
        int level = level_s ? atoi(level_s) : 19;
        if (level < 1 || level > 22)
            return cli_fail(CLI_EXIT_USAGE, "--level must be 1..22");
        rc = cmn_patch_create(a.pos[1], a.pos[2], a.pos[3], level, &st, &eb);
        if (rc)
            return cli_fail(CLI_EXIT_FAIL, "cannot create patch: %s", cmn_errmsg(&eb, rc));
        print_stats("created", NULL, &st);
        return 0;
    }
    if (!strcmp(verb, "apply") && a.npos == 4) {
        if (!want)
            return cli_fail(CLI_EXIT_USAGE, "apply needs --content-sha256 HEX (the digest the release key signed; "
                                            "'hotpatch patch digest NEW_DIR' prints it)");
        if (strlen(want) != 64 || cmn_hex_decode(want, d, sizeof d) != CMN_OK)
            return cli_fail(CLI_EXIT_USAGE, "--content-sha256 must be 64 hex digits");
        rc = cmn_patch_apply(a.pos[1], a.pos[2], a.pos[3], d, NULL, &st, &eb);
        if (rc)
            return cli_fail(CLI_EXIT_VERIFY, "cannot apply '%s': %s", a.pos[1], cmn_errmsg(&eb, rc));
        cmn_hex_encode(d, sizeof d, hex);
        print_stats("applied", hex, &st);
        return 0;
    }
    return cli_fail(CLI_EXIT_USAGE, "usage: %s", cmd.usage);
}
