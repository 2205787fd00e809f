/*
 * cli.h - private declarations shared by the files of the `hotpatch` CLI.
 *
 * The CLI is a thin layer over common/: option parsing, settings (flag >
 * environment > config file), one-line errors with documented exit codes,
 * `--json` output, the deterministic bundle zip, the serverless manifest
 * editor (conditional put + retry) and the publisher HTTP client. Each
 * command lives in cmd_<verb>.c and returns its process exit code.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/err.h"
#include "common/manifest.h"
#include "common/storage.h"

/* Process exit codes (documented in --help and docs/cli.md). */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,     /* generic failure */
    CLI_EXIT_USAGE = 2,    /* bad flags, missing required setting */
    CLI_EXIT_AUTH = 3,     /* authentication / permission refused */
    CLI_EXIT_CONFLICT = 4, /* duplicate version, lost race after retries */
    CLI_EXIT_VERIFY = 5,   /* signature / hash / trust verification failed */
    CLI_EXIT_NET = 6,      /* network or storage unavailable */
    CLI_EXIT_NOTFOUND = 7, /* release, manifest, file not found */
};

#define CLI_DEFAULT_TTL (7 * 24 * 3600)
#define CLI_MAX_RETRIES 12

/* ---- process-wide output state (util.c) ---- */

struct cli_out {
    int json;     /* --json: one JSON object on stdout, errors as {"error":..} */
    int quiet;    /* --quiet: no progress, no bundler output */
    int tty;      /* stderr is a terminal */
    int reported; /* an error has been printed already */
    int s3;       /* the storage in use is S3 (for credential hints) */
};
extern struct cli_out cli_out;

/* Map a common/ error code to an exit code. */
int cli_exit_from_err(enum cmn_err e);
/* Stable error code name for an exit code ("usage", "conflict"...). */
const char *cli_exit_name(int code);

/*
 * Report a one-line error (stderr "hotpatch: error: ..." or the JSON error
 * object on stdout) and return `code`. Only the first report of a run is
 * printed, so an inner failure is not repeated by its callers.
 */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, exit code from `rc`; the message is "<fmt>: <detail of eb or rc>". */
