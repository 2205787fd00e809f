/*
 * main.c - hotpatch-publisher: command line, start-up and shutdown.
 *
 * Start-up order: settings (defaults < config file < environment < flags)
 * -> refuse weak or missing settings with one line -> manifest key -> apply
 * migrations (advisory-locked, so two publishers starting together do not
 * race) -> connection pool -> reconcile every channel's stored manifest
 * with the database (repairs a crash mid-release) -> background jobs ->
 * HTTP. SIGTERM / SIGINT stop it cleanly.
 *
 * This file only wires the layers (see pub_core.h): it builds the context,
 * installs jobs.c's edge notifier as the notify hook and hands routes.c's
 * table to the HTTP server. Nothing else calls into it.
 */
#include "common/compat.h"

#include <curl/curl.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/str.h"
#include "hotpatch_version.h"
#include "pub.h"
#include "pub_handlers.h"

static void usage(FILE *f)
{
    fputs("usage: hotpatch-publisher [options] [serve]\n"
          "       hotpatch-publisher [options] migrate\n"
          "       hotpatch-publisher keygen-manifest --out FILE [--force]\n"
          "       hotpatch-publisher [options] check-config\n"
          "\n"
          "The HotPatch admin API: releases, keys, telemetry, signed channel manifests.\n"
          "\n"
          "options:\n"
          "  --config FILE     settings file (lines 'key = value'; see docs/publisher.md)\n"
          "  --listen ADDR     host:port to listen on (HOTPATCH_LISTEN, default 127.0.0.1:8080)\n"
          "  --storage URL     file:///dir or s3://bucket/prefix (HOTPATCH_STORAGE)\n"
          "  --database URL    libpq connection string (DATABASE_URL)\n"
          "  --manifest-key F  manifest secret key file (HOTPATCH_MANIFEST_KEY)\n"
          "  --log-level L     debug|info|warn|error (HOTPATCH_LOG_LEVEL)\n"
          "  --json            JSON output (logs, and the result of migrate / keygen-manifest)\n"
          "  --help, --version\n"
          "\n"
          "required: DATABASE_URL, HOTPATCH_STORAGE, JWT_SECRET (>= 32 bytes), HOTPATCH_MANIFEST_KEY.\n"
          "Test hook: HOTPATCH_FAULT=after_bundle_upload|after_db_commit|after_manifest_put makes the\n"
          "process exit abruptly at that point of a release (crash-safety tests only).\n",
          f);
}

static int die(int json, const char *msg)
{
    if (json) {
        char esc[1024];
        cmn_json_escape_to(esc, sizeof(esc), 0, msg);
        printf("{\"ok\":false,\"error\":\"%s\"}\n", esc);
    }
    fprintf(stderr, "hotpatch-publisher: %s\n", msg);
    return 1;
}

static int cmd_keygen(const char *out, int force, int json)
{
    if (!out) {
        fprintf(stderr, "hotpatch-publisher: keygen-manifest needs --out FILE\n");
        return 2;
    }
    struct cmn_key k;
    struct cmn_errbuf eb = {0};
    if (cmn_crypto_init())
        return die(json, "cannot initialise libsodium");
    enum cmn_err rc = cmn_key_generate(&k);
    if (!rc)
        rc = cmn_key_save_secret(&k, out, force, &eb);
    if (rc) {
        cmn_key_clear(&k);
        return die(json, cmn_errmsg(&eb, rc));
    }
    char pk[CMN_PK_B64];
    cmn_key_public_b64(&k, pk);
    if (json) {
        char esc[2048];
        cmn_json_escape_to(esc, sizeof(esc), 0, out);
        printf("{\"ok\":true,\"path\":\"%s\",\"keyid\":\"%s\",\"public_key\":\"%s\"}\n", esc, k.keyid, pk);
    } else
        printf("manifest key written to %s\nkeyid:      %s\npublic key: %s\n(give the public key to devices and "
               "edges as a trusted manifest key)\n",
               out, k.keyid, pk);
    cmn_key_clear(&k);
    return 0;
}

