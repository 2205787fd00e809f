/*
 * hotpatch.h - libhotpatch, the HotPatch device SDK. The only public header.
 *
 * A device (an app embedding React Native bundles, or a Linux/IoT box running
 * hotpatch-agent) uses one hp_client per data directory to: check for an
 * update (edge `GET /v1/check` or a static signed manifest behind a CDN),
 * download the bundle into pending/ with HTTP Range resume, verify its SHA-256
 * and Ed25519 release signature, extract it safely into a staging directory,
 * swap it in atomically (current/ -> previous/, staging -> current/), and run
 * the boot protocol that rolls back by itself when a new bundle crash-loops.
 * Installs, failures and rollbacks are queued in the data dir and reported to
 * the publisher in batches.
 *
 * Everything that decides an install comes from a manifest verified with one
 * of the device's trusted manifest keys: an edge's answer headers are only
 * hints, and the decision is always recomputed on the device.
 *
 * Typical host-app flow (error handling elided):
 *
 *     hp_client *c;
 *     hp_client_new(&c);
 *     hp_setopt_str(c, HP_OPT_DATA_DIR, "/data/app/hotpatch");
 *     hp_setopt_str(c, HP_OPT_MANIFEST_BASE_URL, "https://cdn.example.com");
 *     ... app, platform, channel, binary version, device id, keys ...
 *     if (hp_open(c) != HP_OK) { log(hp_errmsg(c)); }
 *     int rolled_back;
 *     hp_boot_begin(c, &rolled_back);        // BEFORE running the bundle
 *     run_bundle(hp_bundle_path(c));         // NULL: use the embedded bundle
 *     ... first screen rendered ...
 *     hp_boot_ok(c);                         // "app is ready"
 *     hp_update(c, NULL, NULL, &updated);    // background: next launch uses it
 *     hp_report_flush(c);
 *     hp_client_free(c);
 *
 * Data directory layout (private to the SDK):
 *     state.json, state.json.bak   installed/previous release, highest manifest
 *                                  sequence, launch counter, blocklist, pending
 *     current/                     the installed bundle's files
 *     previous/                    the release before it (rollback target)
 *     pending/                     downloads in progress / verified archives
 *     staging/, trash/             transient, during an install
 *     reports.json                 queued installation events
 *
 * Caveats
 * =======
 * - A handle is not thread-safe: use it from one thread at a time. The only
 *   exception is hp_cancel(), which may be called from any thread while
 *   another thread is inside hp_download() / hp_update().
 * - One process per data directory. Two handles on the same directory (in
 *   one process or two) corrupt nothing on disk (every state write is atomic)
 *   but may undo each other's progress. The SDK takes no lock.
 * - Call hp_boot_begin() exactly once per launch, before the bundle runs, and
 *   hp_boot_ok() once the app is usable. A launch that never reaches
 *   hp_boot_ok() counts as failed; after HP_OPT_MAX_FAILED_LAUNCHES failed
 *   launches of a newly installed release, hp_boot_begin() reverts to the
 *   previous release (or the embedded bundle) and blocklists the bad one.
 * - Strings returned by the getters are borrowed from the handle (or offer)
 *   and stay valid until the next call on that handle that can change state
 *   (hp_open, hp_check, hp_install, hp_update, hp_boot_begin, hp_boot_ok)
 *   or until it is freed. Copy them if you need them longer.
 * - The library never calls exit() or abort() and never logs. On failure a
 *   function returns an hp_status and the handle keeps a one-line detail,
 *   readable with hp_errmsg().
 * - libhotpatch uses libcurl as its default transport. hp_client_new() calls
 *   curl_global_init() once per process; if the host also uses libcurl, it
 *   should call curl_global_init() itself before starting threads.
 *   libhotpatch-core is the same library without libcurl (mobile apps): the
 *   host must plug in its own HTTP with hp_set_transport() before hp_open().
 *   Either way the core makes every decision (status, ranges, sizes, hashes,
 *   signatures); a transport only moves bytes.
 * - The library reads one environment variable, HOTPATCH_AGENT_FAULT, a
 *   test-only fault hook: when it names a step (docs/sdk.md), the process
 *   SIGKILLs itself at that step. Never set it in production.
 * - Security: a manifest is accepted only when signed by a trusted manifest key,
 *   not expired, for the configured app/platform/channel, and with a sequence
 *   not lower than the highest this device accepted. A bundle is extracted only
 *   after its SHA-256 matches the signed digest and its signature verifies with
 *   a trusted release key whose key id matches the manifest's.
 */
