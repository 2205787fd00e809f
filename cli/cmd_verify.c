/*
 * cmd_verify.c - `hotpatch verify bundle.zip --sig S --pubkey K`: check a
 * bundle the way a device does before extracting it: SHA-256 of the file
 * (against --sha256 when given) and the Ed25519 bundle signature over that
 * digest by the given release public key. Exit 5 when anything fails.
 *
 * --sig and --pubkey take the base64 text itself or a file holding it
 * (--pubkey also accepts a secret key file; only its public half is used).
 */
#include "common/compat.h"

#include <sys/stat.h>

#include "cli.h"

/* The value itself, or the first line of the file it names (into buf). */
static const char *text_or_file(const char *v, char *buf, size_t cap)
{
    struct stat sb;
    FILE *f;
    size_t n;
    if (strlen(v) <= 100 && stat(v, &sb) != 0)
        return v;
    f = fopen(v, "r");
    if (!f)
        return v;
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

int cli_cmd_verify(int argc, char **argv)
{
    const char *sig = NULL, *pubkey = NULL, *want = NULL;
    char sigbuf[256], pkbuf[256], hex[CMN_SHA256_HEX];
    uint8_t digest[CMN_SHA256_BYTES];
    struct cmn_errbuf eb = {{0}};
    struct cmn_key key;
    struct cli_args a;
    uint64_t size = 0;
    enum cmn_err rc;
    struct stat sb;
    int ex;
    const struct cli_opt opts[] = {
        {"sig", "B64|FILE", &sig, NULL, "bundle signature (base64, as in the manifest's bundle_sig)"},
        {"pubkey", "B64|FILE", &pubkey, NULL, "release public key (base64, printed by keygen) or a key file"},
        {"sha256", "HEX", &want, NULL, "also require this SHA-256 (the manifest's sha256)"},
        {0},
    };
    const struct cli_cmd cmd = {"verify", "Verify a bundle zip's SHA-256 and Ed25519 signature.",
                                "hotpatch verify BUNDLE.zip --sig SIG --pubkey KEY [--sha256 HEX]", NULL, NULL};
    memset(&key, 0, sizeof(key));
    ex = cli_parse(&cmd, opts, argc, argv, &a);
    if (ex || a.help)
        return ex;
    if (a.npos != 1)
        return cli_fail(CLI_EXIT_USAGE, "usage: %s", cmd.usage);
    if (!sig || !pubkey)
        return cli_fail(CLI_EXIT_USAGE, "missing --sig and/or --pubkey");
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    if (stat(pubkey, &sb) == 0 && S_ISREG(sb.st_mode) && cmn_key_load_secret(pubkey, &key, NULL) == CMN_OK) {
        cmn_wipe(key.sk, sizeof(key.sk));
        key.has_secret = 0;
    } else if (cmn_key_from_public_b64(text_or_file(pubkey, pkbuf, sizeof(pkbuf)), &key, &eb)) {
        return cli_fail(CLI_EXIT_USAGE,
                        "bad --pubkey: expected the 44-character base64 public key printed by "
                        "'hotpatch keygen' (%s)",
                        cmn_errmsg(&eb, CMN_E_PARSE));
    }
    sig = text_or_file(sig, sigbuf, sizeof(sigbuf));
    rc = cmn_sha256_file(a.pos[0], digest, &size, &eb);
    if (rc)
        return cli_fail(rc == CMN_E_NOTFOUND || errno == ENOENT ? CLI_EXIT_NOTFOUND : CLI_EXIT_FAIL,
                        "cannot read '%s': %s", a.pos[0], cmn_errmsg(&eb, rc));
    cmn_hex_encode(digest, sizeof(digest), hex);
    if (want && strcasecmp(want, hex) != 0)
        return cli_fail(CLI_EXIT_VERIFY, "'%s' has SHA-256 %s, expected %s: the file is not the released bundle",
                        a.pos[0], hex, want);
    rc = cmn_bundle_verify(&key, digest, sig);
    if (rc == CMN_E_PARSE)
        return cli_fail(CLI_EXIT_USAGE, "bad --sig: expected base64 of a 64-byte Ed25519 signature");
    if (rc)
        return cli_fail(CLI_EXIT_VERIFY,
                        "signature of '%s' does not verify with key %s: wrong key, or the file "
                        "was modified",
                        a.pos[0], key.keyid);
    if (cli_out.json)
        cli_print_json(
            json_pack("{s:b,s:s,s:I,s:s}", "verified", 1, "sha256", hex, "size", (json_int_t)size, "keyid", key.keyid));
    else
        printf("ok: %s (%llu bytes, sha256 %s) is signed by %s\n", a.pos[0], (unsigned long long)size, hex, key.keyid);
    return 0;
}
