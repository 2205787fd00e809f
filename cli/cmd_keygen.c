/*
 * cmd_keygen.c - `hotpatch keygen`: a new Ed25519 key pair.
 *
 * The secret key goes to a 0600 file (never printed); the public key (base64,
 * the form apps embed) and its key id are printed. Without --out the key is
 * written to the config dir as release.key (or manifest.key with --manifest),
 * where later commands find it by default. An existing file is never
 * overwritten without --force.
 */
#include "common/compat.h"

#include <sys/stat.h>

#include "cli.h"

int cli_cmd_keygen(int argc, char **argv)
{
    const char *out = NULL;
    int manifest = 0, force = 0, ex;
    char path[PATH_MAX], pub[CMN_PK_B64];
    struct cmn_errbuf eb = {{0}};
    struct cmn_key key;
    struct cli_args a;
    enum cmn_err rc;
    const struct cli_opt opts[] = {
        {"out", "FILE", &out, NULL, "where to write the secret key (default: config dir, release.key)"},
        {"manifest", NULL, NULL, &manifest, "make a manifest key (default file manifest.key) for serverless mode"},
        {"force", NULL, NULL, &force, "overwrite an existing key file"},
        {0},
    };
    const struct cli_cmd cmd = {
        "keygen", "Create an Ed25519 key pair: the secret key goes to a 0600 file, the public key is printed.",
        "hotpatch keygen [--out FILE] [--manifest] [--force]", NULL,
        "Embed the printed public key in your app (release keys) or give it to devices and edges\n"
        "(manifest keys, HOTPATCH_TRUSTED_KEYS). Keep the secret key file private; point\n"
        "HOTPATCH_SIGNING_KEY / HOTPATCH_MANIFEST_KEY at it in CI.\n"};
    if ((ex = cli_parse_flags(&cmd, opts, argc, argv, &a)) || a.help)
        return ex;
    if (!out) {
        if (!cli_cfg_dir)
            return cli_fail(CLI_EXIT_USAGE, "no config dir (HOME is not set): pass --out FILE");
        if (cli_mkdir_p(cli_cfg_dir, 0700) != 0)
            return cli_fail(CLI_EXIT_FAIL, "cannot create '%s': %s", cli_cfg_dir, strerror(errno));
        snprintf(path, sizeof(path), "%s/%s", cli_cfg_dir, manifest ? "manifest.key" : "release.key");
        out = path;
    }
    rc = cmn_crypto_init();
    if (rc)
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    rc = cmn_key_generate(&key);
    if (rc)
        return cli_fail_rc(rc, NULL, "cannot generate a key");
    rc = cmn_key_save_secret(&key, out, force, &eb);
    if (rc == CMN_E_EXISTS) {
        cmn_key_clear(&key);
        return cli_fail(CLI_EXIT_CONFLICT,
                        "'%s' already exists: pass --force to replace it (devices trusting its "
                        "public key would stop accepting your updates) or --out FILE",
                        out);
    }
    if (rc) {
        cmn_key_clear(&key);
        return cli_fail_rc(rc, &eb, "cannot write '%s'", out);
    }
    cmn_key_public_b64(&key, pub);
    if (cli_out.json) {
        cli_print_json(json_pack("{s:s,s:s,s:s,s:s}", "kind", manifest ? "manifest" : "release", "public_key", pub,
                                 "keyid", key.keyid, "secret_key_file", out));
    } else {
        printf("secret key:  %s (mode 0600, keep it private)\n", out);
        printf("public key:  %s\n", pub);
        printf("key id:      %s\n", key.keyid);
        if (manifest)
            printf("give the public key to devices and edges (HOTPATCH_TRUSTED_KEYS) and keep the secret for "
                   "serverless releases (HOTPATCH_MANIFEST_KEY)\n");
        else
            printf("embed the public key in your app as a trusted release key\n");
    }
    cmn_key_clear(&key);
    return 0;
}