int main(int argc, char **argv)
{
    const char *config = NULL, *cmd = "serve", *out = NULL;
    const char *f_listen = NULL, *f_storage = NULL, *f_db = NULL, *f_mkey = NULL, *f_level = NULL;
    int json = 0, force = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("hotpatch-publisher %s\n", HP_VERSION_STRING);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        } else if (!strcmp(a, "--force")) {
            force = 1;
            continue;
        } else if (!strcmp(a, "--config")) {
            dst = &config;
        } else if (!strcmp(a, "--out")) {
            dst = &out;
        } else if (!strcmp(a, "--listen")) {
            dst = &f_listen;
        } else if (!strcmp(a, "--storage")) {
            dst = &f_storage;
        } else if (!strcmp(a, "--database")) {
            dst = &f_db;
        } else if (!strcmp(a, "--manifest-key")) {
            dst = &f_mkey;
        } else if (!strcmp(a, "--log-level")) {
            dst = &f_level;
        } else if (a[0] != '-' && (!strcmp(a, "serve") || !strcmp(a, "migrate") || !strcmp(a, "keygen-manifest") ||
                                   !strcmp(a, "check-config"))) {
            cmd = a;
            continue;
        } else {
            fprintf(stderr, "hotpatch-publisher: unknown argument '%s' (try --help)\n", a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "hotpatch-publisher: %s needs a value\n", a);
            return 2;
        }
        *dst = argv[++i];
    }
    if (!strcmp(cmd, "keygen-manifest"))
        return cmd_keygen(out, force, json);

    struct pub_config cfg;
    struct cmn_errbuf eb = {0};
    pub_config_init(&cfg);
    enum cmn_err rc = CMN_OK;
    if (config)
        rc = pub_config_load_file(&cfg, config, &eb);
    if (!rc)
        rc = pub_config_from_env(&cfg, &eb);
    if (!rc && f_listen)
        rc = pub_config_set(&cfg, "listen", f_listen, &eb);
    if (!rc && f_storage)
        rc = pub_config_set(&cfg, "storage", f_storage, &eb);
    if (!rc && f_db)
        rc = pub_config_set(&cfg, "database_url", f_db, &eb);
    if (!rc && f_mkey)
        rc = pub_config_set(&cfg, "manifest_key", f_mkey, &eb);
    if (!rc && f_level)
        rc = pub_config_set(&cfg, "log_level", f_level, &eb);
    if (rc) {
        pub_config_release(&cfg);
        return die(json, cmn_errmsg(&eb, rc));
    }
    cmn_log_set_component("publisher");
    if (json || cfg.log_json)
        cmn_log_set_json(1);
    if (cfg.log_level) {
        int lvl = cmn_log_level_parse(cfg.log_level);
        if (lvl < 0) {
            pub_config_release(&cfg);
            return die(json, "bad log_level (want debug, info, warn or error)");
        }
        cmn_log_set_level((enum cmn_log_level)lvl);
    }
    if (!strcmp(cmd, "migrate")) {
        if (!cfg.database_url) {
            pub_config_release(&cfg);
            return die(json, "DATABASE_URL is not set");
        }
        PGconn *pg = PQconnectdb(cfg.database_url);
        int applied = 0;
        if (PQstatus(pg) != CONNECTION_OK) {
            cmn_errf(&eb, CMN_E_DB, "cannot connect to the database: %.*s", (int)strcspn(PQerrorMessage(pg), "\n"),
                     PQerrorMessage(pg));
            rc = CMN_E_DB;
        } else {
            rc = pub_db_migrate(pg, &applied, &eb);
        }
        PQfinish(pg);
        pub_config_release(&cfg);
        if (rc)
            return die(json, cmn_errmsg(&eb, rc));
        if (json)
            printf("{\"ok\":true,\"applied\":%d}\n", applied);
        else
            printf("%d migration(s) applied\n", applied);
        return 0;
    }
    rc = pub_config_check(&cfg, &eb);
    if (rc) {
        pub_config_release(&cfg);
        return die(json, cmn_errmsg(&eb, rc));
    }
    if (cmn_crypto_init()) {
        pub_config_release(&cfg);
        return die(json, "cannot initialise libsodium");
    }
