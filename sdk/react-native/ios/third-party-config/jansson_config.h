/*
 * jansson_config.h - jansson 2.14's configuration for HotPatch.podspec,
 * written for HotPatch (jansson's configure/CMake step writes this header;
 * CocoaPods runs neither). The values hold for every target the pod builds
 * for (Apple clang, C11, LP64): the same choices as the header jansson's
 * CMake writes for the Android build (long long integers, localeconv,
 * atomic reference counts, the parser's 2048 depth cap).
 * tests/integration/rn/podspec.sh compiles the pod's C files against it.
 */
#ifndef JANSSON_CONFIG_H
#define JANSSON_CONFIG_H

#define JSON_INLINE inline
/* json_int_t is long long, printed with "lld" (jansson.h picks both from this) */
#define JSON_INTEGER_IS_LONG_LONG 1
#define JSON_HAVE_LOCALECONV 1
#define JSON_HAVE_ATOMIC_BUILTINS 1
#define JSON_HAVE_SYNC_BUILTINS 1
#define JSON_PARSER_MAX_DEPTH 2048

#endif
