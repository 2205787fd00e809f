/*
 * check_int.h - what the check pipeline (req.c) shares with dialect adapters
 * kept in their own files (codepush.c): the parameter roles, the dialect
 * table entry, and the response writers. Private to edge-check; the helpers
 * keep their short names in the code through the macros below, and carry the
 * edge_ prefix as symbols.
 */
#ifndef EDGE_CHECK_INT_H
#define EDGE_CHECK_INT_H

#include "edge.h"

#define sw_begin edge_sw_begin
#define sw_str edge_sw_str
#define sw_u64 edge_sw_u64
#define sw_json edge_sw_json
#define sw_body edge_sw_body
#define json_error edge_json_error
#define add_header_str edge_add_header_str
#define sw_bundle_url edge_sw_bundle_url
#define seed_headers edge_seed_headers
#define run_check edge_run_check
#define resolve_current edge_resolve_current
#define load_view edge_load_view
#define report_admit edge_report_admit
#define report_relay edge_report_relay

/* A writer appending to the free part of the scratch; `bad` set on overflow. */
struct sw {
    char *p;
    size_t n, cap;
    int bad;
};

struct param {
    const char *name;
    const char *val; /* decoded, NUL-terminated, in the arena; NULL when absent */
    size_t len;
};

/* The roles a check parameter can play; a dialect names the ones it has. */
enum role {
    Q_APP,
    Q_PLATFORM,
    Q_CHANNEL,
    Q_BINARY,
    Q_DEVICE,
    Q_CURRENT,
    Q_SKIP,
    Q_HW,
    Q_VERSION,
    Q_MODEL,
    Q_KEY,  /* CodePush deployment_key */
    Q_HASH, /* CodePush package_hash */
    Q__N
};

struct dialect {
    const char *names[Q__N];     /* query parameter per role; NULL: the dialect does not have it */
    const char *default_channel; /* when the channel is absent; NULL: required */
    int current_is_label;        /* Q_CURRENT is a version label (mapped to a release), not a release id */
    int binary_from_hw;          /* no Q_BINARY: the hardware version, else the current version, is checked
                                    against target ranges (and the device is validated first) */
    int binary_optional;         /* Q_BINARY may be absent: Q_VERSION (the current version) stands for it */
    int forward_only;            /* seed clients: never offer a version that is not newer than the current one */
    int model_maps_app;          /* Q_MODEL names a device model, mapped to app/platform/channel (--device-model) */
    /* 0, or -1 after filling an error response */
    int (*answer)(struct edge_ctx *c, const struct edge_reqin *rq, const struct param *ps, const struct cmn_decision *d,
                  struct edge_resp *rs);
    /* Optional hooks (NULL: none). prepare runs after decoding, before validation (fill roles the dialect
     * derives, e.g. the channel from a CodePush deployment key); admit runs once the channel's record is
     * loaded (c->view) and may refuse; current maps the device's report to its installed release id.
     * prepare/admit return 0, or -1 after filling an error response (admit sets *oc). */
    int (*prepare)(struct edge_ctx *c, struct param *ps, struct edge_resp *rs);
    int (*admit)(struct edge_ctx *c, const struct param *ps, struct edge_resp *rs, enum edge_outcome *oc);
    const char *(*current)(struct edge_ctx *c, const struct param *ps);
};

void sw_begin(struct sw *w, struct edge_resp *rs);
void sw_str(struct sw *w, const char *s);
void sw_u64(struct sw *w, uint64_t v);
void sw_json(struct sw *w, const char *s);
void sw_body(struct sw *w, struct edge_resp *rs);
/* A relative bundle URL made absolute (--public-base, else http://<Host>/); -1 for a Host we will not echo. */
int sw_bundle_url(struct sw *w, const struct edge_config *cfg, struct cmn_slice host, const char *url);
void json_error(struct edge_resp *rs, int status, const char *code, const char *msg);
void add_header_str(struct edge_resp *rs, const char *name, const char *val);
void seed_headers(struct edge_resp *rs, int status);
/* A version label (or a release id) reported by a device -> the release id (or `cur` itself). */
const char *resolve_current(const struct cmn_manifest *m, const char *cur);
/* Look up app/platform/channel in the index into c->view (device: the view cache's key). 0, or -1 after
 * filling an error response (404 unknown channel, 503 expired or no index) and *oc. */
int load_view(struct edge_ctx *c, const char *app, const char *platform, const char *channel, const char *device,
              struct edge_resp *rs, enum edge_outcome *oc);
/* A relayed device report's checks before its body is read (POST, relay configured, rate limit, body cap,
 * Content-Type): 0, or -1 after filling the error response. */
int report_admit(struct edge_ctx *c, const struct edge_reqin *rq, struct edge_resp *rs);
/* Queue an encoded installation batch for the publisher's /v1/installations; answers 202. */
void report_relay(struct edge_ctx *c, const char *body, size_t n, struct edge_resp *rs);
enum edge_outcome run_check(struct edge_ctx *c, const struct dialect *dl, const struct edge_reqin *rq,
                            struct edge_resp *rs);

/* codepush.c: the CodePush acquisition API (/v0.1/public/codepush/...). Returns 1 when it handled rq. */
int edge_codepush_handle(struct edge_ctx *c, const struct edge_reqin *rq, struct edge_resp *rs, enum edge_endpoint *ep,
                         enum edge_outcome *oc);

#endif
