/*
 * zip_test.c - the release zip is deterministic: the same tree gives the
 * same bytes whatever the files' mtimes, modes, creation order or the time
 * zone; entries are sorted, stamped 1980-01-01 and mode 0644 with no extra
 * fields; symlinks and special files are refused; the archive reads back.
 */
#include "common/compat.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <zip.h>

#include "../../../cli/cli.h"
#include "../../lib/test.h"

static void put(const char *dir, const char *rel, const char *content, mode_t mode, time_t mtime)
{
    char p[1024], d[1024];
    char *slash;
    FILE *f;
    struct timeval tv[2];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    snprintf(d, sizeof(d), "%s", p);
    slash = strrchr(d, '/');
    *slash = '\0';
    cli_mkdir_p(d, 0755);
    f = fopen(p, "w");
    fputs(content, f);
    fclose(f);
    chmod(p, mode);
    tv[0].tv_sec = tv[1].tv_sec = mtime;
    tv[0].tv_usec = tv[1].tv_usec = 0;
    utimes(p, tv);
}

static int zip_hash(const char *dir, const char *zip, char hex[CMN_SHA256_HEX])
{
    struct cli_zip_list l;
    struct cmn_errbuf eb = {{0}};
    uint8_t d[CMN_SHA256_BYTES];
    enum cmn_err rc;
    memset(&l, 0, sizeof(l));
    rc = cli_zip_collect(dir, &l, &eb);
    if (!rc)
        rc = cli_zip_write(&l, zip, &eb);
    cli_zip_list_release(&l);
    if (!rc)
        rc = cmn_sha256_file(zip, d, NULL, &eb);
    if (rc) {
        diag("zip of '%s': %s", dir, cmn_errmsg(&eb, rc));
        return -1;
    }
    cmn_hex_encode(d, sizeof(d), hex);
    return 0;
}

