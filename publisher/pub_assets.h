/*
 * pub_assets.h - the dashboard's static files, compiled into the publisher
 * (generated from publisher/dashboard/ by gen_assets.sh at build time).
 */
#ifndef PUB_ASSETS_H
#define PUB_ASSETS_H

#include <stddef.h>

struct pub_asset {
    const char *name;  /* file name, e.g. "app.js" (no directories) */
    const char *ctype; /* Content-Type */
    const unsigned char *data;
    size_t len;
};

extern const struct pub_asset pub_assets[];
extern const size_t pub_n_assets;

#endif