int cli_fail_rc(enum cmn_err rc, const struct cmn_errbuf *eb, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Informational line on stderr (suppressed by --json and --quiet). */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print `obj` as one compact line on stdout and take its reference. */
void cli_print_json(json_t *obj);

/* Upload progress bar on stderr; active only when cli_out.tty && !json && !quiet. */
struct cli_progress {
    const char *label;
    int active;
    int last_pct;
    int drawn;
};
void cli_progress_init(struct cli_progress *p, const char *label);
int cli_progress_cb(void *ctx, uint64_t done, uint64_t total); /* cmn_progress_fn */
void cli_progress_done(struct cli_progress *p);

/* ---- option parsing (util.c) ---- */

struct cli_opt {
    const char *name;  /* long name without "--" */
    const char *arg;   /* value placeholder for help ("DIR"); NULL for a flag */
    const char **sval; /* receives the value (flags with arg) */
    int *flag;         /* set to 1 (flags without arg) */
    const char *help;  /* one line */
};

struct cli_cmd {
    const char *name;    /* "release", "manifest show" */
    const char *summary; /* one line */
    const char *usage;   /* "hotpatch release --app A ..." */
    const char *env;     /* environment variables read, one "NAME  text" per line; may be NULL */
    const char *more;    /* extra help text; may be NULL */
};

#define CLI_MAX_POS 8
struct cli_args {
    const char *pos[CLI_MAX_POS];
    int npos;
    int help;
};

/*
 * Parse argv against `opts` (terminated by a zeroed entry) plus the common
 * --json, --quiet, --help. Returns 0, or CLI_EXIT_USAGE after reporting.
 * With --help it prints the command's help and sets a->help.
 */
int cli_parse(const struct cli_cmd *cmd, const struct cli_opt *opts, int argc, char **argv, struct cli_args *a);
/* cli_parse for a command that takes no positional argument: a stray one is CLI_EXIT_USAGE (unless --help). */
int cli_parse_flags(const struct cli_cmd *cmd, const struct cli_opt *opts, int argc, char **argv, struct cli_args *a);
void cli_print_help(const struct cli_cmd *cmd, const struct cli_opt *opts);

/* ---- settings (util.c) ---- */

struct cli_config;
extern struct cli_config *cli_cfg; /* loaded by main(); never NULL after that */
extern const char *cli_cfg_path;   /* its path */
extern const char *cli_cfg_dir;    /* ${XDG_CONFIG_HOME:-~/.config}/hotpatch */

/* flag value, else the env var, else the config key; NULL when none. */
const char *cli_setting(const char *flag, const char *env, const char *cfgkey);

enum cli_mode {
    CLI_MODE_NONE = 0,
    CLI_MODE_PUBLISHER,
    CLI_MODE_SERVERLESS,
};

/* Connection flags common to the commands that talk to a publisher or storage. */
struct cli_conn {
    const char *endpoint, *token, *storage, *manifest_key, *s3_endpoint, *region;
    enum cli_mode mode;
};
#define CLI_CONN_OPTS(c)                                                                                               \
    {"endpoint", "URL", &(c)->endpoint, NULL, "publisher base URL (publisher mode)"},                                  \
        {"token", "TOKEN", &(c)->token, NULL, "publisher API key or JWT"},                                             \
        {"storage", "URL", &(c)->storage, NULL, "file:///dir or s3://bucket/prefix (serverless mode)"},                \
        {"manifest-key", "FILE", &(c)->manifest_key, NULL, "manifest secret key file (serverless mode)"},              \
        {"s3-endpoint", "URL", &(c)->s3_endpoint, NULL, "S3 endpoint, e.g. http://127.0.0.1:7480 or R2"},              \
    {                                                                                                                  \
        "region", "NAME", &(c)->region, NULL, "S3 region (default us-east-1; R2: auto)"                                \
    }
#define CLI_CONN_ENV                                                                                                   \
    "HOTPATCH_ENDPOINT      publisher base URL (publisher mode)\n"                                                     \
    "HOTPATCH_TOKEN         publisher API key or JWT\n"                                                                \
    "HOTPATCH_STORAGE       file:///dir or s3://bucket/prefix (serverless mode)\n"                                     \
    "HOTPATCH_MANIFEST_KEY  manifest secret key file (serverless mode)\n"                                              \
    "HOTPATCH_S3_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  S3 endpoint and credentials\n"

/* Resolve the connection (flags > env > config) and pick the mode; reports and returns an exit code. */
int cli_conn_resolve(struct cli_conn *c);
/* Open c->storage; reports errors. */
int cli_conn_storage(const struct cli_conn *c, struct cmn_storage **out);
/* Load the manifest secret key (serverless); reports errors. */
int cli_conn_manifest_key(const struct cli_conn *c, struct cmn_key *key);

/*
 * Load a secret key file named by `flag`/`env`/`cfgkey`, or the default file
 * name `deffile` in the config dir when that exists. `what` ("signing",
 * "manifest") and `hint` make the error say what to do.
 */
int cli_load_secret(const char *flag, const char *env, const char *cfgkey, const char *deffile, const char *what,
                    const char *hint, struct cmn_key *key);

/* Comma-separated base64 public keys into an array (cap `max`); reports errors. */
int cli_parse_pubkeys(const char *list, struct cmn_key *keys, size_t max, size_t *n);

/* ---- small helpers (util.c) ---- */

/*
 * The (app, platform, channel) a command acts on: flags, else the config's
 * app/platform/channel, channel defaulting to "production". Validated as ids.
 */
struct cli_target {
    const char *app, *platform, *channel;
};
#define CLI_TARGET_OPTS(t)                                                                                             \
    {"app", "NAME", &(t)->app, NULL, "app name (config: app)"},                                                        \
        {"platform", "NAME", &(t)->platform, NULL, "android | ios | any device platform (config: platform)"},          \
    {                                                                                                                  \
        "channel", "NAME", &(t)->channel, NULL, "channel, default production (config: channel)"                        \
    }
int cli_target_resolve(struct cli_target *t);

/* Identifier check: [A-Za-z0-9._-]{1,64} (app, platform, channel, release id). */
/* Percent "12", "12.5", "0.01" -> basis points; -1 when malformed or out of 0..100. */
long cli_percent_to_bp(const char *s);
/* Unsigned integer in [lo, hi]; -1 when malformed. */
long long cli_parse_uint(const char *s, long long lo, long long hi);
/* Duration "3600", "90s", "30m", "12h", "7d" -> seconds; -1 when malformed. */
long long cli_parse_duration(const char *s);
/* --ttl: NULL keeps *ttl; else 1s..366d (e.g. 7d, 12h, 90s) or a usage error. */
int cli_parse_ttl(const char *s, long long *ttl);
/* "2026-11-23T10:50:26Z" into out (cap >= 21). */
void cli_iso_time(int64_t t, char *out, size_t cap);
/* A new release id "rel_<base36 ms time><8 hex random>". */
void cli_release_id(char out[CMN_ID_MAX + 1]);
/* Private temp dir under $TMPDIR; *out is heap. */
int cli_mkdtemp(char **out);
/* rm -rf (no symlink following); silent. */
void cli_rmtree(const char *path);
/* The release entry as a JSON object. */
json_t *cli_release_json(const struct cmn_release *r);
/* Print a release table (history, manifest show) on stdout. */
void cli_print_release_table(const struct cmn_release *r, size_t n);

/* ---- config file (config.c) ---- */

#define CLI_CONFIG_MAX_BYTES (64 * 1024)
#define CLI_CONFIG_MAX_ITEMS 64
#define CLI_CONFIG_MAX_LINE 4096

struct cli_config_item {
    char *key;
    char *value;
};
struct cli_config {
    struct cli_config_item items[CLI_CONFIG_MAX_ITEMS];
    size_t n;
};

/* 1 when `key` is a known setting. */
int cli_config_known(const char *key);
/* Parse `key = value` lines; CMN_E_PARSE with the line number in eb. cfg must be zeroed. */
enum cmn_err cli_config_parse(const char *text, size_t len, struct cli_config *cfg, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
/* Load a file; a missing file gives an empty config. */
enum cmn_err cli_config_load(const char *path, struct cli_config *cfg, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
/* Borrowed value or NULL. */
const char *cli_config_get(const struct cli_config *cfg, const char *key);
/* Set (value != NULL) or remove (value == NULL). CMN_E_INVAL for unknown keys / bad values. */
enum cmn_err cli_config_set(struct cli_config *cfg, const char *key, const char *value, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
enum cmn_err cli_config_render(const struct cli_config *cfg, struct cmn_buf *out) __attribute__((warn_unused_result));
/* Write atomically (temp file 0600 + fsync + rename), creating the dir 0700. */
enum cmn_err cli_config_save(const struct cli_config *cfg, const char *path, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
void cli_config_release(struct cli_config *cfg);
/* mkdir -p; 0 or -1 with errno. */
int cli_mkdir_p(const char *dir, unsigned mode);

/* ---- deterministic zip (zip.c) ---- */

struct cli_zip_entry {
    char *name; /* path inside the archive, '/'-separated */
    char *path; /* file on disk */
    uint64_t size;
};
struct cli_zip_list {
    struct cli_zip_entry *v;
    size_t n, alloc;
};
/* The CodePush client's package hash of what the zip extracts to (common/codepush.h). */
enum cmn_err cli_zip_codepush_hash(const struct cli_zip_list *zl, char out[CMN_SHA256_HEX],
                                   struct cmn_errbuf *eb) CMN_WUR;
#define CLI_ZIP_MAX_FILES 20000
#define CLI_ZIP_MAX_DEPTH 32

/* Walk `dir` (regular files only; symlinks and special files refused), sorted by name. */
enum cmn_err cli_zip_collect(const char *dir, struct cli_zip_list *l, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
/* Entry by archive name, or NULL. */
struct cli_zip_entry *cli_zip_find(struct cli_zip_list *l, const char *name);
/* Write the archive: sorted names, 1980-01-01 00:00 DOS time, mode 0644, deflate 9, no extra fields. */
enum cmn_err cli_zip_write(const struct cli_zip_list *l, const char *zip_path, struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));
void cli_zip_list_release(struct cli_zip_list *l);

/* ---- bundler (build.c) ---- */

struct cli_build_opts {
    const char *project_dir; /* cwd when NULL */
    const char *platform;
    const char *entry_file; /* index.js when NULL */
    const char *out_dir;    /* created by the caller */
};
/* Run `npx react-native bundle ...`; reports errors. */
int cli_build_bundle(const struct cli_build_opts *o);
/* Compile `in` into Hermes bytecode `out`; hermesc from `hermesc` or the project's node_modules. */
int cli_build_hermes(const char *project_dir, const char *hermesc, const char *in, const char *out);
/* Run argv in `cwd`, output forwarded to stderr unless quiet; last error line in `tail`. */
int cli_run(const char *cwd, char *const argv[], int *status, char *tail, size_t tailcap);

/* ---- serverless channel editing (remote.c) ---- */

/*
 * Edit callback: change `m` (freshly read, or new when `is_new`). Return 0 to
 * write it, CLI_EXIT_OK with *skip = 1 to write nothing, or an exit code after
 * cli_fail(). Called again after every lost race, on the re-read manifest.
 */
typedef int (*cli_edit_fn)(void *ctx, struct cmn_manifest *m, int is_new, int *skip);

struct cli_edit_result {
    uint64_t sequence;
    int64_t expires_at;
    int attempts;
    int skipped;
    char key[CMN_STORAGE_KEY_MAX];
};

/*
 * Read-modify-write of manifests/<app>/<platform>/<channel>.json: read with
 * its ETag, verify with the manifest key (expired allowed: we re-sign), call
 * `fn`, bump the sequence, set issued_at/expires_at (now + ttl), seal, and put
 * with If-Match (or If-None-Match when new). On a lost race re-read and retry
 * with jittered backoff, up to CLI_MAX_RETRIES. `create` = 0 makes a missing
 * manifest a not-found error; CLI_EDIT_CREATE creates it only when storage
 * holds nothing else of the app (cli_channel_may_create), CLI_EDIT_CREATE |
 * CLI_EDIT_NEW_CHANNEL creates it anyway (--new-channel). The new sequence is
 * cmn_manifest_next_sequence(stored, clock): it never goes backwards.
 */
#define CLI_EDIT_CREATE 1
#define CLI_EDIT_NEW_CHANNEL 2
int cli_channel_edit(struct cmn_storage *st, const struct cmn_key *mkey, const char *app, const char *platform,
                     const char *channel, int64_t ttl, int create, cli_edit_fn fn, void *ctx,
                     struct cli_edit_result *res);
/*
 * May a channel with no manifest be created "from nothing"? Refused (exit 4,
 * reported) when storage already holds a manifest of another channel of the
 * app, or a bundle of the app other than `own_bundle` (may be NULL): the
 * manifest is then more likely lost (deleted, a bucket migration) than new,
 * and restarting it would lose the channel's history. --new-channel says it
 * is new.
 */
int cli_channel_may_create(struct cmn_storage *st, const char *app, const char *platform, const char *channel,
                           const char *own_bundle);
/* Read and verify a channel manifest; reports errors. etag may be NULL. */
int cli_channel_read(struct cmn_storage *st, const struct cmn_keyring *trusted, const char *app, const char *platform,
                     const char *channel, unsigned flags, struct cmn_manifest **out, char etag[CMN_ETAG_MAX]);
/* Open manifest bytes with error reporting (what = where they came from). */
int cli_manifest_open(const void *doc, size_t len, const struct cmn_keyring *trusted, const char *app,
                      const char *platform, const char *channel, unsigned flags, const char *what,
                      struct cmn_manifest **out);

/*
 * Pick a release: by id, else by version, else the newest one whose state is
 * in `states` (bitmask of 1 << enum cmn_release_state). -1 after reporting.
 */
long cli_pick_release(const struct cmn_manifest *m, const char *id, const char *version, unsigned states);

/*
 * A change to one release of a channel (rollback, halt, resume, rollout,
 * archive), applied serverless through cli_channel_edit. `apply` mutates
 * m->releases[idx] (or removes it); *skip = 1 when nothing needs writing.
 */
struct cli_change {
    const char *id, *version; /* selection; both NULL = newest release in `states` */
    unsigned states;
    int (*apply)(struct cli_change *ch, struct cmn_manifest *m, long idx, int *skip);
    long arg;
    const char *what; /* past tense for the summary: "rolled back" */
    json_t *result;   /* the release after the change (set by cli_change_serverless) */
};
/* Run a change serverless and print the summary; returns the exit code. */
int cli_change_serverless(const struct cli_conn *c, const struct cli_target *t, int64_t ttl, struct cli_change *ch);
/* Print the summary of a publisher-mode change (answer = publisher JSON, borrowed). */
int cli_change_publisher_done(const struct cli_target *t, const char *what, json_t *rel, json_t *answer);

/*
 * The change commands' driver (change.c), like git's run_builtin(): it parses
 * the options every change command shares (target, --release/--version,
 * --ttl, connection) around the command's own, checks the selection,
 * resolves target and connection, then acts serverless (the command's
 * `change` edit on the channel manifest, or its own `serverless` act) or in
 * publisher mode (finds the release, sends the command's `request` for it)
 * and prints the summary. The command only supplies what is its own.
 */
struct cli_change_args { /* what the prologue parsed and resolved */
    struct cli_conn c;
    struct cli_target t;
    const char *id, *version, *ttl_s;
    long long ttl;
};
struct cli_change_cmd {
    struct cli_cmd cmd;
    int channel_opt; /* 1: --app --platform --channel; 0: --app --platform only (promote has --from/--to) */
    const char *release_help, *version_help;
    /* After parsing: positional arguments and the command's own checks, in the order its errors should come;
     * may adjust the change template (`arg`) and the target. NULL: no positional arguments allowed. */
    int (*check)(void *ctx, const struct cli_args *a, struct cli_change_args *r, struct cli_change *ch);
    struct cli_change change; /* serverless: apply, states, arg; `what` also names the publisher summary */
    int (*serverless)(void *ctx, struct cli_change_args *r); /* optional act replacing `change` */
    /* Publisher mode: method and request for the found release (eid = its URL-escaped id); *body may stay
     * NULL; *summary starts as the target and may be changed for the summary line. */
    const char *method;
    int (*request)(void *ctx, const char *eid, char *path, size_t cap, json_t **body, struct cli_target *summary);
};
/* Run a change command: returns the exit code. opts_before/opts_after ({0}-terminated, may be NULL) are the
 * command's options, listed before --release and after --version in the help. `r` is filled by the driver. */
int cli_change_run(const struct cli_change_cmd *cc, void *ctx, struct cli_change_args *r,
                   const struct cli_opt *opts_before, const struct cli_opt *opts_after, int argc, char **argv);

/*
 * Keys trusted to sign manifests, for reading: --trusted-key, else
 * HOTPATCH_TRUSTED_KEYS, else the config's trusted_keys, else the public half
 * of the manifest key (serverless). Reports and returns an exit code.
 */
#define CLI_MAX_TRUSTED 8
/*
 * The keys a writer verifies the stored manifest with before editing it: the
 * public half of its manifest key, plus HOTPATCH_TRUSTED_KEYS (the previous
 * key during a rotation). pub must hold 1 + CLI_MAX_TRUSTED keys; reports errors.
 */
int cli_edit_keyring(const struct cmn_key *mkey, struct cmn_key pub[1 + CLI_MAX_TRUSTED], struct cmn_keyring *ring);
int cli_trusted_resolve(const char *flag, const struct cli_conn *c, struct cmn_key keys[CLI_MAX_TRUSTED], size_t *n);

/* ---- publisher API (api.c) ---- */

struct cli_api {
    const char *endpoint; /* without trailing '/' is not required */
    const char *token;
};

#define CLI_API_MAX_RESPONSE (8u << 20)

/*
 * One JSON request. `body` may be NULL. On 2xx *resp (nullable) gets the
 * parsed answer (or NULL for an empty body); on failure the error is
 * reported and the exit code returned.
 */
int cli_api_call(const struct cli_api *api, const char *method, const char *path, json_t *body, json_t **resp);
/* GET returning raw bytes (manifest envelopes). */
int cli_api_get_raw(const struct cli_api *api, const char *path, struct cmn_buf *out);
/* Multipart POST /v1/releases: `metadata` JSON part + `bundle` file part, streamed, with progress. */
int cli_api_upload(const struct cli_api *api, json_t *metadata, const char *zip_path, json_t **resp);
/* The same upload to another `path` (what = "the release", "the embedded bundle" for error hints). */
int cli_api_upload_to(const struct cli_api *api, const char *path, const char *what, json_t *metadata,
                      const char *zip_path, json_t **resp);
/*
 * Turn an HTTP answer into an exit code and a message (the error object's
 * message when present). Pure; fuzzed. Returns CLI_EXIT_OK for 2xx.
 */
int cli_api_status(long status, const char *body, size_t len, char *msg, size_t cap);
/* Percent-encode one path segment / query value into out. */
int cli_api_escape(const char *s, char *out, size_t cap);
/*
 * Find a release on a publisher channel: by id (fetched), or by version, or
 * the newest active one. *out is a new reference to the release object.
 */
int cli_api_find_release(const struct cli_api *api, const char *app, const char *platform, const char *channel,
                         const char *id, const char *version, json_t **out);
/* cli_api_find_release, plus the release's URL-escaped id in eid[cap] for request paths. */
int cli_api_find_release_eid(const struct cli_api *api, const char *app, const char *platform, const char *channel,
                             const char *id, const char *version, json_t **out, char *eid, size_t cap);

/* ---- commands ---- */

int cli_cmd_keygen(int argc, char **argv);
int cli_cmd_login(int argc, char **argv);
int cli_cmd_logout(int argc, char **argv);
int cli_cmd_whoami(int argc, char **argv);
int cli_cmd_config(int argc, char **argv);
int cli_cmd_release(int argc, char **argv);
int cli_cmd_rollback(int argc, char **argv);
int cli_cmd_halt(int argc, char **argv);
int cli_cmd_resume(int argc, char **argv);
int cli_cmd_rollout(int argc, char **argv);
int cli_cmd_promote(int argc, char **argv);
int cli_cmd_archive(int argc, char **argv);
int cli_cmd_deployment_key(int argc, char **argv);
int cli_cmd_history(int argc, char **argv);
int cli_cmd_verify(int argc, char **argv);
int cli_cmd_snapshot(int argc, char **argv);
int cli_cmd_patch(int argc, char **argv);
int cli_cmd_embedded(int argc, char **argv);

/*
 * Release-time patches (patches.c, driver in common/patchset.c).
 * cli_release_content: extract `zip` (our release zip) under `work`, sign its
 * content digest with `skey` into e->content_sha256/content_sig (both modes:
 * a publisher builds its patches against this signed digest).
 * cli_release_patches: cli_release_content, then build, upload and list in
 * e->patches the patches worth it (cmn_patch_worth) from:
 *   - the last `nbases` distinct bundles of manifest `m` (NULL: none);
 *   - when `embedded` is set, every embedded bundle registered for
 *     (app, platform) (common/embedded.h) whose binary_version `target`
 *     admits. A registry that cannot be read is reported as a warning and
 *     skipped: the release goes on without those patches.
 * e->sha256 must be set. The caller frees e->content_sig, e->patches[i].url
 * and e->patches. Both return 0 or an exit code after reporting.
 */
#define CLI_PATCH_BASES_DEFAULT 3
int cli_release_content(const struct cmn_key *skey, const char *work, const char *zip, struct cmn_release *e);
struct cli_patch_from {
    const char *app, *platform;
    const struct cmn_manifest *m; /* the channel's current manifest, or NULL */
    int nbases;                   /* releases of m to patch from */
    int embedded;                 /* also from registered embedded bundles */
    const struct cmn_semver_range *target;
    json_t *notes; /* nullable out: {"level":"note"|"warning","text":..} per base tried (what stderr says) */
};
int cli_release_patches(struct cmn_storage *st, const struct cmn_key *skey, const char *work, const char *zip,
                        uint64_t zip_size, const struct cli_patch_from *from, struct cmn_release *e);
int cli_cmd_manifest(int argc, char **argv);
int cli_cmd_root(int argc, char **argv);
int cli_cmd_stats(int argc, char **argv);
int cli_cmd_app(int argc, char **argv);

#endif