int main(void)
{
    char a[512], b[512], za[600], zb[600], zc[600], ha[CMN_SHA256_HEX], hb[CMN_SHA256_HEX], hc[CMN_SHA256_HEX];
    struct cli_zip_list l;
    struct cmn_errbuf eb = {{0}};
    zip_t *z;
    int zerr = 0;

    ok(cmn_crypto_init() == CMN_OK, "crypto init");
    snprintf(a, sizeof(a), "%s/a", test_tmpdir());
    snprintf(b, sizeof(b), "%s/b", test_tmpdir());
    snprintf(za, sizeof(za), "%s/a.zip", test_tmpdir());
    snprintf(zb, sizeof(zb), "%s/b.zip", test_tmpdir());
    snprintf(zc, sizeof(zc), "%s/c.zip", test_tmpdir());
    /* same content, different order of creation, modes and mtimes */
    put(a, "index.android.bundle", "var x = 1;\n", 0644, 1700000000);
    put(a, "drawable-mdpi/logo.png", "PNG", 0600, 1600000000);
    put(a, "raw/keep.xml", "<x/>", 0755, 1500000000);
    put(a, "Z-upper.txt", "upper sorts first", 0644, 1700000000);
    put(b, "raw/keep.xml", "<x/>", 0644, 1000000000);
    put(b, "Z-upper.txt", "upper sorts first", 0666, 1000000001);
    put(b, "drawable-mdpi/logo.png", "PNG", 0644, 1000000002);
    put(b, "index.android.bundle", "var x = 1;\n", 0640, 1000000003);

    ok(zip_hash(a, za, ha) == 0, "zip tree a");
    ok(zip_hash(b, zb, hb) == 0, "zip tree b");
    is_str(hb, ha, "same content, different mtimes/modes/order: same SHA-256");
    setenv("TZ", "Pacific/Kiritimati", 1);
    tzset();
    ok(zip_hash(a, zc, hc) == 0, "zip again in another time zone");
    is_str(hc, ha, "time zone does not change the bytes");
    put(b, "index.android.bundle", "var x = 2;\n", 0644, 1000000003);
    ok(zip_hash(b, zb, hb) == 0, "zip changed tree");
    ok(strcmp(ha, hb) != 0, "one changed byte changes the hash");

    /* read back */
    z = zip_open(za, ZIP_RDONLY, &zerr);
    ok(z != NULL, "archive opens");
    if (z) {
        zip_int64_t i, n = zip_get_num_entries(z, 0);
        const char *want[] = {"Z-upper.txt", "drawable-mdpi/logo.png", "index.android.bundle", "raw/keep.xml"};
        int sorted = n == 4, stamped = 1, modes = 1, noextra = 1;
        for (i = 0; i < n && i < 4; i++) {
            zip_stat_t st;
            zip_uint8_t opsys;
            zip_uint32_t attr;
            if (strcmp(zip_get_name(z, (zip_uint64_t)i, 0), want[i]) != 0)
                sorted = 0;
            zip_stat_index(z, (zip_uint64_t)i, 0, &st);
            {
                struct tm tm;
                localtime_r(&st.mtime, &tm);
                if (tm.tm_year != 80 || tm.tm_mon != 0 || tm.tm_mday != 1 || tm.tm_hour || tm.tm_min)
                    stamped = 0;
            }
            zip_file_get_external_attributes(z, (zip_uint64_t)i, 0, &opsys, &attr);
            if (opsys != ZIP_OPSYS_UNIX || (attr >> 16) != 0100644)
                modes = 0;
            if (zip_file_extra_fields_count(z, (zip_uint64_t)i, ZIP_FL_CENTRAL | ZIP_FL_LOCAL) != 0)
                noextra = 0;
        }
        ok(sorted, "4 entries in byte-wise sorted order, no directory entries");
        ok(stamped, "every entry dated 1980-01-01 00:00");
        ok(modes, "every entry unix mode 0100644");
        ok(noextra, "no extra fields");
        {
            char buf[64] = "";
            zip_file_t *f = zip_fopen(z, "index.android.bundle", 0);
            zip_int64_t r = f ? zip_fread(f, buf, sizeof(buf) - 1) : -1;
            if (f)
                zip_fclose(f);
            ok(r > 0 && strcmp(buf, "var x = 1;\n") == 0, "content reads back");
        }
        zip_close(z);
    }

    /* refusals */
    {
        char c[512], lnk[600];
        snprintf(c, sizeof(c), "%s/c", test_tmpdir());
        put(c, "index.android.bundle", "x", 0644, 1);
        snprintf(lnk, sizeof(lnk), "%s/evil", c);
        ok(symlink("/etc/passwd", lnk) == 0, "make a symlink");
        memset(&l, 0, sizeof(l));
        is_int(cli_zip_collect(c, &l, &eb), CMN_E_UNSAFE, "symlink refused");
        ok(strstr(eb.msg, "symlink") != NULL, "message says symlink: %s", eb.msg);
        unlink(lnk);
        snprintf(lnk, sizeof(lnk), "%s/fifo", c);
        ok(mkfifo(lnk, 0644) == 0, "make a fifo");
        memset(&eb, 0, sizeof(eb));
        is_int(cli_zip_collect(c, &l, &eb), CMN_E_UNSAFE, "fifo refused");
        unlink(lnk);
        snprintf(lnk, sizeof(lnk), "%s/empty", test_tmpdir());
        mkdir(lnk, 0755);
        memset(&eb, 0, sizeof(eb));
        is_int(cli_zip_collect(lnk, &l, &eb), CMN_E_INVAL, "empty dir refused");
        snprintf(lnk, sizeof(lnk), "%s/missing", test_tmpdir());
        memset(&eb, 0, sizeof(eb));
        is_int(cli_zip_collect(lnk, &l, &eb), CMN_E_NOTFOUND, "missing dir: not found");
        memset(&eb, 0, sizeof(eb));
        is_int(cli_zip_collect(za, &l, &eb), CMN_E_INVAL, "a file is not a bundle dir");
        is_int(l.n, 0, "nothing listed after a refusal");
    }
    /* a source file that vanishes between listing and zipping fails cleanly */
    {
        char d[512], vict[600], zd[600];
        struct stat st;
        snprintf(d, sizeof(d), "%s/d", test_tmpdir());
        snprintf(zd, sizeof(zd), "%s/d.zip", test_tmpdir());
        put(d, "index.android.bundle", "x", 0644, 1);
        put(d, "gone.txt", "y", 0644, 1);
        memset(&l, 0, sizeof(l));
        memset(&eb, 0, sizeof(eb));
        ok(cli_zip_collect(d, &l, &eb) == CMN_OK, "list");
        snprintf(vict, sizeof(vict), "%s/gone.txt", d);
        unlink(vict);
        ok(cli_zip_write(&l, zd, &eb) != CMN_OK, "zip fails when a file vanished: %s", eb.msg);
        ok(stat(zd, &st) != 0, "no partial zip left behind");
        cli_zip_list_release(&l);
    }
    return done_testing();
}
