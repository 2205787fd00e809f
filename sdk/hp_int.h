/*
 * hp_int.h - libhotpatch internals shared by the .c files of sdk/ (never installed).
 *
 * The client struct, the persistent device state (state.json), the safe zip
 * extractor, the HTTP helpers and the report queue. Internal functions carry
 * the hp__ prefix and are hidden from the shared library by
 * -fvisibility=hidden; tests and fuzz targets reach them through the static
 * archive.
 */
#ifndef SDK_HP_INT_H
#define SDK_HP_INT_H

#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/err.h"
#include "common/manifest.h"
#include "hotpatch.h"

#define HP_VERSION_MAX 128
#define HP_MAX_KEYS 16
#define HP_MAX_BLOCKLIST 64
#define HP_MAX_REPORTS 256
#define HP_STATE_MAX_BYTES (256u << 10)
#define HP_REPORTS_MAX_BYTES (512u << 10)

/* A release as the device remembers it. */
struct hp_rel {
    char id[CMN_ID_MAX + 1];
    char version[HP_VERSION_MAX + 1];
    char sha256[CMN_SHA256_HEX];
    char target_binary[CMN_RANGE_TEXT_MAX + 1]; /* the signed target range; "" = unknown (older state) */
    char binary[HP_VERSION_MAX + 1];            /* binary version it was installed under; "" = unknown */
};

/* The download in pending/: everything needed to resume and verify it. */
struct hp_pending {
    struct hp_rel rel;
    uint64_t size;
    char *url; /* absolute URL */
    char bundle_sig[CMN_SIG_B64];
    char bundle_keyid[CMN_KEYID_HEX];
};

/* An interrupted multi-step operation, recorded before its first rename. */
enum hp_op {
    HP_OP_NONE = 0, /* nothing in flight */
    HP_OP_INSTALL,  /* staging/ is complete and fsynced; roll forward: current->previous, staging->current */
    HP_OP_REVERT, /* boot rollback / server revert; roll forward: current->trash, previous->current (if to_previous) */
};

struct hp_state {
    uint64_t gen; /* write generation, +1 per save */
    int has_installed;
    struct hp_rel installed;
    int has_previous;
    struct hp_rel previous;
    uint64_t sequence; /* highest manifest sequence accepted */
    int launches;      /* begun-but-unconfirmed launches of the installed release */
    int confirmed;     /* installed release (or embedded) reached boot-ok */
    char *blocklist[HP_MAX_BLOCKLIST];
    size_t n_blocklist;
    int has_pending;
    struct hp_pending pending;
    enum hp_op op;
    struct hp_rel op_rel; /* HP_OP_INSTALL: the staged release; HP_OP_REVERT: the abandoned one */
    int op_to_previous;   /* HP_OP_REVERT: 1 = previous/ becomes current/, 0 = back to embedded */
    int op_blocklist;     /* HP_OP_REVERT: add op_rel to the blocklist when done */
    /* Why the last boot fell back because the native binary changed; reported once by hp_boot_begin. */
    char boot_note[640];
};

/* A differential patch offered for a release (manifest "patches", SPEC section 14). */
struct hp_patch_offer {
    char base[CMN_SHA256_HEX]; /* content digest of the bundle it applies to */
    char sha256[CMN_SHA256_HEX];
    uint64_t size;
    char *url; /* absolute; owned */
};

struct hp_offer {
    hp_offer_type kind;
    struct hp_pending p; /* release details (p.url owned) */
    int mandatory;
    uint64_t sequence;
    /* Signed content digest of the bundle (release key); has_content 0 when the release has none. */
    int has_content;
    char content_sha256[CMN_SHA256_HEX];
    char content_sig[CMN_SIG_B64];
    struct hp_patch_offer patches[CMN_MANIFEST_MAX_PATCHES];
    size_t n_patches;
};

#define HP__TICKET_MAX 801 /* CMN_TICKET_MAX + NUL */
#define HP__TICKETS_KEPT 8 /* releases whose ticket is kept */

