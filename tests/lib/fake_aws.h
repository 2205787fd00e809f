/*
 * fake_aws.h - start and stop tests/lib/fake_aws_metadata.py (a FAKE of the
 * AWS container / instance credential endpoints, which exist only inside AWS)
 * from a C test. Header-only; include after tests/lib/test.h.
 */
#ifndef TESTS_LIB_FAKE_AWS_H
#define TESTS_LIB_FAKE_AWS_H

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Start the fake handing out these credentials (exp: Expiration text, or NULL
 * for an hour ahead). It writes its port to `portfile` and one line per
 * request to `portfile`.log. Returns the port, or -1; *pid receives the child.
 */
static CMN_UNUSED int fake_aws_start(const char *portfile, const char *access, const char *secret, const char *exp,
                                     pid_t *pid)
{
    char script[700], logfile[700];
    snprintf(script, sizeof(script), "%s/tests/lib/fake_aws_metadata.py", test_srcdir());
    snprintf(logfile, sizeof(logfile), "%s.log", portfile);
    unlink(portfile);
    unlink(logfile);
    *pid = fork();
    if (*pid == 0) {
        execlp("python3", "python3", script, portfile, access, secret, exp, (char *)NULL);
        _exit(127);
    }
    /* up to 60 s: python3 starts slowly on a loaded machine; a healthy start returns at once */
    for (int i = 0; *pid > 0 && i < 1200; i++) {
        FILE *f = fopen(portfile, "r");
        int port = 0;
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port > 0)
            return port;
        usleep(50000);
    }
    return -1;
}

static CMN_UNUSED void fake_aws_stop(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
        *pid = -1;
    }
}

#endif
