/*
 * sdk_server.h - start and stop the test-only static server
 * (tests/integration/sdk/httpd.py) on a free loopback port. The server binds
 * port 0 and writes the port it got into <www>/.ready, so there is no race on
 * a guessed port. Header-only: each test is one .c file.
 */
#ifndef TESTS_SDK_SERVER_H
#define TESTS_SDK_SERVER_H

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/test.h"

struct srv {
    pid_t pid;
    int port;
    char base[64]; /* http://127.0.0.1:PORT */
};

static CMN_UNUSED int srv_start(struct srv *s, const char *www)
{
    char script[4300], ready[4300];
    snprintf(script, sizeof script, "%s/tests/integration/sdk/httpd.py", test_srcdir());
    snprintf(ready, sizeof ready, "%s/.ready", www);
    unlink(ready);
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execlp("python3", "python3", script, www, "0", (char *)NULL);
        _exit(127);
    }
    /* Up to 30 s: python's start-up takes seconds on a loaded CI machine. */
    for (int i = 0; i < 1200; i++) {
        FILE *f = fopen(ready, "r");
        if (f) {
            int port = 0;
            int got = fscanf(f, "%d", &port);
            fclose(f);
            if (got == 1 && port > 0) {
                s->port = port;
                snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", port);
                return 0;
            }
        }
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            return -1;
        }
        usleep(25000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return -1;
}

static CMN_UNUSED void srv_stop(struct srv *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

#endif
