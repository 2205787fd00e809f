#include "common/compat.h"

/*
 * report.c - the queue of installation events for the publisher.
 *
 * Events ("downloading", "applied", "failed", "rolled_back") are appended to
 * <data dir>/reports.json, written atomically, so they survive a crash or a
 * long time offline. hp_report_flush() posts them in batches to
 * POST /v1/installations. Each event gets a random event_id when it is queued
 * and keeps it across retries, so a batch that reached the publisher but whose
 * answer was lost is recognised as a duplicate. The queue is capped: when it
 * is full the oldest event is dropped (telemetry must never fill the device).
 *
 * Tickets: when the edge offers a release it sends a signed ticket
 * (X-HotPatch-Ticket); hp_check keeps it per release in tickets.json and
 * every event about that release carries it, so the publisher can count the
 * report toward an auto-halt (docs/security.md "Forged telemetry"). Without
 * an edge there is no ticket and the reports are sent without one.
 */

#include <unistd.h>

#include "hp_int.h"

#define BATCH 100

static enum cmn_err reports_save(struct hp_client *c, struct cmn_errbuf *eb)
{
    json_t *doc = json_pack("{s:O}", "events", c->reports);
    if (!doc)
        return CMN_E_NOMEM;
    char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    if (!s)
        return CMN_E_NOMEM;
    enum cmn_err rc = hp__write_atomic(c->data_dir, "reports.json", s, strlen(s), 1, eb);
    free(s);
    return rc;
}

static enum cmn_err tickets_save(struct hp_client *c)
{
    char *s = json_dumps(c->tickets, JSON_COMPACT);
    if (!s)
        return CMN_E_NOMEM;
    enum cmn_err rc = hp__write_atomic(c->data_dir, "tickets.json", s, strlen(s), 1, NULL);
    free(s);
    return rc;
}

static void tickets_load(struct hp_client *c)
{
    struct cmn_buf b;
    json_decref(c->tickets);
    c->tickets = json_array();
    char *path = hp__path(c->data_dir, "tickets.json");
    if (!path || !c->tickets || hp__read_file(path, 64u << 10, &b, NULL) != CMN_OK) {
        free(path);
        return; /* missing or unreadable: no tickets, the reports go without */
    }
    free(path);
    json_t *doc = json_loadb(b.ptr ? b.ptr : "", b.len, JSON_REJECT_DUPLICATES, NULL);
    cmn_buf_release(&b);
    size_t i;
    json_t *v;
    json_array_foreach(doc, i, v)
    {
        const char *r = json_string_value(json_object_get(v, "release"));
        const char *t = json_string_value(json_object_get(v, "ticket"));
        if (r && t && strlen(t) < HP__TICKET_MAX && json_array_size(c->tickets) < HP__TICKETS_KEPT)
            json_array_append(c->tickets, v);
    }
    json_decref(doc);
}

static const char *ticket_for(const struct hp_client *c, const char *release_id)
{
    size_t i;
    json_t *v;
    json_array_foreach(c->tickets, i, v)
    {
        const char *r = json_string_value(json_object_get(v, "release"));
        if (r && strcmp(r, release_id) == 0)
            return json_string_value(json_object_get(v, "ticket"));
    }
    return NULL;
}

enum cmn_err hp__ticket_keep(struct hp_client *c, const char *release_id, const char *ticket)
{
    if (!c->tickets && !(c->tickets = json_array()))
        return CMN_E_NOMEM;
    size_t i;
    json_t *v;
    json_array_foreach(c->tickets, i, v)
    {
        const char *r = json_string_value(json_object_get(v, "release"));
        if (r && strcmp(r, release_id) == 0) {
            json_array_remove(c->tickets, i);
            break;
        }
    }
    while (json_array_size(c->tickets) >= HP__TICKETS_KEPT)
        json_array_remove(c->tickets, 0);
    if (json_array_append_new(c->tickets, json_pack("{s:s,s:s}", "release", release_id, "ticket", ticket)) != 0)
        return CMN_E_NOMEM;
    return tickets_save(c);
}

