/*
 * compat.h - the first include of every .c file in HotPatch.
 *
 * Sets the feature-test macros once, pulls in the C library headers that the
 * whole tree uses, and ends by including banned.h so that unsafe string
 * functions fail to compile anywhere in the project (git's banned.h).
 */
#ifndef COMMON_COMPAT_H
#define COMMON_COMPAT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#if defined(__GNUC__)
#define CMN_WUR __attribute__((warn_unused_result))
#define CMN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CMN_UNUSED __attribute__((unused))
#else
#define CMN_WUR
#define CMN_PRINTF(f, a)
#define CMN_UNUSED
#endif

#define CMN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Free and NULL the pointer (curl's curlx_safefree). */
#define CMN_SAFEFREE(p)                                                                                                \
    do {                                                                                                               \
        free(p);                                                                                                       \
        (p) = NULL;                                                                                                    \
    } while (0)

#include "common/banned.h"

#endif