struct hp_client {
    int opened;
    char *data_dir, *app, *platform, *channel, *binary_version, *device_id;
    char *edge_url, *manifest_base, *bundle_base, *publisher_url, *embedded_path;
    char *embedded_dir;                 /* HP_OPT_EMBEDDED_BUNDLE_DIR: patch base when nothing is installed */
    int no_patch;                       /* HP_OPT_PATCHES 0, or set while falling back to the full bundle */
    char install_note[CMN_ERRBUF_SIZE]; /* how the last update arrived: hp_install_note() */
    /* The zip this handle downloaded and hashed while streaming: hp_install
     * does not read it a second time while it is still that same file. */
    struct {
        char sha256[CMN_SHA256_HEX];
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
    } zip_seen;
    struct cmn_key mkeys[HP_MAX_KEYS];
    size_t n_mkeys;
    struct cmn_key rkeys[HP_MAX_KEYS];
    size_t n_rkeys;
    int max_failed;
    long timeout_ms;
    uint64_t max_extract;
    int64_t now;
    char *current_path; /* <data>/current */
    struct hp_state st;
    json_t *reports; /* array of queued events */
    /* Telemetry tickets (docs/security.md "Forged telemetry"): the edge's
     * X-HotPatch-Ticket of the last check, and the ones kept per offered
     * release (tickets.json, [{"release","ticket"}], newest last) that
     * hp__report attaches to the reports about that release. Opaque here. */
    char check_ticket[HP__TICKET_MAX];
    json_t *tickets;
    /* Set by hp_cancel() from any thread or a signal handler, read by the
     * transfer's progress callback: a lock-free C11 atomic (plain reads and
     * writes of it are sequentially consistent atomic operations). */
    atomic_int cancel;
    hp_transport tr;       /* the host's, or the default (libcurl); tr.perform NULL in libhotpatch-core */
    const char *fault;     /* HOTPATCH_AGENT_FAULT, test-only */
    char *root_doc;        /* HP_OPT_ROOT: the embedded initial root document (root.c) */
    struct cmn_root *root; /* the newest trusted root, NULL without HP_OPT_ROOT */
    char err[CMN_ERRBUF_SIZE];
};

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "hp_cancel() must be async-signal-safe: atomic_int must be lock-free");

/* ---- errors ---- */
hp_status hp__status(enum cmn_err e);
/* Record the detail of a failure on the handle and return its hp_status. */
hp_status hp__fail(struct hp_client *c, enum cmn_err e, const struct cmn_errbuf *eb);
hp_status hp__failf(struct hp_client *c, hp_status s, const char *fmt, ...) CMN_PRINTF(3, 4);
/*
 * The entry of a call that needs an open handle: HP_E_INVAL when c is NULL or
 * !args_ok (the handle's last message left alone), otherwise the last message
 * is cleared, then HP_E_STATE ("handle is not open") before hp_open.
 */
hp_status hp__enter_open(struct hp_client *c, int args_ok);

/* ---- test-only fault hook: SIGKILLs the process at a named point ---- */
void hp__fault(const struct hp_client *c, const char *point);

/* ---- files ---- */
char *hp__path(const char *dir, const char *name); /* NULL on ENOMEM */
enum cmn_err hp__rm_rf(const char *path, struct cmn_errbuf *eb);
enum cmn_err hp__fsync_dir(const char *path, struct cmn_errbuf *eb);
int hp__exists(const char *path);
int hp__is_dir(const char *path);
enum cmn_err hp__rename(const char *from, const char *to, struct cmn_errbuf *eb);
/* Write `n` bytes to dir/name atomically: temp + fsync + rename (+ dir fsync when sync_dir). */
enum cmn_err hp__write_atomic(const char *dir, const char *name, const void *p, size_t n, int sync_dir,
                              struct cmn_errbuf *eb);
enum cmn_err hp__read_file(const char *path, size_t cap, struct cmn_buf *out, struct cmn_errbuf *eb);

/* ---- state.json ---- */
void hp__state_init(struct hp_state *st);
void hp__state_release(struct hp_state *st);
/* Parse and validate a state document (checksum included). */
enum cmn_err hp__state_parse(const char *p, size_t n, struct hp_state *out, struct cmn_errbuf *eb);
/* Render a state document (with checksum); caller frees. */
enum cmn_err hp__state_render(const struct hp_state *st, char **out, size_t *len);
/* Load <dir>/state.json, else state.json.bak, else a safe default. *source: 0 main, 1 backup, 2 default. */
enum cmn_err hp__state_load(const char *dir, struct hp_state *out, int *source, struct cmn_errbuf *eb);
/* Save st (gen+1) to state.json.bak then state.json, each atomically. */
enum cmn_err hp__state_save(const char *dir, struct hp_state *st, struct cmn_errbuf *eb);
int hp__state_blocked(const struct hp_state *st, const char *id);
enum cmn_err hp__state_block(struct hp_state *st, const char *id);
void hp__pending_clear(struct hp_pending *p);
int hp__rel_set(struct hp_rel *r, const char *id, const char *version, const char *sha256);
/* Record the release's signed target range and the binary it is installed under (either may be NULL). -1 if bad. */
int hp__rel_bind(struct hp_rel *r, const char *target_binary, const char *binary);
/* 1 when `binary` is a version that r's recorded target range admits; 0 when not, or when unknown. */
int hp__rel_admits(const struct hp_rel *r, const char *binary);