#ifndef HOTPATCH_H
#define HOTPATCH_H

#include <stddef.h>

/* HP_VERSION_STRING ("MAJOR.MINOR.PATCH") and HP_VERSION_MAJOR/MINOR/PATCH:
 * generated from the VERSION file at build time and installed beside this
 * header. */
#include "hotpatch_version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols marked HP_API are the library's whole exported surface (sdk/hotpatch.sym). */
#if defined(_WIN32)
#define HP_API
#elif defined(__GNUC__)
#define HP_API __attribute__((visibility("default")))
#else
#define HP_API
#endif

#if defined(__GNUC__)
#define HP_WUR __attribute__((warn_unused_result))
#else
#define HP_WUR
#endif

/** Opaque client handle: one per data directory. */
typedef struct hp_client hp_client;
/** Opaque update offer returned by hp_check(). */
typedef struct hp_offer hp_offer;

/**
 * Result codes. 0 is success; every failing call also leaves a detail on its
 * handle (hp_errmsg()).
 */
typedef enum hp_status {
    HP_OK = 0,           /**< success */
    HP_E_NOMEM = 1,      /**< allocation failed */
    HP_E_INVAL = 2,      /**< bad argument, option or configuration */
    HP_E_IO = 3,         /**< data-directory / file-system error */
    HP_E_NET = 4,        /**< connection, DNS, TLS, timeout, or transfer cut */
    HP_E_HTTP = 5,       /**< unexpected HTTP status from a server */
    HP_E_VERIFY = 6,     /**< refused: bad signature, untrusted key, hash or size mismatch, malformed manifest */
    HP_E_EXPIRED = 7,    /**< refused: manifest past its expires_at */
    HP_E_REPLAY = 8,     /**< refused: manifest sequence lower than one already accepted */
    HP_E_UNSAFE = 9,     /**< refused: hostile or corrupt archive (zip slip, symlink, bomb, truncated...) */
    HP_E_CANCELLED = 10, /**< hp_cancel() or the progress callback stopped the transfer */
    HP_E_STATE = 11,     /**< call not valid now (handle not opened, offer not downloaded...) */
} hp_status;

/** Static, lower-case description of a code; never NULL. */
HP_API const char *hp_strerror(hp_status s);

/**
 * The code's name as written in this header, e.g. "HP_E_VERIFY" (what the
 * language bindings report as an error code); "HP_E_UNKNOWN" for a value this
 * build does not know. Static; never NULL.
 */
HP_API const char *hp_status_name(hp_status s);

/** The library version (HP_VERSION_STRING of the build); static string. */
HP_API const char *hp_version(void);

/** Options for hp_setopt_str() (S) and hp_setopt_int() (I). */
typedef enum hp_option {
    HP_OPT_DATA_DIR = 1,         /**< S, required: private data directory (created if missing, mode 0700) */
    HP_OPT_APP,                  /**< S, required: app name */
    HP_OPT_PLATFORM,             /**< S, required: platform, e.g. "android" */
    HP_OPT_CHANNEL,              /**< S, required: channel, e.g. "production" */
    HP_OPT_BINARY_VERSION,       /**< S, required: the native binary version, semver */
    HP_OPT_DEVICE_ID,            /**< S, required: stable device id, 1..128 bytes */
    HP_OPT_EDGE_URL,             /**< S: hotpatch-edge base URL; checks use GET /v1/check */
    HP_OPT_MANIFEST_BASE_URL,    /**< S: storage/CDN root; checks GET manifests/<app>/<platform>/<channel>.json */
    HP_OPT_BUNDLE_BASE_URL,      /**< S: root that relative bundle_url values resolve against
                                      (default: the manifest base URL) */
    HP_OPT_PUBLISHER_URL,        /**< S, optional: publisher base URL for POST /v1/installations */
    HP_OPT_MANIFEST_KEY,         /**< S: add trusted manifest public key(s), base64, comma-separated; repeatable */
    HP_OPT_RELEASE_KEY,          /**< S: add trusted release (bundle) public key(s), base64, comma-separated */
    HP_OPT_EMBEDDED_BUNDLE_PATH, /**< S, optional: returned by hp_bundle_path() when no release is installed */
    HP_OPT_MAX_FAILED_LAUNCHES,  /**< I: failed launches before an automatic rollback (default 3, 1..100) */
    HP_OPT_TIMEOUT_MS,           /**< I: connect + stall timeout for HTTP, milliseconds (default 30000) */
    HP_OPT_MAX_EXTRACT_BYTES,    /**< I: cap on a bundle's total uncompressed size (default 512 MiB) */
    HP_OPT_NOW,                  /**< I: unix time used for manifest expiry; 0 = the clock (default; tests only) */
    HP_OPT_EMBEDDED_BUNDLE_DIR,  /**< S, optional: directory holding the embedded bundle's files, a patch base
                                      when no release is installed */
    HP_OPT_PATCHES,              /**< I: 1 (default) use differential patches when offered, 0 always full bundles */
    HP_OPT_ROOT,                 /**< S, optional: the app's initial signed root document (JSON text). The
                                      device then trusts the manifest keys (and release keys, when listed) of the
                                      newest root it can walk to from storage (roots/<app>/<N>.json), cached in the
                                      data dir; configured manifest keys are not needed */
} hp_option;

