/*
 * cmd_snapshot.c - `hotpatch snapshot`: serverless mode's writer of
 * feed/snapshot, the one object that holds every current channel envelope
 * so a new edge (or a cold Lambda) starts without one GET per manifest
 * (docs/edge.md "Cold start"). Run it from cron, or after a batch of
 * releases; the publisher writes its own. Only envelopes that verify with
 * the trusted keys (default: the manifest key's public half) go in.
 */
#include "common/compat.h"

#include "cli.h"
#include "common/feed.h"

int cli_cmd_snapshot(int argc, char **argv)
{
    struct cli_conn c;
    struct cli_args a;
    struct cmn_storage *st = NULL;
    struct cmn_key keys[CLI_MAX_TRUSTED];
    struct cmn_keyring ring;
    struct cmn_snapshot_stats ss;
    struct cmn_errbuf eb = {{0}};
    const char *trusted = NULL;
    size_t nk = 0;
    int ex;
    const struct cli_opt opts[] = {
        {"trusted-key", "B64[,B64]", &trusted, NULL, "manifest public keys (default: the manifest key's)"},
        CLI_CONN_OPTS(&c),
        {0},
    };
    const struct cli_cmd cmd = {"snapshot",
                                "Serverless: write feed/snapshot, every current channel manifest in one object, "
                                "for edges that start cold.",
                                "hotpatch snapshot --storage URL [--trusted-key B64]", CLI_CONN_ENV, NULL};
    memset(&c, 0, sizeof(c));
    memset(keys, 0, sizeof(keys));
    if ((ex = cli_parse_flags(&cmd, opts, argc, argv, &a)) || a.help)
        return ex;
    if ((ex = cli_conn_resolve(&c)))
        return ex;
    if (c.mode != CLI_MODE_SERVERLESS)
        return cli_fail(CLI_EXIT_USAGE,
                        "'snapshot' is for serverless mode (--storage); the publisher writes its own snapshot");
    if (cmn_crypto_init())
        return cli_fail(CLI_EXIT_FAIL, "cannot initialise libsodium");
    if ((ex = cli_trusted_resolve(trusted, &c, keys, &nk)))
        return ex;
    ring.keys = keys;
    ring.n = nk;
    if ((ex = cli_conn_storage(&c, &st)))
        goto out;
    enum cmn_err rc = cmn_snapshot_write(st, &ring, (int64_t)time(NULL), &ss, &eb);
    if (rc) {
        ex = cli_fail_rc(rc, &eb, "cannot write the snapshot to '%s'", cmn_storage_url(st));
        goto out;
    }
    if (cli_out.json)
        cli_print_json(json_pack("{s:s,s:i,s:i,s:i,s:i,s:I}", "key", CMN_SNAPSHOT_KEY, "manifests", (int)ss.manifests,
                                 "reused", (int)ss.reused, "fetched", (int)ss.fetched, "skipped", (int)ss.skipped,
                                 "bytes", (json_int_t)ss.bytes));
    else
        printf("wrote %s: %u manifests (%u reused, %u fetched, %u skipped), %zu bytes\n", CMN_SNAPSHOT_KEY,
               ss.manifests, ss.reused, ss.fetched, ss.skipped, ss.bytes);
out:
    for (size_t i = 0; i < nk; i++)
        cmn_key_clear(&keys[i]);
    cmn_storage_free(st);
    return ex;
}
