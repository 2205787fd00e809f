/*
 * Unit tests for publisher/jsonreq.c: ids, strict admin JSON bodies, typed
 * getters, release metadata (every required field, formats, percent), and
 * telemetry batch decoding (bad entries skipped and counted, caps).
 */
#include "common/compat.h"

#include "../../lib/test.h"
#include "pub.h"
#include "evbatch_diff.h"

#define SHA "aa5e5ec1d3d4b5d0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0"

static enum cmn_err meta(const char *text, struct pub_relmeta *m, struct cmn_errbuf *eb)
{
    memset(eb, 0, sizeof(*eb));
    char *g = test_guard_alloc(text, strlen(text));
    enum cmn_err rc = pub_relmeta_parse(g, strlen(text), m, eb);
    test_guard_free(g);
    return rc;
}

int main(void)
{
    ok(pub_valid_id("demo") && pub_valid_id("a.b_c-9") && pub_valid_id("x"), "valid ids");
    ok(!pub_valid_id("") && !pub_valid_id(NULL) && !pub_valid_id("a/b") && !pub_valid_id("..") &&
           !pub_valid_id(".hidden") && !pub_valid_id("a b") && !pub_valid_id("é"),
       "invalid ids");
    char id65[66];
    memset(id65, 'a', 65);
    id65[65] = '\0';
    ok(!pub_valid_id(id65), "65 characters refused");
    id65[64] = '\0';
    ok(pub_valid_id(id65), "64 characters accepted");

    struct cmn_errbuf eb = {0};
    json_t *o = NULL;
    is_int(pub_json_body("{\"a\":1}", 7, 100, &o, &eb), CMN_OK, "object body");
    long long v = 5;
    const char *s = "x";
    int b = 0;
    is_int(pub_jint(o, "a", 1, 0, 10, &v, &eb), CMN_OK, "integer field");
    is_int(v, 1, "value 1");
    is_int(pub_jint(o, "a", 1, 2, 10, &v, &eb), CMN_E_INVAL, "out of range");
    is_int(pub_jstr(o, "a", 1, 10, &s, &eb), CMN_E_INVAL, "wrong type for a string");
    is_int(pub_jstr(o, "zz", 0, 10, &s, &eb), CMN_OK, "optional string absent");
    ok(s == NULL, "absent -> NULL");
    is_int(pub_jbool(o, "zz", 1, &b, &eb), CMN_E_INVAL, "required bool missing");
    static const char *const only_b[] = {"b", NULL};
    is_int(pub_jkeys(o, only_b, &eb), CMN_E_INVAL, "unknown key refused");
    json_decref(o);
    is_int(pub_json_body("[1]", 3, 100, &o, &eb), CMN_E_PARSE, "array body refused");
    is_int(pub_json_body("", 0, 100, &o, &eb), CMN_E_PARSE, "empty body refused");
    is_int(pub_json_body("{\"a\":1,\"a\":2}", 13, 100, &o, &eb), CMN_E_PARSE, "duplicate keys refused");
    is_int(pub_json_body("{\"a\":1.5}", 9, 100, &o, &eb), CMN_E_PARSE, "float refused");
    is_int(pub_json_body("{\"a\":\"xxxxxxxxxxxx\"}", 20, 10, &o, &eb), CMN_E_TOOBIG, "over the cap");

    struct pub_relmeta m;
    const char *good =
        "{\"app\":\"demo\",\"platform\":\"android\",\"channel\":\"production\",\"version\":\"1.2.0\","
        "\"target_binary\":\">=1.2.0 <1.3.0\",\"mandatory\":true,\"percent\":25,\"notes\":\"n\","
        "\"sha256\":\"" SHA "\",\"size\":12345,\"bundle_sig\":\"c2ln\",\"bundle_keyid\":\"0011223344556677\"}";
    is_int(meta(good, &m, &eb), CMN_OK, "good metadata (%s)", eb.msg);
    is_str(m.app, "demo", "app");
    is_int(m.rollout_bp, 2500, "percent 25 -> 2500 bp");
    is_int(m.mandatory, 1, "mandatory");
    is_int(m.size, 12345, "size");
    pub_relmeta_release(&m);
    const char *minimal =
        "{\"app\":\"demo\",\"platform\":\"ios\",\"channel\":\"beta\",\"version\":\"2\","
        "\"sha256\":\"" SHA "\",\"size\":1,\"bundle_sig\":\"c2ln\",\"bundle_keyid\":\"0011223344556677\"}";
    is_int(meta(minimal, &m, &eb), CMN_OK, "minimal metadata");
    is_int(m.rollout_bp, 10000, "default rollout 100%%");
    is_str(m.target_binary, "*", "default target_binary '*'");
    ok(m.codepush_hash == NULL, "no codepush_hash: NULL (SPEC.md section 16, optional)");
    ok(!m.content_sha256 && !m.content_sig, "no content digest unless sent");
    pub_relmeta_release(&m);
    {
        /* codepush_hash: optional, 64 lower-case hex, nothing else */
        const char *tail = ",\"bundle_keyid\":\"0011223344556677\"}";
        const char *cut = strstr(minimal, tail);
        char buf[1024];
        snprintf(buf, sizeof(buf), "%.*s,\"codepush_hash\":\"%s\"%s", (int)(cut - minimal), minimal, SHA, tail);
        is_int(meta(buf, &m, &eb), CMN_OK, "metadata with a codepush_hash (%s)", eb.msg);
        is_str(m.codepush_hash, SHA, "codepush_hash kept");
        pub_relmeta_release(&m);
        const char *bad[] = {
            "\"AA5E5EC1D3D4B5D0D0E0F0A0B0C0D0E0F0A0B0C0D0E0F0A0B0C0D0E0F0A0B0C0\"", "\"aa5e\"", "\"" SHA "0\"",
            "\"ga5e5ec1d3d4b5d0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0\"", "64",       "[]"};
        snprintf(buf, sizeof(buf), "%.*s,\"codepush_hash\":null%s", (int)(cut - minimal), minimal, tail);
        is_int(meta(buf, &m, &eb), CMN_OK, "codepush_hash null: absent, like every optional field");
        ok(m.codepush_hash == NULL, "... NULL");
        pub_relmeta_release(&m);
        for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
            snprintf(buf, sizeof(buf), "%.*s,\"codepush_hash\":%s%s", (int)(cut - minimal), minimal, bad[i], tail);
            enum cmn_err rc = meta(buf, &m, &eb);
            ok(rc != CMN_OK && strstr(eb.msg, "codepush_hash"), "codepush_hash %s refused (%s)", bad[i], eb.msg);
        }
    }
    /* SPEC section 14: the content digest and its release-key signature, together or not at all */
    const char *content =
        "{\"app\":\"demo\",\"platform\":\"ios\",\"channel\":\"beta\",\"version\":\"2\","
        "\"sha256\":\"" SHA "\",\"size\":1,\"bundle_sig\":\"c2ln\",\"bundle_keyid\":\"0011223344556677\","
        "\"content_sha256\":\"" SHA "\",\"content_sig\":\"c2ln\"}";
    is_int(meta(content, &m, &eb), CMN_OK, "metadata with a content digest");
    ok(m.content_sha256 && !strcmp(m.content_sha256, SHA) && m.content_sig && !strcmp(m.content_sig, "c2ln"),
       "content_sha256 and content_sig decoded");
    pub_relmeta_release(&m);
    struct {
        const char *from, *to, *why;
    } cmuts[] = {
        {",\"content_sig\":\"c2ln\"", "", "content_sha256 without content_sig"},
        {"\"content_sha256\":\"" SHA "\",", "", "content_sig without content_sha256"},
        {"\"content_sha256\":\"" SHA "\"", "\"content_sha256\":\"abc\"", "short content_sha256"},
        {"\"content_sha256\":\"" SHA "\"",
         "\"content_sha256\":\"AA5E5EC1D3D4B5D0D0E0F0A0B0C0D0E0F0A0B0C0D0E0F0A0B0C0D0E0F0A0B0C0\"",
         "upper-case content_sha256"},
        {"\"content_sig\":\"c2ln\"", "\"content_sig\":7", "content_sig as a number"},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(cmuts); i++) {
        char buf[1024];
        const char *p = strstr(content, cmuts[i].from);
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - content), content, cmuts[i].to, p + strlen(cmuts[i].from));
        is_int(meta(buf, &m, &eb), CMN_E_INVAL, "refused: %s (%s)", cmuts[i].why, eb.msg);
    }
    struct {
        const char *from, *to, *why;
    } muts[] = {
        {"\"app\":\"demo\"", "\"app\":\"../x\"", "app with a slash"},
        {"\"version\":\"1.2.0\"", "\"version\":\"\"", "empty version"},
        {"\"sha256\":\"" SHA "\"", "\"sha256\":\"AA\"", "short sha256"},
        {"\"sha256\":\"" SHA "\"",
         "\"sha256\":\""
         "AA5E5EC1D3D4B5D0D0E0F0A0B0C0D0E0F0A0B0C0D0E0F0A0B0C0D0E0F0A0B0C0"
         "\"",
         "upper-case sha256"},
        {"\"size\":12345", "\"size\":-1", "negative size"},
        {"\"size\":12345", "\"size\":0", "empty bundle"},
        {"\"size\":12345", "\"size\":\"12345\"", "size as a string"},
        {"\"percent\":25", "\"percent\":101", "percent over 100"},
        {"\"bundle_keyid\":\"0011223344556677\"", "\"bundle_keyid\":\"00112233\"", "short keyid"},
        {"\"target_binary\":\">=1.2.0 <1.3.0\"", "\"target_binary\":\">>1\"", "bad range"},
        {"\"mandatory\":true", "\"mandatory\":1", "mandatory as a number"},
        {"\"notes\":\"n\"", "\"colour\":\"n\"", "unknown field"},
        {"\"app\":\"demo\",", "", "missing app"},
    };
    for (size_t i = 0; i < CMN_ARRAY_SIZE(muts); i++) {
        char buf[1024];
        const char *p = strstr(good, muts[i].from);
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - good), good, muts[i].to, p + strlen(muts[i].from));
        enum cmn_err rc = meta(buf, &m, &eb);
        ok(rc != CMN_OK && eb.msg[0], "refused: %s (%s)", muts[i].why, eb.msg);
    }

    struct pub_batch bt;
    const char *ev =
        "{\"events\":[{\"device_id\":\"d\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"applied\"},"
        "{\"device_id\":\"d\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"downloading\",\"progress\":5,"
        "\"ts\":1790000000},"
        "{\"device_id\":\"\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"applied\"},"
        "{\"device_id\":\"d\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"nope\"},"
        "{\"device_id\":\"d\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"failed\",\"ts\":5},"
        "{\"device_id\":7},\"str\",null]}";
    is_int(pub_batch_parse_installs(ev, strlen(ev), 1 << 20, 100, &bt, &eb), CMN_OK, "installation batch");
    is_int(bt.n, 2, "two good events");
    is_int(bt.rejected, 6, "six bad entries counted");
    is_int(bt.ev[1].progress, 5, "progress kept");
    is_int(bt.ev[0].progress, -1, "absent progress is -1");
    pub_batch_release(&bt);
    is_int(pub_batch_parse_installs(ev, strlen(ev), 1 << 20, 3, &bt, &eb), CMN_E_TOOBIG, "over the event cap");
    is_int(pub_batch_parse_installs("{\"events\":5}", 12, 100, 10, &bt, &eb), CMN_E_INVAL, "events not an array");
    /* the fast decoder of installation batches: differential against the jansson path (evbatch_diff.h) */
    {
        static const struct {
            const char *doc;
            size_t max;
            int want; /* 1 = the fast path decodes it (and agrees), 0 = it declines */
            const char *why;
        } fc[] = {
            {"{\"events\":[{\"event_id\":\"e1\",\"device_id\":\"d1\",\"app\":\"a\",\"platform\":\"android\","
             "\"channel\":\"production\",\"release_id\":\"r\",\"status\":\"applied\",\"binary_version\":\"1.0\","
             "\"ts\":1790000000},{\"device_id\":\"d2\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"downloading\","
             "\"progress\":0,\"ticket\":\"AAAA.bbbb\"}]}",
             1000, 1, "the bench's shape"},
            {" {\r\n\"events\" :\t[ {\"device_id\":\"d\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"applied\","
             "\"platform\":null,\"ticket\":true,\"x\":false} ] } ",
             1000, 1, "whitespace, null, a non-string ticket, an unknown key"},
            {"{\"events\":[]}", 0, 1, "no events"},
            {"{\"events\":[{\"device_id\":7},{},{\"device_id\":\"d\",\"app\":\"a\",\"release_id\":\"r\",\"status\":"
             "\"failed\",\"ts\":5},{\"device_id\":\"d\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"applied\","
             "\"progress\":101},{\"device_id\":\"d\",\"app\":\"a b\",\"release_id\":\"r\",\"status\":\"applied\"}]}",
             1000, 1, "malformed entries counted, not fatal"},
            {"{\"events\":[{\"device_id\":\"d\",\"device_id\":\"e\",\"app\":\"a\",\"release_id\":\"r\",\"status\":"
             "\"applied\"}]}",
             1000, 0, "a duplicate key"},
            {"{\"events\":[{\"device_id\":\"d\\u0041\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"applied\"}]}",
             1000, 0, "an escape"},
            {"{\"events\":[{\"device_id\":\"d\xc3\xa9\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"applied\"}]}",
             1000, 0, "non-ASCII"},
            {"{\"events\":[{\"device_id\":\"d\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"applied\",\"ts\":1.5e9}"
             "]}",
             1000, 0, "a float"},
            {"{\"events\":[{\"device_id\":\"d\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"applied\",\"x\":-1}]}",
             1000, 0, "a negative number"},
            {"{\"events\":[{\"device_id\":\"d\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"applied\","
             "\"x\":1234567890123456}]}",
             1000, 0, "16 digits"},
            {"{\"events\":[{\"device_id\":\"d\",\"app\":\"a\",\"release_id\":\"r\",\"status\":\"applied\",\"p\":05}]}",
             1000, 0, "a leading zero"},
            {"{\"events\":[{}, {}]}", 1, 0, "over the event cap"},
            {"{\"events\":[]} x", 1000, 0, "trailing bytes"},
            {"{\"events\":[],\"x\":1}", 1000, 0, "another top-level key"},
            {"{\"events\":[\"str\"]}", 1000, 0, "an entry that is not an object"},
            {"{\"events\":[{\"x\":{\"y\":1}}]}", 1000, 0, "a nested value"},
            {"{\"events\":[{\"device_id\":\"d", 1000, 0, "truncated"},
        };
        for (size_t i = 0; i < sizeof(fc) / sizeof(fc[0]); i++)
            is_int(evbatch_diff(fc[i].doc, strlen(fc[i].doc), 1 << 20, fc[i].max), fc[i].want, "fast decoder: %s",
                   fc[i].why);
        /* the fast path leaves no jansson tree; the jansson path still takes what it declines */
        const char *d0 = fc[0].doc;
        is_int(pub_batch_parse_installs(d0, strlen(d0), 1 << 20, 1000, &bt, &eb), CMN_OK, "bench shape decoded");
        ok(!bt.doc && bt.arena && bt.n == 2 && bt.ev[1].progress == 0 && bt.ev[1].ticket_len == 9 &&
               !strcmp(bt.ev[0].binary_version, "1.0") && bt.ev[0].ts == 1790000000,
           "by the fast path, fields intact");
        pub_batch_release(&bt);
        const char *d1 = fc[5].doc;
        is_int(pub_batch_parse_installs(d1, strlen(d1), 1 << 20, 1000, &bt, &eb), CMN_OK, "escaped string decoded");
        ok(bt.doc && bt.n == 1 && !strcmp(bt.ev[0].device_id, "dA"), "by the jansson path");
        pub_batch_release(&bt);
        is_int(pub_batch_parse_installs(fc[4].doc, strlen(fc[4].doc), 1 << 20, 1000, &bt, &eb), CMN_E_PARSE,
               "a duplicate key still refuses the whole batch");
        /* every truncation and every single-byte change of a valid batch: the two paths never disagree */
        char mut[512];
        size_t len = strlen(d0), agree = 0, fast = 0, bad = 0;
        static const char subst[] = "\"\\{}[],: 0179-.eE\tnulltruefalse\x01\x80";
        for (size_t at = 0; at <= len; at++) {
            int r = evbatch_diff(d0, at, 1 << 20, 1000);
            bad += r < 0;
            fast += r > 0;
            for (size_t k = 0; k < sizeof(subst) - 1 && at < len; k++) {
                memcpy(mut, d0, len);
                mut[at] = subst[k];
                r = evbatch_diff(mut, len, 1 << 20, 1000);
                bad += r < 0;
                fast += r > 0;
                agree++;
            }
        }
        is_int(bad, 0, "no disagreement in %zu mutated batches (%zu decoded by the fast path)", agree, fast);
        ok(fast > len, "the fast path decodes the harmless mutations");
    }
    const char *dv = "{\"devices\":[{\"device_id\":\"d\",\"app\":\"a\",\"os\":\"linux\"},{\"device_id\":\"d\"}]}";
    is_int(pub_batch_parse_devices(dv, strlen(dv), 1 << 20, 100, &bt, &eb), CMN_OK, "device batch");
    ok(bt.n == 1 && bt.rejected == 1 && !strcmp(bt.dev[0].os, "linux"), "one good device, one rejected");
    pub_batch_release(&bt);

    struct cmn_buf a;
    cmn_buf_init(&a, 1024);
    ok(!pub_pgarr_add(&a, "plain", 1) && !pub_pgarr_add(&a, "q\"uo\\te,{}", 0) && !pub_pgarr_add(&a, NULL, 0) &&
           !pub_pgarr_add(&a, "", 0),
       "array elements appended");
    is_str(a.ptr, "\"plain\",\"q\\\"uo\\\\te,{}\",NULL,\"\"", "quotes and backslashes escaped, NULL bare");
    cmn_buf_release(&a);
    return done_testing();
}
