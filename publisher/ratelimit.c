/*
 * ratelimit.c - token buckets keyed by name (client IP, API key). A bucket
 * holds up to `burst` tokens and refills at `rate` per second; a request takes
 * one. When the table reaches its entry cap, buckets that have refilled
 * completely (idle clients) are dropped first, so memory stays bounded even
 * under a flood of distinct addresses; if none are idle the new name shares
 * a single overflow bucket rather than growing the table.
 */
#include "common/compat.h"

#include <pthread.h>

#include "common/cohort.h"
#include "pub.h"

#define RL_SLOTS 1024

struct rl_entry {
    struct rl_entry *next;
    double tokens;
    double last;
    char name[48];
};

struct pub_rl {
    pthread_mutex_t mu;
    double rate, burst;
    size_t max_entries, count;
    struct rl_entry *slots[RL_SLOTS];
    struct rl_entry overflow;
};

struct pub_rl *pub_rl_new(double rate, double burst, size_t max_entries)
{
    struct pub_rl *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    pthread_mutex_init(&rl->mu, NULL);
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    rl->max_entries = max_entries ? max_entries : 1;
    rl->overflow.tokens = rl->burst;
    return rl;
}

void pub_rl_free(struct pub_rl *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < RL_SLOTS; i++) {
        struct rl_entry *e = rl->slots[i];
        while (e) {
            struct rl_entry *n = e->next;
            free(e);
            e = n;
        }
    }
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

static void refill(struct pub_rl *rl, struct rl_entry *e, double now)
{
    if (now > e->last) {
        e->tokens += (now - e->last) * rl->rate;
        if (e->tokens > rl->burst)
            e->tokens = rl->burst;
    }
    e->last = now;
}

static void sweep(struct pub_rl *rl, double now)
{
    for (size_t i = 0; i < RL_SLOTS; i++) {
        struct rl_entry **pp = &rl->slots[i];
        while (*pp) {
            struct rl_entry *e = *pp;
            refill(rl, e, now);
            if (e->tokens >= rl->burst) {
                *pp = e->next;
                free(e);
                rl->count--;
            } else {
                pp = &e->next;
            }
        }
    }
}

long pub_rl_take(struct pub_rl *rl, const char *name, double now)
{
    uint32_t h = cmn_fnv1a32(name, strlen(name)) % RL_SLOTS;
    pthread_mutex_lock(&rl->mu);
    struct rl_entry *e = rl->slots[h];
    while (e && strncmp(e->name, name, sizeof(e->name) - 1) != 0)
        e = e->next;
    if (!e) {
        if (rl->count >= rl->max_entries)
            sweep(rl, now);
        if (rl->count < rl->max_entries && (e = calloc(1, sizeof(*e))) != NULL) {
            snprintf(e->name, sizeof(e->name), "%s", name);
            e->tokens = rl->burst;
            e->last = now;
            e->next = rl->slots[h];
            rl->slots[h] = e;
            rl->count++;
        } else {
            e = &rl->overflow;
        }
    }
    refill(rl, e, now);
    long wait = 0;
    if (e->tokens >= 1.0) {
        e->tokens -= 1.0;
    } else {
        double need = (1.0 - e->tokens) / rl->rate;
        wait = (long)need + 1;
    }
    pthread_mutex_unlock(&rl->mu);
    return wait;
}