enum cmn_err hp__reports_load(struct hp_client *c, struct cmn_errbuf *eb)
{
    tickets_load(c);
    struct cmn_buf b;
    json_error_t je;
    json_decref(c->reports);
    c->reports = json_array();
    if (!c->reports)
        return CMN_E_NOMEM;
    char *path = hp__path(c->data_dir, "reports.json");
    if (!path)
        return CMN_E_NOMEM;
    enum cmn_err rc = hp__read_file(path, HP_REPORTS_MAX_BYTES, &b, NULL);
    free(path);
    if (rc == CMN_E_NOMEM)
        return rc;
    if (rc)
        return CMN_OK; /* missing or unreadable: start with an empty queue */
    json_t *doc = json_loadb(b.ptr ? b.ptr : "", b.len, JSON_REJECT_DUPLICATES, &je);
    cmn_buf_release(&b);
    json_t *ev = json_object_get(doc, "events");
    if (json_is_array(ev)) {
        size_t i;
        json_t *v;
        json_array_foreach(ev, i, v)
        {
            /* Keep only well-formed events; a damaged queue loses telemetry, nothing else. */
            if (json_is_object(v) && json_is_string(json_object_get(v, "event_id")) &&
                json_array_size(c->reports) < HP_MAX_REPORTS)
                if (json_array_append(c->reports, v) != 0) {
                    json_decref(doc);
                    return CMN_E_NOMEM;
                }
        }
    }
    json_decref(doc);
    (void)eb;
    return CMN_OK;
}

enum cmn_err hp__report(struct hp_client *c, const char *release_id, const char *status, int progress)
{
    uint8_t rnd[16];
    char id[33];
    cmn_random(rnd, sizeof rnd);
    cmn_hex_encode(rnd, sizeof rnd, id);
    json_t *ev =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:I}", "event_id", id, "device_id", c->device_id,
                  "app", c->app, "platform", c->platform, "channel", c->channel, "release_id", release_id, "status",
                  status, "progress", progress, "binary_version", c->binary_version, "ts", (json_int_t)time(NULL));
    if (!ev)
        return CMN_E_NOMEM;
    const char *tk = ticket_for(c, release_id);
    if (tk && json_object_set_new(ev, "ticket", json_string(tk)) != 0) {
        json_decref(ev);
        return CMN_E_NOMEM;
    }
    while (json_array_size(c->reports) >= HP_MAX_REPORTS)
        json_array_remove(c->reports, 0);
    if (json_array_append_new(c->reports, ev) != 0)
        return CMN_E_NOMEM;
    return reports_save(c, NULL);
}

size_t hp_reports_queued(const hp_client *c)
{
    return c && c->reports ? json_array_size(c->reports) : 0;
}

hp_status hp_report_flush(hp_client *c)
{
    struct cmn_errbuf eb = {{0}};
    hp_status s = hp__enter_open(c, 1);
    if (s)
        return s;
    if (!c->publisher_url || json_array_size(c->reports) == 0)
        return HP_OK;
    char *url = NULL;
    size_t ul = strlen(c->publisher_url) + sizeof "/v1/installations";
    url = malloc(ul);
    if (!url)
        return hp__failf(c, HP_E_NOMEM, "out of memory");
    snprintf(url, ul, "%s/v1/installations", c->publisher_url);
    while (json_array_size(c->reports) > 0) {
        size_t n = json_array_size(c->reports);
        if (n > BATCH)
            n = BATCH;
        json_t *batch = json_array();
        for (size_t i = 0; batch && i < n; i++)
            if (json_array_append(batch, json_array_get(c->reports, i)) != 0) {
                json_decref(batch);
                batch = NULL;
            }
        json_t *doc = batch ? json_pack("{s:o}", "events", batch) : NULL;
        char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
        if (!body) {
            s = hp__failf(c, HP_E_NOMEM, "out of memory");
            break;
        }
        long status = 0;
        enum cmn_err rc = CMN_E_NET;
        for (int attempt = 0; attempt < 3; attempt++) {
            if (attempt)
                usleep(200000u << attempt); /* 400 ms, 800 ms */
            memset(&eb, 0, sizeof eb);
            status = 0;
            rc = hp__http_post_json(c, url, body, strlen(body), &status, &eb);
            if (rc == CMN_E_CANCELLED)
                break;
            if (!rc && status >= 200 && status < 300)
                break;
            /* A 4xx other than 408/429 will not get better by retrying. */
            if (!rc && status >= 400 && status < 500 && status != 408 && status != 429)
                break;
        }
        free(body);
        if (rc) {
            s = hp__fail(c, rc, &eb);
            break;
        }
        if (status >= 200 && status < 300) {
            for (size_t i = 0; i < n; i++)
                json_array_remove(c->reports, 0);
        } else if (status >= 400 && status < 500 && status != 408 && status != 429) {
            /* Refused for good: drop the batch so it cannot block the queue forever. */
            for (size_t i = 0; i < n; i++)
                json_array_remove(c->reports, 0);
            s = hp__failf(c, HP_E_HTTP, "publisher refused the reports: HTTP %ld", status);
        } else {
            s = hp__failf(c, HP_E_HTTP, "publisher answered HTTP %ld to the reports", status);
            break;
        }
    }
    enum cmn_err src = reports_save(c, &eb);
    if (src && !s)
        s = hp__fail(c, src, &eb);
    free(url);
    return s;
}
