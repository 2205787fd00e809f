/*
 * build_test.c - running the bundler and reporting its failure: cli_run
 * passes the exit status through and picks the child's own error line
 * (ANSI colours stripped, one line) for the one-line error; a missing
 * program is exit 127 with a clear line. Includes build.c to reach the
 * static helper.
 */
#include "../../../cli/build.c"

#include "../../lib/test.h"

int main(void)
{
    char tail[512], out[128];
    int status = -1;

    cli_out.quiet = 1;
    {
        char *argv[] = {"sh", "-c", "echo building; echo 'error Error: bad token (2:10)' >&2; echo done; exit 3", NULL};
        is_int(cli_run(NULL, argv, &status, tail, sizeof(tail)), 0, "run a failing child");
        is_int(status, 3, "its exit status");
        is_str(tail, "error Error: bad token (2:10)", "the error line, not the last line");
    }
    {
        char *argv[] = {"sh", "-c", "printf '\\033[31mSyntaxError: x\\033[0m\\n'; exit 1", NULL};
        cli_run(NULL, argv, &status, tail, sizeof(tail));
        is_str(tail, "SyntaxError: x", "ANSI colour codes stripped");
    }
    {
        char *argv[] = {"sh", "-c", "echo one; echo two", NULL};
        cli_run(NULL, argv, &status, tail, sizeof(tail));
        is_int(status, 0, "success status 0");
        is_str(tail, "two", "no error line: the last line");
    }
    {
        char *argv[] = {
            "sh", "-c",
            "i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done; echo 'fatal error here'; exit 9", NULL};
        cli_run(NULL, argv, &status, tail, sizeof(tail));
        is_int(status, 9, "status after a lot of output");
        is_str(tail, "fatal error here", "error line found after 40 KB of output");
    }
    {
        char *argv[] = {"hotpatch-no-such-program", NULL};
        cli_run(NULL, argv, &status, tail, sizeof(tail));
        is_int(status, 127, "missing program: 127");
        ok(strstr(tail, "cannot run 'hotpatch-no-such-program'") != NULL, "missing program named: %s", tail);
    }
    {
        char *argv[] = {"pwd", NULL};
        cli_run("/nonexistent-dir-hp", argv, &status, tail, sizeof(tail));
        is_int(status, 126, "bad cwd: 126");
    }
    pick_error_line("a\n\n   \n", out, sizeof(out));
    is_str(out, "a", "blank lines ignored");
    pick_error_line("", out, sizeof(out));
    is_str(out, "", "empty output: empty line");
    pick_error_line("x\x01y\n", out, sizeof(out));
    is_str(out, "x y", "control characters become spaces");
    return done_testing();
}
