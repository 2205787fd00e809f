/*
 * pyserver.h - start a scripted python3 HTTP server on a free loopback port
 * for a unit test: the script (python source) is written to the test's temp
 * directory and run with one argument, a file it must create (write then
 * rename) holding its port once it listens.
 */
#ifndef TESTS_LIB_PYSERVER_H
#define TESTS_LIB_PYSERVER_H

#include <signal.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

/* Returns the server's pid and fills base ("http://127.0.0.1:PORT"), or -1 when it did not come up in 60 s
 * (python3 can take seconds to start on a loaded machine; a healthy start returns at once). */
static inline pid_t pyserver_start(const char *script, char *base, size_t cap)
{
    char py[600], portfile[600];
    snprintf(py, sizeof(py), "%s/server.py", test_tmpdir());
    snprintf(portfile, sizeof(portfile), "%s/port", test_tmpdir());
    FILE *f = fopen(py, "w");
    if (!f)
        return -1;
    fputs(script, f);
    fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("python3", "python3", py, portfile, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; pid > 0 && i < 2400; i++) {
        int port = 0;
        f = fopen(portfile, "r");
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port > 0) {
            snprintf(base, cap, "http://127.0.0.1:%d", port);
            return pid;
        }
        usleep(25 * 1000);
    }
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    return -1;
}

static inline void pyserver_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

#endif
