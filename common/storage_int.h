/*
 * storage_int.h - private to storage*.c (and their tests): the backend
 * vtable behind struct cmn_storage, and the backend constructors that
 * storage.c dispatches to by URL scheme.
 */
#ifndef COMMON_STORAGE_INT_H
#define COMMON_STORAGE_INT_H

#include "common/storage.h"

struct cmn_storage_ops {
    enum cmn_err (*put)(struct cmn_storage *st, const char *key, const void *data, size_t len,
                        const struct cmn_put_opts *o, char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb);
    enum cmn_err (*put_file)(struct cmn_storage *st, const char *key, const char *path, const struct cmn_put_opts *o,
                             char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb);
    enum cmn_err (*get)(struct cmn_storage *st, const char *key, const struct cmn_get_opts *o, struct cmn_buf *out,
                        char etag_out[CMN_ETAG_MAX], struct cmn_errbuf *eb);
    enum cmn_err (*head)(struct cmn_storage *st, const char *key, char etag_out[CMN_ETAG_MAX], uint64_t *size,
                         struct cmn_errbuf *eb);
    enum cmn_err (*list)(struct cmn_storage *st, const char *prefix, cmn_list_fn fn, void *ctx, struct cmn_errbuf *eb);
    enum cmn_err (*del)(struct cmn_storage *st, const char *key, struct cmn_errbuf *eb);
    /* optional: NULL = the front door gets the items one by one */
    enum cmn_err (*get_many)(struct cmn_storage *st, struct cmn_get_item *items, size_t n, unsigned parallel);
    void (*free)(struct cmn_storage *st);
};

/* Every backend struct starts with this. */
struct cmn_storage {
    const struct cmn_storage_ops *ops;
    char *url;
    int is_local;
    uint64_t requests; /* counted by the front door; list backends add one per extra page */
};

/* url is the whole "file://..." / "s3://..." string; on success *out has ops set (url is set by the caller). */
enum cmn_err cmn_storage_file_open(const char *url, struct cmn_storage **out, struct cmn_errbuf *eb);
enum cmn_err cmn_storage_s3_open(const char *url, const struct cmn_storage_opts *opts, struct cmn_storage **out,
                                 struct cmn_errbuf *eb);

/* Test knob: ListObjectsV2 max-keys for an s3 store (default 1000), to force continuation pages. */
void cmn_storage_s3_set_page_size(struct cmn_storage *st, int max_keys);

/* Prefix validation for list (empty allowed, trailing '/' allowed). */
enum cmn_err cmn_storage_prefix_check(const char *prefix, struct cmn_errbuf *eb);

#endif
