#include "common/compat.h"

/*
 * sdk_zip_entries - fuzz the SDK's bundle extractor: arbitrary bytes are
 * opened as a zip archive and extracted, with every guard active, into a
 * fresh directory under a private temp dir that is removed afterwards. The
 * input is also checked as a single entry name. Anything written outside the
 * target directory is a bug: the target aborts when the sandbox holds more
 * than out/.
 */

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../sdk/hp_int.h"

static char root[256];

static void cleanup(void)
{
    if (root[0])
        hp__rm_rf(root, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(root, sizeof root, "%s/hp-fuzz-zip.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(root))
            abort();
        atexit(cleanup);
    }
    char sandbox[300], out[320];
    snprintf(sandbox, sizeof sandbox, "%s/s", root);
    snprintf(out, sizeof out, "%s/out", sandbox);
    hp__rm_rf(sandbox, NULL);
    if (mkdir(sandbox, 0700) != 0 || mkdir(out, 0700) != 0)
        abort();

    struct hp_extract_limits lim;
    hp__extract_limits_default(&lim);
    lim.max_total = 4u << 20;
    lim.max_entries = 256;
    (void)hp__extract_mem(data, size, out, &lim, NULL);

    /* Nothing but out/ may exist in the sandbox. */
    DIR *d = opendir(sandbox);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "out"))
            abort();
    if (d)
        closedir(d);

    char name[1100];
    size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
    memcpy(name, data, n);
    name[n] = '\0';
    int is_dir = 0;
    if (hp__zip_name_ok(name, &is_dir) == 0) {
        /* An accepted name never escapes: not absolute, no ".." or "." component. */
        if (name[0] == '/')
            abort();
        for (const char *c = name; *c;) {
            size_t len = strcspn(c, "/");
            if ((len == 2 && c[0] == '.' && c[1] == '.') || (len == 1 && c[0] == '.'))
                abort();
            c += len;
            if (*c == '/')
                c++;
        }
    }
    return 0;
}
