/*
 * tickets_test.c - forged telemetry cannot halt a release (issue 12 #8),
 * against real parts on loopback: Postgres, hotpatch-publisher and two real
 * hotpatch-edge processes (one with the normal 7-day ticket lifetime, one
 * with 1 second) signing tickets with a key whose PUBLIC half the publisher
 * trusts (HOTPATCH_TICKET_KEYS).
 *
 * One client posts failures for 10,000 invented devices four ways: with no
 * ticket, with garbage, with tickets forged by its own key under the edge's
 * key id, and with one real ticket (its own check through the edge) replayed
 * under every other device id: the release stays active, the stats show the
 * 40,000 failures as unticketed and exactly one ticketed device (the
 * attacker's own). Tickets that expired before the report do not count, nor
 * do tickets for release A presented for release B. Then 20 real devices
 * that checked through the edge report failures with their tickets: the
 * auto-halt fires at the 20th, with the app's threshold (30%, minimum 20).
 */
#include "../../lib/test.h"
#include "pub_itest.h"

#include "common/ticket.h"

#define N_FORGED 10000

static struct it_pub P;
static struct it_world W;

/* A device's check through an edge: the status; on an offer, the release named and the ticket (or ""). */
static long check(struct it_edge *e, const char *device, char rel[64], char ticket[CMN_TICKET_MAX + 1])
{
    char url[512];
    snprintf(url, sizeof(url),
             "http://127.0.0.1:%d/v1/check?app=demo&platform=android&channel=production&binary_version=1.0.0"
             "&device=%s",
             e->port, device);
    struct it_resp r;
    long code = it_http("GET", url, NULL, NULL, NULL, 0, &r);
    it_resp_header(&r, "X-HotPatch-Release", rel, 64);
    it_resp_header(&r, "X-HotPatch-Ticket", ticket, CMN_TICKET_MAX + 1);
    it_resp_free(&r);
    return code;
}

/* Until the edge offers `want` to a probe device; 5 s at most. */
static int wait_offer(struct it_edge *e, const char *want)
{
    char rel[64], t[CMN_TICKET_MAX + 1];
    for (int i = 0; i < 100; i++) {
        if (check(e, "probe", rel, t) == 200 && !strcmp(rel, want))
            return 1;
        usleep(50000);
    }
    return 0;
}

/*
 * Post `n` failure reports for release `rel`, device ids "<prefix><i>", in
 * batches of 1000; ticket_of(i) gives each one's ticket (NULL: none). Returns
 * the number of events the publisher said were ticketed, or -1 on a non-200.
 */
typedef const char *(*ticket_fn)(int i, const char *dev, void *arg);

static long long post_failures(const char *rel, const char *prefix, int n, ticket_fn ticket_of, void *arg)
{
    long long ticketed = 0;
    for (int from = 0; from < n; from += 1000) {
        struct cmn_buf b;
        cmn_buf_init(&b, 16u << 20);
        enum cmn_err rc = cmn_buf_addstr(&b, "{\"events\":[");
        for (int i = from; i < n && i < from + 1000; i++) {
            char dev[64];
            snprintf(dev, sizeof(dev), "%s%d", prefix, i);
            const char *t = ticket_of ? ticket_of(i, dev, arg) : NULL;
            rc |= cmn_buf_addf(&b,
                               "%s{\"device_id\":\"%s\",\"app\":\"demo\",\"platform\":\"android\","
                               "\"channel\":\"production\",\"release_id\":\"%s\",\"status\":\"failed\"%s%s%s}",
                               i == from ? "" : ",", dev, rel, t ? ",\"ticket\":\"" : "", t ? t : "", t ? "\"" : "");
        }
        rc |= cmn_buf_addstr(&b, "]}");
        json_t *o = NULL;
        long st = rc ? 0 : it_call(&P, "POST", "/v1/installations", NULL, b.ptr, &o);
        cmn_buf_release(&b);
        if (st != 200) {
            json_decref(o);
            return -1;
        }
        ticketed += it_jint(o, "ticketed");
        json_decref(o);
    }
    return ticketed;
}

static const char *garbage_ticket(int i, const char *dev, void *arg)
{
    static char t[64];
    if (i % 2)
        snprintf(t, sizeof(t), "t1.%08x.AAAA", (unsigned)i * 2654435761u);
    else
        snprintf(t, sizeof(t), "not-a-ticket-%d", i);
    return t;
}

