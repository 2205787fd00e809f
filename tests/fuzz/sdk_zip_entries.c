#include "common/compat.h"

/*
 * sdk_zip_entries - fuzz the SDK's bundle extractor: arbitrary bytes are
 * opened as a zip archive and extracted, with every guard active, into a
 * fresh directory under a private temp dir that is removed afterwards. The
 * input is also checked as a single entry name. Anything written outside the
 * target directory is a bug: the target aborts when the sandbox holds more
 * than out/. The extractor must accept exactly what the publisher's check
 * accepts (cmn_zip_check, then every entry read back, as cmn_content_zip
 * does: common/zipcheck.h) under the same caps: one set of rules.
 */

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../sdk/hp_int.h"
#include "common/zipcheck.h"

static char root[256];

static enum cmn_err null_sink(void *ctx, const void *p, size_t n, struct cmn_errbuf *eb)
{
    (void)ctx;
    (void)p;
    (void)n;
    (void)eb;
    return CMN_OK;
}

/* 1 when the publisher's side (check, then every file read to its declared size) accepts data[0..size). */
static int publisher_accepts(const uint8_t *data, size_t size, const struct hp_extract_limits *lim)
{
    const struct cmn_zip_limits zl = {lim->max_total, lim->max_entries, lim->max_ratio, lim->ratio_floor};
    struct cmn_zip z;
    struct cmn_zip_entry *v = NULL;
    size_t n = 0;
    enum cmn_err rc = cmn_zip_open_mem(&z, data, size, NULL);
    if (rc)
        return 0;
    rc = cmn_zip_check(&z, &zl, &v, &n, NULL);
    for (size_t i = 0; !rc && i < n; i++)
        if (!v[i].is_dir)
            rc = cmn_zip_read(&z, &v[i], null_sink, NULL, NULL);
    cmn_zip_entries_free(v, n);
    cmn_zip_close(&z);
    return rc == CMN_OK;
}

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
    int sdk_ok = hp__extract_mem(data, size, out, &lim, NULL) == CMN_OK;
    if (sdk_ok != publisher_accepts(data, size, &lim))
        abort();

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
