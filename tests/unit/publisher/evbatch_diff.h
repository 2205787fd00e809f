/*
 * evbatch_diff.h - the differential check of the two installation batch
 * decoders (publisher/jsonreq.c): whatever the fast path accepts, the strict
 * jansson path must accept too, with the same events, fields and count of
 * malformed entries. Shared by jsonreq_test.c and the fuzz target
 * tests/fuzz/pub_evbatch.c.
 */
#ifndef HP_EVBATCH_DIFF_H
#define HP_EVBATCH_DIFF_H

#include "pub.h"

static int evdiff_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* 1: the fast path accepted and agrees; 0: it declined (the jansson path decides); -1: they disagree. */
static int evbatch_diff(const char *p, size_t n, size_t cap, size_t max_events)
{
    struct pub_batch f, j;
    if (pub_batch_fast_installs(p, n, cap, max_events, &f) != 0) {
        if (f.ev || f.arena || f.n || f.rejected)
            return -1; /* a decline leaves nothing behind */
        return 0;
    }
    int same = pub_batch_parse_installs_json(p, n, cap, max_events, &j, NULL) == CMN_OK && f.n == j.n &&
               f.rejected == j.rejected && f.doc == NULL;
    for (size_t i = 0; same && i < f.n; i++) {
        const struct pub_install_ev *x = &f.ev[i], *y = &j.ev[i];
        same = evdiff_str(x->event_id, y->event_id) && evdiff_str(x->device_id, y->device_id) &&
               evdiff_str(x->app, y->app) && evdiff_str(x->platform, y->platform) &&
               evdiff_str(x->channel, y->channel) && evdiff_str(x->release_id, y->release_id) &&
               evdiff_str(x->status, y->status) && evdiff_str(x->binary_version, y->binary_version) &&
               x->progress == y->progress && x->ts == y->ts && x->ticket_len == y->ticket_len &&
               (!x->ticket) == (!y->ticket) && (!x->ticket || !memcmp(x->ticket, y->ticket, x->ticket_len));
    }
    pub_batch_release(&f);
    if (j.doc || j.ev)
        pub_batch_release(&j);
    return same ? 1 : -1;
}

#endif