/* Tickets "signed" by the attacker's own key under the edge's key id: they reach the signature check. */
struct forger {
    struct cmn_key k; /* keyid overwritten with the edge's */
    const char *rel;
    int64_t checked; /* how many reached the signature check (verified here with the edge's public key) */
    struct cmn_key edge_pub;
};

static const char *forged_ticket(int i, const char *dev, void *arg)
{
    static char t[CMN_TICKET_MAX + 1];
    struct forger *f = arg;
    if (cmn_ticket_issue(&f->k, "demo", "android", "production", f->rel, dev, (int64_t)time(NULL) + 3600, t, sizeof(t),
                         NULL))
        t[0] = '\0';
    struct cmn_ticket_claim cl = {"demo", f->rel, dev};
    f->checked += cmn_ticket_verify(t, strlen(t), &f->edge_pub, 1, &cl, (int64_t)time(NULL)) == CMN_E_SIG;
    return t;
}

static const char *same_ticket(int i, const char *dev, void *arg)
{
    return arg;
}

int main(void)
{
    char edge_bin[1024];
    if (!getenv("HP_TEST_PG_URL") || it_edge_bin(edge_bin)) {
        test_skip(1, "needs HP_TEST_PG_URL and a built hotpatch-edge");
        return done_testing();
    }
    if (cmn_crypto_init())
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (it_pub_setup(&P, "tickets", 0)) {
        ok(0, "setup");
        return done_testing();
    }
    /* the edges' ticket key: the secret stays with the edges, the publisher gets the public half */
    struct cmn_key tk;
    struct forger fg;
    memset(&fg, 0, sizeof(fg));
    char keyfile[1100], tkb64[CMN_PK_B64];
    snprintf(keyfile, sizeof(keyfile), "%s/ticket.key", test_tmpdir());
    struct cmn_errbuf eb = {0};
    ok(!cmn_key_generate(&tk) && !cmn_key_save_secret(&tk, keyfile, 1, &eb), "edge ticket key file");
    cmn_key_public_b64(&tk, tkb64);
    struct it_edge e1 = {.port = it_free_port()}, e2 = {.port = it_free_port()};
    char urls[128], tkenv[128];
    snprintf(urls, sizeof(urls), "HOTPATCH_EDGE_URLS=http://127.0.0.1:%d,http://127.0.0.1:%d", e1.port, e2.port);
    snprintf(tkenv, sizeof(tkenv), "HOTPATCH_TICKET_KEYS=%s", tkb64);
    const char *env[] = {urls,
                         tkenv,
                         "HOTPATCH_SYNC_TOKEN=edge-sync-token-for-tests",
                         "HOTPATCH_RATE_IP=100000",
                         "HOTPATCH_RATE_IP_BURST=100000",
                         NULL};
    if (it_pub_start(&P, env) || it_world_setup(&P, "demo", &W)) {
        ok(0, "publisher + org + app + release key");
        it_log_tail(&P);
        return done_testing();
    }
    ok(1, "publisher up, trusting the edge ticket key's public half");
    const char *week[] = {"--ticket-key", keyfile, "--ticket-ttl", "604800", NULL};
    const char *second[] = {"--ticket-key", keyfile, "--ticket-ttl", "1", NULL};
    ok(!it_edge_start(&e1, &P, "week", week), "edge 1 up (tickets for 7 days)");
    ok(!it_edge_start(&e2, &P, "second", second), "edge 2 up (tickets for 1 second)");
    is_int(it_call(&P, "PATCH", "/v1/apps/demo", W.owner, "{\"halt_threshold_pct\":30,\"halt_min_installs\":20}", NULL),
           200, "auto-halt: 30 percent after 20 installs");

    char *A = it_release(&P, &W, "demo", "1.0.0", 4000);
    ok(A != NULL, "release A");
    if (!A)
        goto out;
    ok(wait_offer(&e1, A) && wait_offer(&e2, A), "both edges offer A");

    char rel[64], t[CMN_TICKET_MAX + 1];
    is_int(check(&e1, "attacker", rel, t), 200, "the attacker checks once through the edge");
    ok(t[0] != '\0', "the offer carries a ticket");
    struct cmn_ticket pt;
    ok(cmn_ticket_parse(t, strlen(t), &pt) == CMN_OK && !strcmp(pt.release, A) && !strcmp(pt.device, "attacker") &&
           !strcmp(pt.app, "demo") && !strcmp(pt.platform, "android") && !strcmp(pt.channel, "production") &&
           pt.expires > (int64_t)time(NULL) + 6 * 86400 && pt.expires <= (int64_t)time(NULL) + 7 * 86400 + 5,
       "the ticket binds app, platform, channel, release A, the device and a 7-day expiry");
    char real[CMN_TICKET_MAX + 1];
    snprintf(real, sizeof(real), "%s", t);

    /* ---- forged: 10,000 invented devices, four ways ---- */
    is_int(post_failures(A, "ghost-", N_FORGED, NULL, NULL), 0, "10,000 failures without a ticket: none ticketed");
    is_int(post_failures(A, "junk-", N_FORGED, garbage_ticket, NULL), 0, "10,000 with garbage tickets: none ticketed");
    ok(!cmn_key_generate(&fg.k), "the attacker's own key");
    snprintf(fg.k.keyid, sizeof(fg.k.keyid), "%s", tk.keyid); /* claims the edge's key id */
    fg.rel = A;
    ok(!cmn_key_from_public_b64(tkb64, &fg.edge_pub, NULL), "(the edge's public key, to classify the forgeries)");
    is_int(post_failures(A, "forged-", N_FORGED, forged_ticket, &fg), 0,
           "10,000 with tickets forged under the edge's key id: none ticketed");
    is_int(fg.checked, N_FORGED,
           "every forgery names the right app, release, device and key id: only the signature "
           "tells it apart");
    is_int(post_failures(A, "replay-", N_FORGED, same_ticket, real), 0,
           "10,000 with the attacker's real ticket replayed under other device ids: none ticketed");
    char own[2048];
    snprintf(own, sizeof(own),
             "{\"events\":[{\"device_id\":\"attacker\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\","
             "\"ticket\":\"%s\"}]}",
             A, real);
    json_t *o = NULL;
    is_int(it_call(&P, "POST", "/v1/installations", NULL, own, &o), 200, "the attacker's own device reports");
    is_int(it_jint(o, "ticketed"), 1, "that one report is ticketed");
    json_decref(o);
    is_str(it_release_state(&P, W.owner, A), "active",
           "40,001 failure reports, one ticketed device: release A is NOT halted");
    is_int(it_release_stat(&P, W.owner, A, "failures"), 4 * N_FORGED + 1, "stats: every report is stored and visible");
    is_int(it_release_stat(&P, W.owner, A, "unticketed.failures"), 4 * N_FORGED, "stats: 40,000 flagged unticketed");
    is_int(it_release_stat(&P, W.owner, A, "ticketed.failures"), 1, "stats: one ticketed failure");
    json_t *so = NULL;
    char path[256];
    snprintf(path, sizeof(path), "/v1/releases/%s/stats", A);
    is_int(it_call(&P, "GET", path, W.owner, NULL, &so), 200, "stats readable");
    is_str(it_jstr(so, "stats.auto_halt_counts") ? it_jstr(so, "stats.auto_halt_counts") : "", "ticketed",
           "stats say the auto-halt counts only ticketed reports");
    json_decref(so);

    /* ---- expired: 25 real devices check through edge 2 (1-second tickets) and report after expiry ---- */
    static char exp_t[25][CMN_TICKET_MAX + 1];
    int got = 0;
    for (int i = 0; i < 25; i++) {
        char dev[32];
        snprintf(dev, sizeof(dev), "late-%d", i);
        got += check(&e2, dev, rel, exp_t[i]) == 200 && !strcmp(rel, A) && exp_t[i][0];
    }
    is_int(got, 25, "25 devices got 1-second tickets for A from edge 2");
    sleep(2);
    struct cmn_buf lb;
    cmn_buf_init(&lb, 1u << 20);
    enum cmn_err brc = cmn_buf_addstr(&lb, "{\"events\":[");
    for (int i = 0; i < 25; i++)
        brc |= cmn_buf_addf(&lb,
                            "%s{\"device_id\":\"late-%d\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\","
                            "\"ticket\":\"%s\"}",
                            i ? "," : "", i, A, exp_t[i]);
    brc |= cmn_buf_addstr(&lb, "]}");
    is_int(brc ? 0 : it_call(&P, "POST", "/v1/installations", NULL, lb.ptr, &o), 200, "25 failures, tickets expired");
    is_int(it_jint(o, "ticketed"), 0, "expired tickets do not count");
    json_decref(o);
    cmn_buf_release(&lb);
    is_str(it_release_state(&P, W.owner, A), "active", "A still active");
    is_int(it_release_stat(&P, W.owner, A, "ticketed.failures"), 1, "still one ticketed failure");

    /* ---- 20 real devices take tickets for A; then B is released ---- */
    static char a_t[20][CMN_TICKET_MAX + 1];
    got = 0;
    for (int i = 0; i < 20; i++) {
        char dev[32];
        snprintf(dev, sizeof(dev), "real-%d", i);
        got += check(&e1, dev, rel, a_t[i]) == 200 && !strcmp(rel, A) && a_t[i][0];
    }
    is_int(got, 20, "20 real devices checked through edge 1 and hold tickets for A");
    char *B = it_release(&P, &W, "demo", "1.1.0", 4000);
    ok(B != NULL, "release B");
    if (!B)
        goto out;
    ok(wait_offer(&e1, B), "edge 1 offers B");
    struct cmn_buf bb;
    cmn_buf_init(&bb, 1u << 20);
    brc = cmn_buf_addstr(&bb, "{\"events\":[");
    for (int i = 0; i < 20; i++)
        brc |= cmn_buf_addf(&bb,
                            "%s{\"device_id\":\"real-%d\",\"app\":\"demo\",\"release_id\":\"%s\",\"status\":\"failed\","
                            "\"ticket\":\"%s\"}",
                            i ? "," : "", i, B, a_t[i]);
    brc |= cmn_buf_addstr(&bb, "]}");
    is_int(brc ? 0 : it_call(&P, "POST", "/v1/installations", NULL, bb.ptr, &o), 200,
           "20 failures for B presenting their tickets for A");
    is_int(it_jint(o, "ticketed"), 0, "a ticket for release A does not count for release B");
    json_decref(o);
    cmn_buf_release(&bb);
    is_str(it_release_state(&P, W.owner, B), "active", "B not halted by them");
    is_int(it_release_stat(&P, W.owner, B, "unticketed.failures"), 20, "stored as 20 unticketed failures of B");

    /* ---- the same 20 real devices check again (offered B) and report B's failures with B's tickets ---- */
    static char b_t[20][CMN_TICKET_MAX + 1];
    got = 0;
    for (int i = 0; i < 20; i++) {
        char dev[32];
        snprintf(dev, sizeof(dev), "real-%d", i);
        got += check(&e1, dev, rel, b_t[i]) == 200 && !strcmp(rel, B) && b_t[i][0];
    }
    is_int(got, 20, "20 real devices checked through the edge and were offered B, with tickets");
    int halted_early = 0;
    for (int i = 0; i < 20; i++) {
        static char one[20000];
        snprintf(one, sizeof(one),
                 "{\"events\":[{\"device_id\":\"real-%d\",\"app\":\"demo\",\"release_id\":\"%s\","
                 "\"status\":\"failed\",\"ticket\":\"%s\"}]}",
                 i, B, b_t[i]);
        if (it_call(&P, "POST", "/v1/installations", NULL, one, NULL) != 200)
            break;
        if (i < 19 && strcmp(it_release_state(&P, W.owner, B), "active"))
            halted_early = 1;
    }
    ok(!halted_early, "not halted before the 20th ticketed device (the minimum)");
    is_str(it_release_state(&P, W.owner, B), "halted", "20 real ticketed failing devices halt B");
    is_int(it_release_stat(&P, W.owner, B, "ticketed.failures"), 20, "stats: 20 ticketed failures (each counted once)");
    is_int(it_release_stat(&P, W.owner, B, "failures"), 20, "the earlier unticketed rows were upgraded, not added");
    is_int(it_sql_int(P.dburl, "SELECT count(*) FROM audit_events WHERE action = 'release.halt' AND actor = "
                               "'auto-halt' AND detail->>'counted' = 'ticketed distinct devices'"),
           1, "exactly one auto-halt, saying what it counted");
    is_str(it_release_state(&P, W.owner, A), "active", "A, under 40,000 forged failures, is still active");
    free(B);
out:
    free(A);
    it_edge_stop(&e1);
    it_edge_stop(&e2);
    it_pub_stop(&P);
    cmn_key_clear(&tk);
    cmn_key_clear(&fg.k);
    if (test_failures())
        it_log_tail(&P);
    return done_testing();
}
