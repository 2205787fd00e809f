/*
 * test.h - a small TAP test harness (after git's t/unit-tests and perl's
 * Test::More). Each check prints "ok N - name" or "not ok N - name" with the
 * location and the values on failure; done_testing() prints the plan and
 * returns the process exit status (non-zero when anything failed), so a test
 * file's main() ends with `return done_testing();`.
 *
 *     ok(rc == CMN_OK, "parse accepts the golden manifest");
 *     is_int(bucket, 4217, "cohort bucket of vector 3");
 *     is_str(got, "1.2.0", "version label");
 *     is_mem(a, b, 32, "digest");
 */
#ifndef TESTS_LIB_TEST_H
#define TESTS_LIB_TEST_H

#include <stddef.h>

int test_ok(int cond, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int test_is_int(long long got, long long want, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int test_is_str(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int test_is_mem(const void *got, const void *want, size_t n, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void test_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Skip `n` checks with a reason (printed as "ok N # skip reason"). */
void test_skip(int n, const char *reason);
int test_done(void);
/* Number of failures so far (lets a test stop early when setup failed). */
int test_failures(void);

/* Directory of the source tree (set by tests/run.sh as HP_SRC_DIR, else "."). */
const char *test_srcdir(void);
/* A fresh private temp directory, removed by done_testing() unless HP_KEEP_TMP is set. */
const char *test_tmpdir(void);

/*
 * Allocate `n` bytes placed right before an inaccessible guard page and copy
 * `data` there, so a parser that reads one byte past the end faults at once
 * (picohttpparser's test.c). Free with test_guard_free().
 */
void *test_guard_alloc(const void *data, size_t n);
void test_guard_free(void *p);

#define ok(cond, ...) test_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) test_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) test_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define is_mem(got, want, n, ...) test_is_mem((got), (want), (n), __FILE__, __LINE__, __VA_ARGS__)
#define diag(...) test_diag(__VA_ARGS__)
#define done_testing() test_done()

#endif
