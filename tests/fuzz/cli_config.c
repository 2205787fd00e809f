/*
 * cli_config.c - fuzz target for the CLI config file parser
 * (~/.config/hotpatch/config). Any input must either parse into at most
 * CLI_CONFIG_MAX_ITEMS known settings without control characters, or be
 * refused with CMN_E_PARSE / CMN_E_TOOBIG; a parsed config must survive
 * render -> parse unchanged.
 */
#include "common/compat.h"

#include "../../cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cli_config cfg, back;
    struct cmn_errbuf eb = {{0}};
    struct cmn_buf b;
    enum cmn_err rc;
    size_t i, j;
    memset(&cfg, 0, sizeof(cfg));
    rc = cli_config_parse((const char *)data, size, &cfg, &eb);
    if (rc) {
        if (rc != CMN_E_PARSE && rc != CMN_E_TOOBIG && rc != CMN_E_NOMEM)
            abort();
        if (cfg.n != 0)
            abort();
        return 0;
    }
    if (cfg.n > CLI_CONFIG_MAX_ITEMS)
        abort();
    for (i = 0; i < cfg.n; i++) {
        if (!cli_config_known(cfg.items[i].key))
            abort();
        for (j = 0; cfg.items[i].value[j]; j++)
            if ((unsigned char)cfg.items[i].value[j] < 0x20)
                abort();
    }
    cmn_buf_init(&b, 1u << 20);
    if (cli_config_render(&cfg, &b) == CMN_OK) {
        memset(&back, 0, sizeof(back));
        if (cli_config_parse(b.ptr, b.len, &back, &eb) != CMN_OK || back.n != cfg.n)
            abort();
        for (i = 0; i < cfg.n; i++)
            if (strcmp(cli_config_get(&back, cfg.items[i].key), cfg.items[i].value) != 0)
                abort();
        cli_config_release(&back);
    }
    cmn_buf_release(&b);
    cli_config_release(&cfg);
    return 0;
}
