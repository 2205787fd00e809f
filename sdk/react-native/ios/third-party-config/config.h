/*
 * config.h - libzip 1.7.3's configuration (lib/zipint.h includes "config.h")
 * for HotPatch.podspec; written for HotPatch, as libzip's CMake step would
 * (CocoaPods does not run it). Only what lib/ reads, and only facilities iOS
 * and Linux (glibc 2.36, the host that compiles this set in
 * tests/integration/rn/podspec.sh) both have. No encryption backend, no
 * bzip2/lzma/zstd methods and no file cloning (clonefile/FICLONERANGE):
 * HotPatch only reads deflated or stored bundle zips, as on Android.
 */
#ifndef HAD_CONFIG_H
#define HAD_CONFIG_H
#ifndef _HAD_ZIPCONF_H
#include "zipconf.h"
#endif

#define HAVE_ARC4RANDOM
#define HAVE_FILENO
#define HAVE_FSEEKO
#define HAVE_FTELLO
#define HAVE_LOCALTIME_R
#define HAVE_SNPRINTF
#define HAVE_STRCASECMP
#define HAVE_STRDUP
#define HAVE_STRTOLL
#define HAVE_STRTOULL
#define HAVE_STDBOOL_H
#define HAVE_STRINGS_H
#define HAVE_UNISTD_H
#define SIZEOF_OFF_T 8
#define SIZEOF_SIZE_T __SIZEOF_SIZE_T__
#define PACKAGE "hotpatch"
#define VERSION "1.7.3"

#endif