/**
 * Create a client handle.
 * @param[out] out  receives the new handle (only on success); free it with hp_client_free().
 * @return HP_OK, HP_E_INVAL (out is NULL), HP_E_NOMEM.
 */
HP_API hp_status hp_client_new(hp_client **out) HP_WUR;

/**
 * Free a handle and everything it owns (offers returned by hp_check() are
 * separate and freed with hp_offer_free()). NULL does nothing.
 */
HP_API void hp_client_free(hp_client *c);

/**
 * Set a string option before hp_open(). The value is copied.
 * @param[in] c      the handle
 * @param[in] opt    an HP_OPT_* marked S
 * @param[in] value  NUL-terminated text; NULL clears the option (for key
 *                   options: forgets all keys added so far)
 * @return HP_OK; HP_E_INVAL for an unknown/integer option, a malformed key or
 *         URL, or after hp_open(); HP_E_NOMEM.
 */
HP_API hp_status hp_setopt_str(hp_client *c, hp_option opt, const char *value) HP_WUR;

/**
 * Set an integer option before hp_open().
 * @return HP_OK; HP_E_INVAL for an unknown/string option, a value out of range,
 *         or after hp_open().
 */
HP_API hp_status hp_setopt_int(hp_client *c, hp_option opt, long long value) HP_WUR;

/**
 * Validate the configuration, create the data directory if needed, load
 * state.json (falling back to state.json.bak, then to a safe default that
 * boots the embedded bundle, when the file is torn or corrupt) and finish or
 * undo any install that a crash interrupted, so that hp_bundle_path() names a
 * complete, verified bundle (or NULL for the embedded one).
 * Requires: data dir, app, platform, channel, binary version, device id, at
 * least one manifest key and one release key, and an edge URL or a manifest
 * base URL.
 * @return HP_OK, HP_E_INVAL (configuration; hp_errmsg() names the option),
 *         HP_E_IO, HP_E_NOMEM, HP_E_STATE (already open).
 */
HP_API hp_status hp_open(hp_client *c) HP_WUR;

/**
 * Detail of the last failure on this handle, e.g. "manifest signed by an
 * untrusted key 'ab12...'": lower case, one line, no final period. Empty
 * string when the last call succeeded. Borrowed; valid until the next call
 * on the handle. Never NULL (for c == NULL returns a static string).
 */
HP_API const char *hp_errmsg(const hp_client *c);

/* ---- check / download / install ---- */

/** What an offer asks the device to do. */
typedef enum hp_offer_type {
    HP_OFFER_NONE = 0,   /**< no offer: what hp_offer_kind(NULL) returns */
    HP_OFFER_UPDATE = 1, /**< install a release (may be older: the installed one was rolled back) */
    HP_OFFER_REVERT =
        2, /**< the installed release was rolled back and nothing applies: go back to the embedded bundle */
} hp_offer_type;

/**
 * Ask the edge (or fetch the static manifest) whether an update applies to
 * this device. The manifest is verified with the trusted manifest keys
 * (signature, expiry, app/platform/channel, sequence >= the highest accepted)
 * and the decision is made locally with the device's blocklist; the accepted
 * sequence is persisted. An edge's 204 means "nothing for you".
 * @param[in]  c    an opened handle
 * @param[out] out  on HP_OK: a new offer (free with hp_offer_free()), or NULL
 *                  when nothing applies. Untouched on failure.
 * @return HP_OK, HP_E_NET, HP_E_HTTP, HP_E_VERIFY, HP_E_EXPIRED, HP_E_REPLAY,
 *         HP_E_IO (state write), HP_E_NOMEM, HP_E_STATE (not opened).
 */
