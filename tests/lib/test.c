/*
 * test.c - implementation of the TAP harness in test.h.
 */
#include "common/compat.h"

#include <ftw.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"

static int t_count;
static int t_failed;
static char t_tmp[256];

static void vreport(int pass, const char *file, int line, const char *fmt, va_list ap)
{
    t_count++;
    printf("%sok %d - ", pass ? "" : "not ", t_count);
    vprintf(fmt, ap);
    printf("\n");
    if (!pass) {
        t_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
}

int test_ok(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cond, file, line, fmt, ap);
    va_end(ap);
    return cond;
}

int test_is_int(long long got, long long want, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(got == want, file, line, fmt, ap);
    va_end(ap);
    if (got != want)
        printf("#        got: %lld\n#   expected: %lld\n", got, want);
    return got == want;
}

int test_is_str(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
{
    int pass = (got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0);
    va_list ap;
    va_start(ap, fmt);
    vreport(pass, file, line, fmt, ap);
    va_end(ap);
    if (!pass)
        printf("#        got: '%s'\n#   expected: '%s'\n", got ? got : "(null)", want ? want : "(null)");
    return pass;
}

int test_is_mem(const void *got, const void *want, size_t n, const char *file, int line, const char *fmt, ...)
{
    int pass = got && want && memcmp(got, want, n) == 0;
    va_list ap;
    va_start(ap, fmt);
    vreport(pass, file, line, fmt, ap);
    va_end(ap);
    return pass;
}

void test_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

void test_skip(int n, const char *reason)
{
    for (int i = 0; i < n; i++)
        printf("ok %d # skip %s\n", ++t_count, reason);
}

int test_failures(void)
{
    return t_failed;
}

const char *test_srcdir(void)
{
    const char *s = getenv("HP_SRC_DIR");
    return s && *s ? s : ".";
}

const char *test_tmpdir(void)
{
    if (!t_tmp[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(t_tmp, sizeof(t_tmp), "%s/hptest.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(t_tmp)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return t_tmp;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int test_done(void)
{
    printf("1..%d\n", t_count);
    if (t_failed)
        printf("# failed %d of %d checks\n", t_failed, t_count);
    fflush(stdout);
    if (t_tmp[0] && !getenv("HP_KEEP_TMP"))
        nftw(t_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return t_failed ? 1 : (t_count ? 0 : 1);
}

/* Mappings handed out by test_guard_alloc, so test_guard_free can unmap them. */
static struct {
    char *user;
    char *base;
    size_t len;
} guards[256];

void *test_guard_alloc(const void *data, size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = ((n + pg - 1) / pg + 1) * pg;
    char *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    char *guard = base + len - pg;
    if (mprotect(guard, pg, PROT_NONE) != 0) {
        munmap(base, len);
        return NULL;
    }
    char *p = guard - n;
    if (n)
        memcpy(p, data, n);
    for (size_t i = 0; i < CMN_ARRAY_SIZE(guards); i++) {
        if (!guards[i].user) {
            guards[i].user = p;
            guards[i].base = base;
            guards[i].len = len;
            break;
        }
    }
    return p;
}

void test_guard_free(void *p)
{
    for (size_t i = 0; p && i < CMN_ARRAY_SIZE(guards); i++) {
        if (guards[i].user == p) {
            munmap(guards[i].base, guards[i].len);
            guards[i].user = NULL;
            return;
        }
    }
}
