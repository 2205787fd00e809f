#include "common/compat.h"

/*
 * rn_boot_bench.c - the cold path of HotPatch.getJSBundleFile() on this
 * machine: hp_client_new + options + hp_open + hp_boot_begin (which writes and
 * fsyncs the launch counter of a freshly installed, unconfirmed release), as
 * the Android/iOS boot path runs it before the bundle loads; beside a plain
 * open + read of a small file (the reference). Each launch starts from the same
 * on-disk state (restored, untimed), so every timed launch takes the fsync path.
 * Prints median and p99 over N launches (default 1000) of each, and the ratio.
 *
 * usage: rn_boot_bench WORKDIR [N]
 */

#include <time.h>

#include "../unit/sdk/sdk_fixture.h"
#include "hotpatch.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static struct fx_keys K;
static char DIR_[4200], WWW[4200], BASE[4300];

static hp_client *open_dev(void)
{
    hp_client *c = NULL;
    if (hp_client_new(&c) || hp_setopt_str(c, HP_OPT_DATA_DIR, DIR_) || hp_setopt_str(c, HP_OPT_APP, "demo") ||
        hp_setopt_str(c, HP_OPT_PLATFORM, "android") || hp_setopt_str(c, HP_OPT_CHANNEL, "production") ||
        hp_setopt_str(c, HP_OPT_BINARY_VERSION, "1.2.0") || hp_setopt_str(c, HP_OPT_DEVICE_ID, "bench") ||
        hp_setopt_str(c, HP_OPT_MANIFEST_BASE_URL, BASE) || hp_setopt_str(c, HP_OPT_MANIFEST_KEY, K.mkey_b64) ||
        hp_setopt_str(c, HP_OPT_RELEASE_KEY, K.rkey_b64) || hp_setopt_int(c, HP_OPT_MAX_FAILED_LAUNCHES, 100) ||
        hp_open(c)) {
        fprintf(stderr, "open: %s\n", c ? hp_errmsg(c) : "no handle");
        exit(1);
    }
    return c;
}

static void report(const char *name, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    printf("%-34s median %8.1f us   p99 %8.1f us\n", name, v[n / 2], v[(n * 99) / 100]);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int n = argc > 2 ? atoi(argv[2]) : 1000;
    snprintf(DIR_, sizeof DIR_, "%s/device", argv[1]);
    snprintf(WWW, sizeof WWW, "%s/www", argv[1]);
    snprintf(BASE, sizeof BASE, "file://%s", WWW);
    if (fx_keys_make(&K) != 0)
        return 1;
    /* One installed release of a realistic bundle size (~900 KB, like the fixture app's). */
    char zip[4300], p[4400];
    snprintf(zip, sizeof zip, "%s/r1.zip", argv[1]);
    size_t bytes = 900000;
    char *body = malloc(bytes);
    cmn_random(body, bytes);
    const char *names[] = {"index.android.bundle"};
    const char *bodies[] = {body};
    struct fx_rel rel = {0};
    if (fx_zip(zip, names, bodies, &bytes, 1) || fx_sign_file(&rel, &K.rkey, zip))
        return 1;
    free(body);
    rel.id = "r1";
    rel.version = "1.0.0";
    char url[200];
    snprintf(url, sizeof url, "bundles/%s.zip", rel.sha);
    rel.url = url;
    size_t zn;
    char *z = fx_read(zip, &zn);
    snprintf(p, sizeof p, "%s/%s", WWW, url);
    fx_write(p, z, zn);
    free(z);
    struct cmn_buf m;
    cmn_buf_init(&m, CMN_MANIFEST_MAX_BYTES);
    snprintf(p, sizeof p, "%s/manifests/demo/android/production.json", WWW);
    if (fx_manifest(&K.mkey, "demo", "android", "production", 1, (int64_t)time(NULL) + 86400, &rel, 1, &m) ||
        fx_write(p, m.ptr, m.len))
        return 1;
    cmn_buf_release(&m);
    hp_client *c = open_dev();
    int upd = 0;
    if (hp_update(c, NULL, NULL, &upd) || !upd) {
        fprintf(stderr, "install: %s\n", hp_errmsg(c));
        return 1;
    }
    hp_client_free(c);
    /* The state right after an install: unconfirmed, counter 0. */
    char st[4400], bak[4400];
    snprintf(st, sizeof st, "%s/state.json", DIR_);
    snprintf(bak, sizeof bak, "%s/state.json.bak", DIR_);
    size_t sn, bn;
    char *s0 = fx_read(st, &sn), *b0 = fx_read(bak, &bn);

    double *t = calloc((size_t)n, sizeof *t), *r = calloc((size_t)n, sizeof *r);
    char small[8192];
    for (int i = 0; i < n; i++) {
        fx_write(st, s0, sn); /* untimed: back to "installed, not yet launched" */
        fx_write(bak, b0, bn);
        double a = now_us();
        c = open_dev();
        int rb = 0;
        if (hp_boot_begin(c, &rb) || rb || !hp_bundle_path(c)) {
            fprintf(stderr, "boot: %s\n", hp_errmsg(c));
            return 1;
        }
        t[i] = now_us() - a;
        if (hp_launch_count(c) != 1) {
            fprintf(stderr, "boot did not count the launch\n");
            return 1;
        }
        hp_client_free(c);
        a = now_us();
        int fd = open(st, O_RDONLY | O_CLOEXEC);
        ssize_t got = fd >= 0 ? read(fd, small, sizeof small) : -1;
        if (fd >= 0)
            close(fd);
        r[i] = now_us() - a;
        if (got <= 0)
            return 1;
    }
    printf("launches: %d; state.json %zu bytes; installed bundle %zu bytes\n", n, sn, bytes);
    double tm, rm;
    report("open+boot_begin (fsync)", t, n);
    tm = t[n / 2];
    report("reference: open+read state.json", r, n);
    rm = r[n / 2];
    printf("ratio (median): %.0fx the plain read\n", rm > 0 ? tm / rm : 0.0);
    return 0;
}
