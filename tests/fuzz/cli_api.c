/*
 * cli_api.c - fuzz target for the CLI's reading of publisher answers: the
 * error object -> exit code + one-line message translation (cli_api_status)
 * under every status class. The message must stay one line, NUL-terminated
 * inside its buffer, and the exit code one of the documented ones.
 */
#include "common/compat.h"

#include "../../cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {200, 201, 400, 401, 403, 404, 409, 412, 413, 429, 500, 503, 0, 99};
    char msg[96];
    size_t i;
    for (i = 0; i < CMN_ARRAY_SIZE(statuses); i++) {
        int ex;
        memset(msg, 'X', sizeof(msg));
        ex = cli_api_status(statuses[i], (const char *)data, size, msg, sizeof(msg));
        if (ex < 0 || ex > CLI_EXIT_NOTFOUND || ex == CLI_EXIT_USAGE)
            abort();
        if (memchr(msg, '\0', sizeof(msg)) == NULL)
            abort();
        if (strchr(msg, '\n') || strchr(msg, '\r'))
            abort();
        if ((statuses[i] >= 200 && statuses[i] < 300) != (ex == 0))
            abort();
    }
    return 0;
}