HP_API hp_status hp_check(hp_client *c, hp_offer **out) HP_WUR;

/** Kind of the offer; HP_OFFER_NONE for o == NULL. */
HP_API hp_offer_type hp_offer_kind(const hp_offer *o);
/** Release id offered (for HP_OFFER_REVERT: the release being abandoned). Borrowed from the offer. */
HP_API const char *hp_offer_release_id(const hp_offer *o);
/** Version label of the offered release ("" for a revert). Borrowed from the offer. */
HP_API const char *hp_offer_version(const hp_offer *o);
/** Signed size of the bundle in bytes (0 for a revert). */
HP_API long long hp_offer_size(const hp_offer *o);
/** 1 when the update is mandatory (also when a skipped release was mandatory). */
HP_API int hp_offer_mandatory(const hp_offer *o);
/** Sequence of the manifest the offer came from. */
HP_API unsigned long long hp_offer_sequence(const hp_offer *o);
/** Free an offer. NULL does nothing. */
HP_API void hp_offer_free(hp_offer *o);

/**
 * Progress callback for downloads: `done` bytes of `total` (the signed size).
 * Return non-zero to cancel the transfer (HP_E_CANCELLED; what was received
 * is kept for a later resume).
 */
typedef int (*hp_progress_fn)(void *ctx, long long done, long long total);

/**
 * Download the offered bundle into pending/. Resumes a cut transfer with an
 * HTTP Range request; hashes while streaming (the kept prefix included);
 * refuses more bytes than the signed size. When complete, the SHA-256 and the
 * release signature are checked; a mismatch deletes the file. Does nothing
 * (HP_OK) for a revert offer or when the verified archive is already there.
 * @param[in] c    an opened handle
 * @param[in] o    an offer from hp_check() on this handle
 * @param[in] fn   progress callback or NULL; called from this thread
 * @param[in] ctx  passed to fn
 * @return HP_OK, HP_E_NET (resumable), HP_E_HTTP, HP_E_VERIFY (hash, size,
 *         signature, unknown release key), HP_E_CANCELLED, HP_E_IO, HP_E_NOMEM.
 */
HP_API hp_status hp_download(hp_client *c, const hp_offer *o, hp_progress_fn fn, void *ctx) HP_WUR;

/**
 * Install a downloaded offer: re-verify the archive in pending/ (SHA-256 and
 * signature) before anything is extracted, extract it with the safety guards
 * into staging/, fsync, then atomically make it current/ (the old current/
 * becomes previous/). Every step is recorded in state.json so a crash at any
 * point is completed or undone by the next hp_open(). For HP_OFFER_REVERT,
 * removes the installed release and returns to the embedded bundle.
 * Queues an "applied" (or "failed") report. The new bundle is used from the
 * next hp_boot_begin().
 * @return HP_OK, HP_E_STATE (not downloaded), HP_E_VERIFY, HP_E_UNSAFE,
 *         HP_E_IO, HP_E_NOMEM.
 */
HP_API hp_status hp_install(hp_client *c, const hp_offer *o) HP_WUR;

/**
 * Go back to the embedded bundle from the next hp_boot_begin(): drops a
 * pending download and reverts the installed release the way a server-side
 * revert does (journaled, crash-safe; no report, nothing blocklisted). The
 * accepted manifest sequence and the blocklist are kept.
 * @return HP_OK (also when nothing is installed), HP_E_IO, HP_E_STATE (not opened), HP_E_NOMEM.
 */
HP_API hp_status hp_clear_updates(hp_client *c) HP_WUR;

/**
 * hp_check() + hp_download() + hp_install().
 * @param[out] updated  when not NULL, receives 1 if something was installed or
 *                      reverted, 0 when nothing applied
 * @return as the three calls.
 */
HP_API hp_status hp_update(hp_client *c, hp_progress_fn fn, void *ctx, int *updated) HP_WUR;

/**
 * Ask a running hp_download()/hp_update() on this handle to stop. Thread-safe
 * and async-signal-safe, except that it also calls a host transport's
 * cancel() callback (hp_set_transport()), which is only as safe as the host made it.
 */
HP_API void hp_cancel(hp_client *c);

/* ---- host transport (required by libhotpatch-core) ---- */

