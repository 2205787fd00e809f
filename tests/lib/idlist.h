/*
 * idlist.h - loads tests/vectors/identifiers.txt, the one list of names and
 * verdicts that every part's ident_test.c feeds to its own entry point, so
 * that all parts are held to the same identifier rule (common/ident.h).
 */
#ifndef TESTS_LIB_IDLIST_H
#define TESTS_LIB_IDLIST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#define IDLIST_MAX 128

struct idname {
    char name[160]; /* raw bytes, NUL-terminated after len */
    size_t len;
    int valid;       /* the verdict the list expects */
    int has_nul;     /* an embedded NUL: only entry points that take a length (JSON, URLs) can carry it */
    char shown[400]; /* printable form for messages */
};

static inline int idlist_hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Fills list[] and returns the count; 0 (and a failed check) when the file cannot be read. */
static inline size_t idlist_load(struct idname *list, size_t max)
{
    char path[1024], line[512];
    size_t n = 0;
    snprintf(path, sizeof(path), "%s/tests/vectors/identifiers.txt", test_srcdir());
    FILE *f = fopen(path, "r");
    if (!test_ok(f != NULL, __FILE__, __LINE__, "read %s", path))
        return 0;
    while (n < max && fgets(line, sizeof(line), f)) {
        size_t l = strlen(line);
        if (l && line[l - 1] == '\n')
            line[--l] = '\0';
        if (!l || line[0] == '#')
            continue;
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        struct idname *e = &list[n];
        memset(e, 0, sizeof(*e));
        e->valid = strncmp(line, "ok", 2) == 0;
        snprintf(e->shown, sizeof(e->shown), "'%s'", tab + 1);
        for (const char *p = tab + 1; *p && e->len + 1 < sizeof(e->name); p++) {
            if (p[0] == '\\' && p[1] == 'x' && idlist_hexval(p[2]) >= 0 && idlist_hexval(p[3]) >= 0) {
                e->name[e->len++] = (char)(idlist_hexval(p[2]) * 16 + idlist_hexval(p[3]));
                p += 3;
            } else if (p[0] == '\\' && p[1] == '\\') {
                e->name[e->len++] = '\\';
                p++;
            } else {
                e->name[e->len++] = *p;
            }
        }
        e->has_nul = memchr(e->name, '\0', e->len) != NULL;
        n++;
    }
    fclose(f);
    test_ok(n > 40, __FILE__, __LINE__, "%zu names loaded", n);
    return n;
}

#endif
