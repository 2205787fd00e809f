/*
 * build.c - building the bundle: `npx react-native bundle` in the project
 * dir, and optional Hermes bytecode with the project's hermesc.
 *
 * The child's stdout and stderr are read through one pipe and forwarded to
 * our stderr (stdout stays clean for --json), unless --json or --quiet; the
 * last lines are kept so that a failure can be reported in one line that
 * names the bundler's own error.
 */
#include "common/compat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#define TAIL_KEEP 8192

/* The last line of `tail` that looks like an error, else its last non-empty line. */
static void pick_error_line(const char *tail, char *out, size_t cap)
{
    const char *p = tail, *best = NULL, *last = NULL;
    size_t bestn = 0, lastn = 0;
    out[0] = '\0';
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        const char *s = p;
        size_t sn = n;
        while (sn && (*s == ' ' || *s == '\t')) {
            s++;
            sn--;
        }
        if (sn) {
            last = s;
            lastn = sn;
            if (!best && (memmem(s, sn, "rror", 4) || memmem(s, sn, "ERR", 3))) {
                best = s;
                bestn = sn;
            }
        }
        p += n + (nl ? 1 : 0);
    }
    if (!best) {
        best = last;
        bestn = lastn;
    }
    if (best) {
        size_t i, j = 0;
        if (bestn > 300)
            bestn = 300;
        for (i = 0; i < bestn && j + 1 < cap; i++) {
            unsigned char c = (unsigned char)best[i];
            if (c == 0x1b) { /* drop ANSI colour sequences */
                while (i < bestn && !((best[i] >= 'A' && best[i] <= 'Z') || (best[i] >= 'a' && best[i] <= 'z')))
                    i++;
                continue;
            }
            out[j++] = c < 0x20 ? ' ' : (char)c;
        }
        out[j] = '\0';
    }
}

int cli_run(const char *cwd, char *const argv[], int *status, char *tail, size_t tailcap)
{
    int pfd[2], st = 0;
    char buf[4096];
    char keep[TAIL_KEEP + 1];
    size_t kept = 0;
    pid_t pid;
    ssize_t r;
    int forward = !cli_out.json && !cli_out.quiet;
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return cli_fail(CLI_EXIT_FAIL, "cannot create a pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return cli_fail(CLI_EXIT_FAIL, "cannot fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        if (cwd && chdir(cwd) != 0) {
            dprintf(2, "error: cannot enter '%s': %s\n", cwd, strerror(errno));
            _exit(126);
        }
        execvp(argv[0], argv);
        dprintf(2, "error: cannot run '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    for (;;) {
        r = read(pfd[0], buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (forward)
            fwrite(buf, 1, (size_t)r, stderr);
        /* sizeof(buf) < TAIL_KEEP: a read always fits after dropping the oldest bytes */
        if (kept + (size_t)r > TAIL_KEEP) {
            size_t drop = kept + (size_t)r - TAIL_KEEP;
            memmove(keep, keep + drop, kept - drop);
            kept -= drop;
        }
        memcpy(keep + kept, buf, (size_t)r);
        kept += (size_t)r;
    }
    close(pfd[0]);
    keep[kept] = '\0';
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st))
        *status = WEXITSTATUS(st);
    else
        *status = 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    if (tail && tailcap) {
        /* NUL bytes in the output would cut the text short: fine for a hint. */
        pick_error_line(keep, tail, tailcap);
    }
    return 0;
}

int cli_build_bundle(const struct cli_build_opts *o)
{
    char bundle_out[PATH_MAX], tail[512];
    const char *dir = o->project_dir ? o->project_dir : ".";
    const char *entry = o->entry_file ? o->entry_file : "index.js";
    char entry_path[PATH_MAX];
    int status = 0, rc;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cli_fail(CLI_EXIT_USAGE, "project dir '%s' is not a directory: pass --project-dir or --bundle-dir", dir);
    snprintf(entry_path, sizeof(entry_path), "%s/%s", dir, entry);
    if (entry[0] != '/' && access(entry_path, R_OK) != 0)
        return cli_fail(CLI_EXIT_USAGE, "entry file '%s' not found in '%s': pass --entry-file", entry, dir);
    snprintf(bundle_out, sizeof(bundle_out), "%s/index.%s.bundle", o->out_dir, o->platform);
    {
        char *argv[] = {"npx",      "react-native",  "bundle",           "--platform",  (char *)o->platform,
                        "--dev",    "false",         "--entry-file",     (char *)entry, "--bundle-output",
                        bundle_out, "--assets-dest", (char *)o->out_dir, NULL};
        cli_note("bundling: npx react-native bundle --platform %s --entry-file %s (in '%s')", o->platform, entry, dir);
        rc = cli_run(dir, argv, &status, tail, sizeof(tail));
    }
    if (rc)
        return rc;
    if (status != 0)
        return cli_fail(CLI_EXIT_FAIL,
                        "react-native bundle failed (exit status %d)%s%s: fix the app, or pass "
                        "--bundle-dir with a prebuilt bundle",
                        status, tail[0] ? ": " : "", tail);
    if (access(bundle_out, R_OK) != 0)
        return cli_fail(CLI_EXIT_FAIL, "react-native bundle wrote no '%s'", bundle_out);
    return 0;
}

int cli_build_hermes(const char *project_dir, const char *hermesc, const char *in, const char *out)
{
    char path[PATH_MAX], tail[512];
    int status = 0, rc;
    if (!hermesc) {
        static const char *const cands[] = {
            "node_modules/hermes-compiler/hermesc/linux64-bin/hermesc",
            "node_modules/react-native/sdks/hermesc/linux64-bin/hermesc",
        };
        size_t i;
        for (i = 0; i < CMN_ARRAY_SIZE(cands); i++) {
            snprintf(path, sizeof(path), "%s/%s", project_dir ? project_dir : ".", cands[i]);
            if (access(path, X_OK) == 0)
                break;
        }
        if (i == CMN_ARRAY_SIZE(cands))
            return cli_fail(CLI_EXIT_USAGE,
                            "hermesc not found under '%s/node_modules': install the project's "
                            "dependencies, pass --project-dir, or pass --hermesc PATH",
                            project_dir ? project_dir : ".");
        hermesc = path;
    } else if (access(hermesc, X_OK) != 0) {
        return cli_fail(CLI_EXIT_USAGE, "hermesc '%s' is not executable", hermesc);
    }
    {
        char *argv[] = {(char *)hermesc, "-emit-binary", "-O", "-w", "-out", (char *)out, (char *)in, NULL};
        cli_note("compiling Hermes bytecode with '%s'", hermesc);
        rc = cli_run(NULL, argv, &status, tail, sizeof(tail));
    }
    if (rc)
        return rc;
    if (status != 0)
        return cli_fail(CLI_EXIT_FAIL, "hermesc failed (exit status %d)%s%s", status, tail[0] ? ": " : "", tail);
    return 0;
}
