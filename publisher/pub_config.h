/*
 * pub_config.h - hotpatch-publisher configuration: defaults, an optional
 * `key = value` file, the environment, and command-line flags (in that order,
 * later ones win). pub_config_check() refuses weak or missing settings with
 * one line that names the setting.
 */
#ifndef PUB_CONFIG_H
#define PUB_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define PUB_WUR __attribute__((warn_unused_result))

#define PUB_CONFIG_MAX_FILE (64u << 10) /* a config file is small */
#define PUB_JWT_SECRET_MIN 32

struct pub_config {
    char *listen;            /* host:port, default 127.0.0.1:8080 */
    char *database_url;      /* required */
    char *storage;           /* required: file:///dir or s3://bucket/prefix */
    char *jwt_secret;        /* required, >= 32 bytes; wiped on release */
    char *manifest_key;      /* required: path to the manifest secret key file */
    char *manifest_key_next; /* optional: a second manifest key that co-signs every manifest (rotation) */
    char *ticket_keys;       /* edge ticket PUBLIC keys, base64, comma-separated (rotation); none: nothing halts */
    char *edge_urls;         /* comma-separated, optional */
    char *sync_token;        /* Bearer for POST /v1/sync on the edges */
    char *bootstrap_token;   /* allows POST /v1/bootstrap after the first org */
    char *s3_endpoint;       /* optional overrides of the S3 environment */
    char *s3_region;
    char *tmp_dir;   /* upload spool, default $TMPDIR or /tmp */
    char *log_level; /* debug|info|warn|error */
    int log_json;
    uint64_t max_upload;     /* bytes, default 256 MiB */
    uint64_t max_json;       /* admin JSON bodies, default 1 MiB */
    uint64_t max_telemetry;  /* telemetry JSON bodies, default 4 MiB */
    long max_batch;          /* events per telemetry batch, default 1000 */
    long manifest_ttl;       /* seconds, default 7 days */
    long resign_interval;    /* seconds between re-sign / reconcile passes, default 60 */
    long snapshot_interval;  /* seconds between feed/snapshot writes, default 600; 0 = never */
    long snapshot_debounce;  /* seconds of quiet after a change before a snapshot, default 5 */
    long jwt_ttl;            /* seconds, default 900 */
    long db_pool;            /* connections, default 8 */
    long db_wait;            /* seconds a request waits for a free connection before a 503, default 10 */
    long max_connections;    /* HTTP connections, default 256 */
    long rate_ip;            /* requests per second per client IP, default 200 */
    long rate_ip_burst;      /* default 400 */
    long rate_key;           /* requests per second per API key / token, default 100 */
    long rate_key_burst;     /* default 200 */
    long halt_threshold_pct; /* default 20 */
    long halt_min_installs;  /* default 50 */
    long session_ttl;        /* dashboard session lifetime in seconds, default 8 h */
    int cookie_secure;       /* mark the session cookie Secure (behind TLS); also when X-Forwarded-Proto is https */
    char *public_url;        /* optional: the dashboard's origin (https://host), the only Origin state changes accept */
    long patch_bases;        /* patches per new release from the channel's last N bundles, default 3; 0 = none */
    long patch_retries;      /* attempts of a patch job before it is marked failed, default 5 */
    long patch_retry_delay;  /* seconds before the first retry (doubling), default 30 */
};

/* Defaults; every string NULL except listen. Never fails (aborts on OOM). */
void pub_config_init(struct pub_config *c);
void pub_config_release(struct pub_config *c);

/*
 * Set one setting by its file key (e.g. "database_url", "max_upload").
 * CMN_E_INVAL for an unknown key or a bad value (eb says which).
 */
enum cmn_err pub_config_set(struct pub_config *c, const char *key, const char *value, struct cmn_errbuf *eb) PUB_WUR;

/*
 * Parse a config file's bytes: lines `key = value`, '#' comments, blank lines;
 * values may be double-quoted (then \" and \\ are the only escapes). Errors
 * name the line. CMN_E_TOOBIG past PUB_CONFIG_MAX_FILE.
 */
enum cmn_err pub_config_parse(struct pub_config *c, const char *text, size_t n, struct cmn_errbuf *eb) PUB_WUR;
enum cmn_err pub_config_load_file(struct pub_config *c, const char *path, struct cmn_errbuf *eb) PUB_WUR;

/* Apply DATABASE_URL, HOTPATCH_STORAGE, JWT_SECRET, ... from the environment. */
enum cmn_err pub_config_from_env(struct pub_config *c, struct cmn_errbuf *eb) PUB_WUR;

/* Refuse to start: missing required settings, JWT_SECRET < 32 bytes, bad listen address. */
enum cmn_err pub_config_check(const struct pub_config *c, struct cmn_errbuf *eb) PUB_WUR;

#endif