/** One HTTP request the core asks the host to perform. Borrowed for the duration of the call. */
typedef struct hp_http_request {
    const char *method;         /**< "GET" or "POST" */
    const char *url;            /**< absolute http(s) URL (file:// only when the app configured one) */
    const char *const *headers; /**< extra request headers, "Name: value", NULL-terminated; may be NULL */
    long long range_start;      /**< > 0: resume; send "Range: bytes=<range_start>-" */
    const void *body;           /**< POST body, or NULL */
    size_t body_len;            /**< bytes of body */
    long timeout_ms;            /**< connect timeout, and the longest stall allowed mid-transfer */
    int follow_redirects;       /**< 1: follow up to 5 redirects to http(s) URLs; 0: report a 3xx as is */
    int decompress;             /**< 1: the transport may negotiate and decode a compressed answer;
                                     0: deliver the bytes as stored (bundles, ranges) */
} hp_http_request;

/**
 * Where a transport delivers an answer. Opaque; valid only during the
 * transport's perform() call, and only on the thread that called it.
 */
typedef struct hp_http_sink hp_http_sink;

/**
 * Report the status of a response (the final one, after redirects). Call it
 * before the headers and the body; calling it again (a new response after a
 * redirect) forgets the headers reported so far.
 * @return 0 to go on; non-zero: stop the transfer and return HP_E_CANCELLED.
 */
HP_API int hp_sink_status(hp_http_sink *s, int status);

/**
 * Report one header of the current response (name case-insensitive, value
 * without the line ending). The core reads Content-Range and X-HotPatch-Release.
 * @return 0 to go on; non-zero: stop the transfer.
 */
HP_API int hp_sink_header(hp_http_sink *s, const char *name, const char *value);

/**
 * Deliver response body bytes, in order. The core checks the status and
 * Content-Range on the first call, writes downloads to the file it chose,
 * hashes, enforces the signed size and the reply caps, reports progress and
 * honours hp_cancel().
 * @return 0 to go on; non-zero: stop the transfer now and return HP_E_CANCELLED
 *         (the core has recorded why; the reason wins over the transport's).
 */
HP_API int hp_sink_body(hp_http_sink *s, const void *p, size_t n);

/** A host HTTP transport: a small callback table. */
typedef struct hp_transport {
    /**
     * Perform `rq` synchronously on the calling thread: hp_sink_status(),
     * hp_sink_header() for each header, then hp_sink_body() as bytes arrive.
     * @param[out] errbuf  on failure, a one-line reason (NUL-terminated, at most errlen bytes)
     * @return HP_OK when a complete response arrived, whatever its status;
     *         HP_E_CANCELLED when a sink call returned non-zero or cancel() was
     *         called; HP_E_NET when no response arrived or it was cut short.
     */
    hp_status (*perform)(void *ctx, const hp_http_request *rq, hp_http_sink *sink, char *errbuf, size_t errlen);
    /** Optional (may be NULL): called by hp_cancel(), from any thread, to abort a blocked perform(). */
    void (*cancel)(void *ctx);
    /** Passed to both callbacks; owned by the host and must outlive the handle. */
    void *ctx;
} hp_transport;

/**
 * Use a host transport for every request of this handle (before hp_open();
 * the table is copied). NULL restores the default: libcurl in libhotpatch,
 * none in libhotpatch-core. Without a transport the handle still opens and
 * runs the boot protocol (no network needed); hp_check(), hp_download(),
 * hp_update() and hp_report_flush() then fail with HP_E_INVAL.
 * @return HP_OK; HP_E_INVAL (no perform callback, or after hp_open()).
 */
HP_API hp_status hp_set_transport(hp_client *c, const hp_transport *t) HP_WUR;

/** 1 when this build has a default transport (libcurl), 0 for libhotpatch-core. */
HP_API int hp_has_default_transport(void);

/* ---- boot protocol ---- */

/** What hp_boot_begin() reports in *rolled_back. */
#define HP_BOOT_NORMAL 0         /* the bundle of hp_bundle_path() boots as before */
#define HP_BOOT_ROLLED_BACK 1    /* the installed release crash-looped: reverted and blocklisted */
#define HP_BOOT_BINARY_CHANGED 2 /* the native binary changed and the installed release does not target it */