#ifdef M_TRIM_THRESHOLD
    /*
     * A telemetry batch parses into thousands of small allocations (jansson)
     * on a request thread. glibc's default trims a thread arena back as soon
     * as they are freed, and the next batch faults the same pages in again:
     * half of the publisher's CPU per batch in make bench. Keep up to 32 MB
     * of freed heap per arena (fixed thresholds; bodies up to 8 MB come from
     * the heap, not from mmap).
     */
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
#endif
    struct pub_srv *s = calloc(1, sizeof(*s));
    if (!s)
        return die(json, "out of memory");
    pub_srv_init(s, &cfg, getenv("HOTPATCH_FAULT"));
    rc = pub_srv_load_keys(s, &eb);
    if (rc) {
        char msg[400];
        snprintf(msg, sizeof(msg), "manifest key: %s", cmn_errmsg(&eb, rc));
        pub_config_release(&cfg);
        return die(json, msg);
    }
    struct cmn_storage *st = NULL;
    rc = pub_storage_open(s, &st, &eb);
    cmn_storage_free(st);
    if (rc) {
        char msg[400];
        snprintf(msg, sizeof(msg), "storage: %s", cmn_errmsg(&eb, rc));
        return die(json, msg);
    }
    if (!strcmp(cmd, "check-config")) {
        printf(json ? "{\"ok\":true}\n" : "configuration ok\n");
        return 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);

    /* migrations on a dedicated connection, then the pool (statements are prepared against the new schema) */
    PGconn *pg = PQconnectdb(cfg.database_url);
    if (PQstatus(pg) != CONNECTION_OK) {
        char msg[400];
        snprintf(msg, sizeof(msg), "cannot connect to the database: %.*s", (int)strcspn(PQerrorMessage(pg), "\n"),
                 PQerrorMessage(pg));
        PQfinish(pg);
        return die(json, msg);
    }
    rc = pub_db_migrate(pg, NULL, &eb);
    PQfinish(pg);
    if (rc)
        return die(json, cmn_errmsg(&eb, rc));
    rc = pub_db_open(cfg.database_url, (int)cfg.db_pool, cfg.db_wait * 1000, &s->db, &eb);
    if (rc)
        return die(json, cmn_errmsg(&eb, rc));
    s->rl_ip = pub_rl_new((double)cfg.rate_ip, (double)cfg.rate_ip_burst, 100000);
    s->rl_key = pub_rl_new((double)cfg.rate_key, (double)cfg.rate_key_burst, 100000);
    if (!s->rl_ip || !s->rl_key)
        return die(json, "out of memory");

    /* block the stop signals in every thread; main waits for them with sigwait */
    sigset_t stopset;
    sigemptyset(&stopset);
    sigaddset(&stopset, SIGTERM);
    sigaddset(&stopset, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stopset, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* repair whatever a previous run left half-done before taking requests */
    pub_spool_cleanup(pub_spool_dir(s));
    pub_srv_set_notify(s, pub_manifest_changed, NULL);
    pub_reconcile(s, 1);
    rc = pub_jobs_start(s);
    if (rc)
        return die(json, "cannot start background jobs");
    struct pub_http *http = NULL;
    rc = pub_http_start(s, &pub_router, &http, &eb);
    if (rc) {
        pub_jobs_stop(s);
        return die(json, cmn_errmsg(&eb, rc));
    }
    cmn_info("listening on http://%s (port %d), storage %s, key %s%s%s", cfg.listen, pub_http_port(http), cfg.storage,
             s->mkeys[0].keyid, s->n_mkeys > 1 ? ", co-signing with " : "", s->n_mkeys > 1 ? s->mkeys[1].keyid : "");
    int sig = 0;
    sigwait(&stopset, &sig);
    cmn_info("signal %d: shutting down", sig);
    pub_http_stop(http);
    pub_jobs_stop(s);
    pub_srv_release(s);
    pub_config_release(&cfg);
    free(s);
    curl_global_cleanup();
    return 0;
}
