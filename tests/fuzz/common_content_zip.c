#include "common/compat.h"

/*
 * common_content_zip - fuzz the content digest streamed from a bundle zip
 * (cmn_content_digest_zip, common/patchset.c), which the publisher runs on
 * every uploaded release and embedded bundle: arbitrary bytes are written to
 * a file in a private sandbox and digested with small caps. When the zip is
 * accepted, it is also extracted (cmn_bundle_unzip) and the tree digested
 * (cmn_content_digest_dir): the extraction must succeed, write nothing
 * outside out/, and give the same digest and file count. A zip the streaming
 * digest accepts but extraction cannot reproduce is a bug.
 */

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/patch.h"
#include "common/patchset.h"

static char root[256];

static void cleanup(void)
{
    if (root[0])
        cmn_rmtree(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char sandbox[300], out[320], zip[320];
    if (!root[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(root, sizeof root, "%s/hp-fuzz-czip.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(root))
            abort();
        atexit(cleanup);
    }
    snprintf(sandbox, sizeof sandbox, "%s/s", root);
    snprintf(out, sizeof out, "%s/out", sandbox);
    snprintf(zip, sizeof zip, "%s/z", sandbox);
    cmn_rmtree(sandbox);
    if (mkdir(sandbox, 0700) != 0 || mkdir(out, 0700) != 0)
        abort();
    FILE *f = fopen(zip, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();

    const uint64_t max_total = 4u << 20;
    const uint32_t max_entries = 256;
    uint8_t d[CMN_SHA256_BYTES], dd[CMN_SHA256_BYTES];
    size_t nfiles = 0;
    if (cmn_content_digest_zip(zip, max_total, max_entries, d, &nfiles, NULL) != CMN_OK)
        return 0;

    struct cmn_content c;
    if (cmn_bundle_unzip(zip, out, max_total, max_entries, NULL) != CMN_OK ||
        cmn_content_scan(out, max_entries, &c, NULL) != CMN_OK)
        abort();
    if (c.n != nfiles || cmn_content_digest(&c, dd) != CMN_OK || memcmp(d, dd, sizeof d) != 0)
        abort();
    cmn_content_release(&c);

    /* Nothing but out/ and the zip may exist in the sandbox. */
    DIR *dir = opendir(sandbox);
    struct dirent *e;
    while (dir && (e = readdir(dir)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "out") && strcmp(e->d_name, "z"))
            abort();
    if (dir)
        closedir(dir);
    return 0;
}
