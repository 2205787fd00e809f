/*
 * core.c - the server context: storage handles, the manifest keys, the
 * HOTPATCH_FAULT test hook and the notify hook. Library code reaches the
 * program only through this context (see the layering note in pub_core.h).
 */
#include "common/compat.h"

#include <unistd.h>

#include "common/log.h"
#include "pub_core.h"

void pub_srv_init(struct pub_srv *s, struct pub_config *cfg, const char *fault)
{
    s->cfg = cfg;
    s->started = time(NULL);
    s->fault = fault && *fault ? fault : NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->ig_mu, NULL);
    pthread_cond_init(&s->ig_cv, NULL);
    s->ig_gather_ns = PUB_IG_GATHER_NS;
}

enum cmn_err pub_srv_load_keys(struct pub_srv *s, struct cmn_errbuf *eb)
{
    enum cmn_err rc = cmn_key_load_secret(s->cfg->manifest_key, &s->mkeys[0], eb);
    s->n_mkeys = 1;
    if (!rc && s->cfg->manifest_key_next && *s->cfg->manifest_key_next) {
        rc = cmn_key_load_secret(s->cfg->manifest_key_next, &s->mkeys[1], eb);
        if (!rc && strcmp(s->mkeys[0].keyid, s->mkeys[1].keyid) == 0)
            rc = cmn_errf(eb, CMN_E_INVAL, "HOTPATCH_MANIFEST_KEY_NEXT is the same key as HOTPATCH_MANIFEST_KEY");
        s->n_mkeys = 2;
    }
    s->n_tkeys = 0;
    const char *tk = s->cfg->ticket_keys;
    while (!rc && tk && *tk) {
        size_t n = strcspn(tk, ", ");
        if (n) {
            char b64[CMN_PK_B64 + 8];
            if (s->n_tkeys == PUB_MAX_TICKET_KEYS)
                rc = cmn_errf(eb, CMN_E_INVAL, "HOTPATCH_TICKET_KEYS: at most %d keys", PUB_MAX_TICKET_KEYS);
            else if (n >= sizeof(b64))
                rc = cmn_errf(eb, CMN_E_INVAL, "HOTPATCH_TICKET_KEYS: '%.*s' is not a base64 public key",
                              (int)(n > 60 ? 60 : n), tk);
            if (!rc) {
                memcpy(b64, tk, n);
                b64[n] = '\0';
                struct cmn_errbuf keb = {0};
                enum cmn_err krc = cmn_key_from_public_b64(b64, &s->tkeys[s->n_tkeys], &keb);
                if (krc)
                    rc = cmn_errf(eb, krc, "HOTPATCH_TICKET_KEYS: key '%s': %s", b64, cmn_errmsg(&keb, krc));
                else
                    s->n_tkeys++;
            }
        }
        tk += n;
        tk += strspn(tk, ", ");
    }
    if (rc) {
        cmn_key_clear(&s->mkeys[0]);
        cmn_key_clear(&s->mkeys[1]);
        s->n_tkeys = 0;
    }
    return rc;
}

void pub_srv_release(struct pub_srv *s)
{
    pub_db_free(s->db);
    s->db = NULL;
    pub_rl_free(s->rl_ip);
    pub_rl_free(s->rl_key);
    s->rl_ip = s->rl_key = NULL;
    cmn_key_clear(&s->mkeys[0]);
    cmn_key_clear(&s->mkeys[1]);
    pthread_cond_destroy(&s->ig_cv);
    pthread_mutex_destroy(&s->ig_mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

enum cmn_err pub_storage_open(struct pub_srv *s, struct cmn_storage **out, struct cmn_errbuf *eb)
{
    struct cmn_storage_opts o = {0};
    o.endpoint = s->cfg->s3_endpoint;
    o.region = s->cfg->s3_region;
    return cmn_storage_open(s->cfg->storage, &o, out, eb);
}

void pub_fault(struct pub_srv *s, const char *point)
{
    if (s->fault && !strcmp(s->fault, point)) {
        cmn_error("HOTPATCH_FAULT: exiting at '%s' (test hook)", point);
        _exit(99);
    }
    /* "<point>:hang": the calling thread stops there for good, so a test can SIGKILL the process at that point */
    size_t n = strlen(point);
    if (s->fault && !strncmp(s->fault, point, n) && !strcmp(s->fault + n, ":hang")) {
        cmn_error("HOTPATCH_FAULT: hanging at '%s' (test hook)", point);
        for (;;)
            pause();
    }
}

void pub_srv_set_notify(struct pub_srv *s, pub_notify_fn fn, void *arg)
{
    s->notify = fn;
    s->notify_arg = arg;
}

void pub_notify(struct pub_srv *s)
{
    if (s->notify)
        s->notify(s, s->notify_arg);
}