/* ---- safe extraction ---- */
/* The caps of cmn_zip_check (common/zipcheck.h), which runs every other check of the extractor. */
struct hp_extract_limits {
    uint64_t max_total; /* sum of uncompressed sizes */
    uint64_t max_entries;
    uint64_t max_ratio; /* uncompressed/compressed, for entries above ratio_floor */
    uint64_t ratio_floor;
    void (*after_entry)(void *ctx, size_t i, size_t n); /* optional, after entry i of n is written */
    void *ctx;
};
/* cmn_zip_limits_default's caps: 512 MiB, 20000 entries, ratio 200 above 1 MiB. */
void hp__extract_limits_default(struct hp_extract_limits *l);
/* 0 when `name` is a safe relative entry name (the name rule of cmn_zip_check, common/zipcheck.h); sets *is_dir. */
int hp__zip_name_ok(const char *name, int *is_dir);
/*
 * 1 when a freshly written tree of `nfiles` regular files on a file system of
 * statfs type `fs_type` is made durable with one syncfs() instead of an fsync
 * per file: Linux but not Android, ext2/3/4, xfs, btrfs or f2fs, more than 32
 * files (sdk/extract.c says why).
 */
int hp__syncfs_fits(unsigned long fs_type, size_t nfiles);
/* Make every file and directory under `dest` durable (after an extraction or a patch); `nfiles`: how many regular
 * files the caller wrote there (picks syncfs or per-file fsync, hp__syncfs_fits). */
enum cmn_err hp__fsync_tree(const char *dest, size_t nfiles, struct cmn_errbuf *eb);
/* Extract into `dest` (an existing empty directory). CMN_E_UNSAFE for any guard. */
enum cmn_err hp__extract_file(const char *zip_path, const char *dest, const struct hp_extract_limits *lim,
                              struct cmn_errbuf *eb);
enum cmn_err hp__extract_mem(const void *p, size_t n, const char *dest, const struct hp_extract_limits *lim,
                             struct cmn_errbuf *eb);

/* ---- HTTP: net.c over a transport (transport_curl.c, or the host's) ---- */
/* Process-wide setup of the default transport (curl_global_init); CMN_OK when there is none. */
enum cmn_err hp__http_global_init(void);
/* The default transport for `c` (libcurl), or a table with perform == NULL in libhotpatch-core. */
void hp__transport_default(struct hp_client *c, hp_transport *out);
/* GET into `body` (capped by its cap). *status receives the HTTP status. */
/* GET into body. When `named` is not NULL it receives the X-HotPatch-Release
 * header of the answer ("" when absent), at most HP__NAMED_MAX - 1 bytes. */
#define HP__NAMED_MAX 65
enum cmn_err hp__http_get(struct hp_client *c, const char *url, struct cmn_buf *body, char *named, long *status,
                          struct cmn_errbuf *eb);
enum cmn_err hp__http_post_json(struct hp_client *c, const char *url, const char *body, size_t n, long *status,
                                struct cmn_errbuf *eb);
/*
 * Download `url` into the file `path`, resuming from its current length with a
 * Range request, hashing everything (prefix included), refusing more than
 * `size` bytes. On success the file holds exactly `size` bytes and `digest`
 * their SHA-256.
 */
enum cmn_err hp__http_download(struct hp_client *c, const char *url, const char *path, uint64_t size,
                               uint8_t digest[CMN_SHA256_BYTES], hp_progress_fn fn, void *ctx, struct cmn_errbuf *eb);
/* Start offset of a "Content-Range: bytes START-END/TOTAL" header line; -2 other header, -1 malformed. */
long hp__content_range_start(const char *p, size_t n);
/* `s` escaped for a query string; caller frees; NULL on ENOMEM. */
char *hp__url_escape(const char *s);

/* ---- root of trust (root.c) ---- */
struct cmn_root;
/* HP_OPT_ROOT: check and keep the embedded root document (NULL forgets it). */
hp_status hp__root_set(struct hp_client *c, const char *doc);
/* At hp_open: trust the newer of the embedded and the cached root; its keys replace the configured ones. */
hp_status hp__root_open(struct hp_client *c);
/* Before a check: walk the root chain forward from storage, cache the newest, refuse an expired one. */
hp_status hp__root_refresh(struct hp_client *c);
/* Open a manifest with the trusted root's manifest keys, or the configured keys when there is no root. */
enum cmn_err hp__open_manifest(struct hp_client *c, const void *doc, size_t len, const struct cmn_manifest_expect *ex,
                               int64_t now, struct cmn_manifest **out, struct cmn_errbuf *eb);
void hp__root_release(struct hp_client *c);

/* ---- reports ---- */
/* Load the queued reports and the kept tickets (a damaged file loses them, nothing else). */
enum cmn_err hp__reports_load(struct hp_client *c, struct cmn_errbuf *eb);
/* Keep the edge's ticket for an offered release (replaces an older one; HP__TICKETS_KEPT at most) and persist. */
enum cmn_err hp__ticket_keep(struct hp_client *c, const char *release_id, const char *ticket);
/* Queue an event (status: downloading|applied|failed|rolled_back) and persist the queue. */
enum cmn_err hp__report(struct hp_client *c, const char *release_id, const char *status, int progress);

#endif
