#include "common/compat.h"

/*
 * common_patch - fuzz the HPPATCH1 container (common/patch.c): arbitrary
 * bytes are applied as a patch to a small fixed base bundle, into a fresh
 * out/ directory inside a private sandbox, with small limits. Whatever the
 * input, nothing may appear in the sandbox besides out/ and the patch file,
 * and a successful apply must produce exactly the content digest it was
 * given.
 */

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/patch.h"

static char root[256];

static void rm_rf(const char *p)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
    if (system(cmd) != 0)
        abort();
}

static void cleanup(void)
{
    if (root[0])
        rm_rf(root);
}

static void put(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n)
        abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char base[300], sandbox[300], out[400], patch[400];
    if (!root[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(root, sizeof root, "%s/hp-fuzz-patch.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(root))
            abort();
        atexit(cleanup);
        /* The base bundle the corpus patches were made against. */
        snprintf(base, sizeof base, "%s/base", root);
        if (mkdir(base, 0755) != 0)
            abort();
        snprintf(out, sizeof out, "%s/raw", base);
        if (mkdir(out, 0755) != 0)
            abort();
        static const char js[] = "var label='hotpatch fixture 1.2.0';function f(x){return x*7+label.length}\n";
        snprintf(out, sizeof out, "%s/index.android.bundle", base);
        put(out, js, sizeof js - 1);
        snprintf(out, sizeof out, "%s/raw/keep.xml", base);
        put(out, "<keep/>\n", 8);
    }
    snprintf(base, sizeof base, "%s/base", root);
    snprintf(sandbox, sizeof sandbox, "%s/s", root);
    snprintf(out, sizeof out, "%s/out", sandbox);
    snprintf(patch, sizeof patch, "%s/p", sandbox);
    rm_rf(sandbox);
    if (mkdir(sandbox, 0700) != 0 || mkdir(out, 0700) != 0)
        abort();
    put(patch, data, size);

    struct cmn_patch_limits lim;
    cmn_patch_limits_default(&lim);
    lim.max_total = 1u << 20;
    lim.max_entries = 64;
    lim.window_log_max = 20;
    struct cmn_patch_stats st = {0};
    /* As if the release key had signed exactly what the entries declare: the
     * second pass's own checks are what is fuzzed past the listing. */
    uint8_t want[32] = {0}, got[32];
    if (cmn_patch_content(patch, &lim, want, NULL) != CMN_OK)
        memset(want, 0, sizeof want);
    enum cmn_err rc = cmn_patch_apply(patch, base, out, want, &lim, &st, NULL);

    DIR *d = opendir(sandbox);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "out") && strcmp(e->d_name, "p"))
            abort();
    if (d)
        closedir(d);
    if (rc == CMN_OK) {
        struct cmn_content c;
        if (cmn_content_scan(out, 1000, &c, NULL) != CMN_OK)
            abort();
        uint64_t sum = 0;
        for (size_t i = 0; i < c.n; i++)
            sum += c.v[i].size;
        if (sum != st.out_bytes || c.n != (size_t)st.copied + st.diffed + st.full)
            abort();
        /* Success means: out/ holds exactly the expected content. */
        if (cmn_content_digest(&c, got) != CMN_OK || memcmp(got, want, sizeof got) != 0)
            abort();
        cmn_content_release(&c);
    }
    return 0;
}