/**
 * Call once per launch BEFORE running the bundle. If the installed release is
 * not yet confirmed and has already failed HP_OPT_MAX_FAILED_LAUNCHES launches,
 * reverts to previous/ (or the embedded bundle), blocklists the release and
 * queues a "rolled_back" report. Otherwise increments and persists (fsync) the
 * launch counter of an unconfirmed release before returning.
 *
 * Binary binding: each installed release remembers the binary version
 * (HP_OPT_BINARY_VERSION) it was installed under. When hp_open() sees another
 * binary (an app-store update) and the release's signed target range does not
 * admit it, the release is never booted again: the embedded bundle is used, the
 * release leaves the disk (not blocklisted), the previous release is kept only
 * if it still applies, and the next hp_boot_begin() returns HP_OK with
 * *rolled_back = HP_BOOT_BINARY_CHANGED and the reason in hp_errmsg().
 * @param[out] rolled_back  when not NULL, receives HP_BOOT_NORMAL, HP_BOOT_ROLLED_BACK or HP_BOOT_BINARY_CHANGED
 * @return HP_OK, HP_E_IO (the counter could not be persisted: the caller should
 *         run the embedded bundle), HP_E_STATE, HP_E_NOMEM.
 */
HP_API hp_status hp_boot_begin(hp_client *c, int *rolled_back) HP_WUR;

/**
 * "App is ready": the current launch succeeded. Clears the launch counter and
 * marks the installed release good (it will not be rolled back by the boot
 * protocol any more).
 * @return HP_OK, HP_E_IO, HP_E_STATE.
 */
HP_API hp_status hp_boot_ok(hp_client *c) HP_WUR;

/**
 * Directory holding the bundle to run: <data dir>/current when a release is
 * installed, else HP_OPT_EMBEDDED_BUNDLE_PATH (NULL when not set). Borrowed.
 */
HP_API const char *hp_bundle_path(const hp_client *c);

/* ---- state, for display ---- */

/** Installed release id, or NULL for the embedded bundle. Borrowed. */
HP_API const char *hp_installed_release(const hp_client *c);
/** Installed release's version label, or NULL. Borrowed. */
HP_API const char *hp_installed_version(const hp_client *c);
/** Previous release id (the rollback target), or NULL. Borrowed. */
HP_API const char *hp_previous_release(const hp_client *c);
/** Highest manifest sequence accepted by this device (0 = none yet). */
HP_API unsigned long long hp_manifest_sequence(const hp_client *c);
/**
 * Version of the root of trust this device trusts now (HP_OPT_ROOT): after
 * hp_open() the newer of the embedded and the cached root, after a check the
 * newest one walked to. 0 without HP_OPT_ROOT or before hp_open().
 */
HP_API unsigned long long hp_root_version(const hp_client *c);
/** That root's expires_at (unix seconds), 0 when hp_root_version() is 0. */
HP_API long long hp_root_expires_at(const hp_client *c);
/** Launches begun but not confirmed for the installed release. */
HP_API int hp_launch_count(const hp_client *c);
/** 1 when the installed release (or the embedded bundle) is confirmed good. */
HP_API int hp_boot_confirmed(const hp_client *c);
/** Number of blocklisted (rolled back by this device) release ids. */
HP_API size_t hp_blocklist_count(const hp_client *c);
/** The i-th blocklisted release id, or NULL when out of range. Borrowed. */
HP_API const char *hp_blocklist_at(const hp_client *c, size_t i);
/** Release id of the download in pending/, or NULL. Borrowed. */
HP_API const char *hp_pending_release(const hp_client *c);
/**
 * How the last hp_download()/hp_install() got the release: "patch" (a
 * differential patch applied to the installed or embedded bundle, verified
 * against the release key's content signature), "full", or "full (patch
 * refused: REASON)" / "full (no patch: REASON)" when a patch was offered but
 * could not be used. Empty before any download. Borrowed until the next call.
 */
HP_API const char *hp_install_note(const hp_client *c);

/* ---- reports ---- */

/** Number of installation events queued for the publisher. */
HP_API size_t hp_reports_queued(const hp_client *c);

/**
 * Send queued events to the publisher (POST /v1/installations, batches of up
 * to 100, each event with a stable event_id so a retry is idempotent). Tries
 * up to 3 times with a short backoff; events stay queued on failure.
 * Does nothing (HP_OK) when HP_OPT_PUBLISHER_URL is not set or nothing is queued.
 * @return HP_OK, HP_E_NET, HP_E_HTTP, HP_E_IO, HP_E_NOMEM.
 */
HP_API hp_status hp_report_flush(hp_client *c) HP_WUR;

#ifdef __cplusplus
}
#endif

#endif
