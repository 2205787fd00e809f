#include "common/compat.h"

/*
 * client_test.c - the entry checks of sdk/client.c's calls (and report.c's
 * hp_report_flush). Those that need an open handle: no handle or a missing
 * argument is HP_E_INVAL, a handle hp_open has not opened is HP_E_STATE with
 * "handle is not open" in hp_errmsg(), and on an open handle each clears the
 * last message. The hp_setopt_* calls: HP_E_INVAL without a handle or once it
 * is open. No network: the URLs point at a closed port and are not used.
 */

#include "../../../sdk/hp_int.h"
#include "../../lib/test.h"
#include "sdk_fixture.h"

static void test_open_handle(void)
{
    struct fx_keys k;
    char dir[4200];
    hp_client *c = NULL;
    snprintf(dir, sizeof dir, "%s/dev", test_tmpdir());
    if (fx_keys_make(&k) != 0 || hp_client_new(&c) != HP_OK) {
        ok(0, "keys and handle");
        return;
    }
    is_int(hp_setopt_str(NULL, HP_OPT_APP, "demo"), HP_E_INVAL, "setopt_str without a handle");
    is_int(hp_setopt_int(NULL, HP_OPT_TIMEOUT_MS, 1000), HP_E_INVAL, "setopt_int without a handle");
    const struct {
        hp_option opt;
        const char *v;
    } set[] = {
        {HP_OPT_DATA_DIR, dir},
        {HP_OPT_APP, "demo"},
        {HP_OPT_PLATFORM, "android"},
        {HP_OPT_CHANNEL, "production"},
        {HP_OPT_BINARY_VERSION, "1.2.0"},
        {HP_OPT_DEVICE_ID, "dev-1"},
        {HP_OPT_MANIFEST_BASE_URL, "http://127.0.0.1:9"},
        {HP_OPT_MANIFEST_KEY, k.mkey_b64},
        {HP_OPT_RELEASE_KEY, k.rkey_b64},
        {HP_OPT_EMBEDDED_BUNDLE_PATH, "/embedded"},
    };
    hp_status s = HP_OK;
    for (size_t i = 0; !s && i < sizeof set / sizeof set[0]; i++)
        s = hp_setopt_str(c, set[i].opt, set[i].v);
    if (!s)
        s = hp_open(c);
    if (!is_int(s, HP_OK, "open: %s", hp_errmsg(c))) {
        hp_client_free(c);
        return;
    }
    snprintf(c->err, sizeof c->err, "earlier");
    is_int(hp_setopt_str(c, HP_OPT_APP, "other"), HP_E_INVAL, "setopt_str after hp_open is refused");
    is_str(hp_errmsg(c), "options cannot change after hp_open", "hp_errmsg says why");
    snprintf(c->err, sizeof c->err, "earlier");
    is_int(hp_setopt_int(c, HP_OPT_TIMEOUT_MS, 1000), HP_E_INVAL, "setopt_int after hp_open is refused");
    is_str(hp_errmsg(c), "options cannot change after hp_open", "hp_errmsg says why");

    /* On an open handle the entry check passes and the last message is cleared. */
    snprintf(c->err, sizeof c->err, "earlier");
    is_int(hp_clear_updates(c), HP_OK, "clear_updates on an open handle");
    is_str(hp_errmsg(c), "", "clear_updates cleared the last message");
    snprintf(c->err, sizeof c->err, "earlier");
    is_int(hp_boot_ok(c), HP_OK, "boot_ok on an open handle");
    is_str(hp_errmsg(c), "", "boot_ok cleared the last message");
    snprintf(c->err, sizeof c->err, "earlier");
    is_int(hp_report_flush(c), HP_OK, "report_flush on an open handle (no publisher: nothing to send)");
    is_str(hp_errmsg(c), "", "report_flush cleared the last message");
    hp_client_free(c);
}

int main(void)
{
    hp_client *c = NULL;
    struct hp_offer o;
    hp_offer *out = NULL;
    int rb = 7;
    memset(&o, 0, sizeof o);
    o.kind = HP_OFFER_UPDATE;

    is_int(hp_check(NULL, &out), HP_E_INVAL, "check without a handle");
    is_int(hp_download(NULL, &o, NULL, NULL), HP_E_INVAL, "download without a handle");
    is_int(hp_install(NULL, &o), HP_E_INVAL, "install without a handle");
    is_int(hp_clear_updates(NULL), HP_E_INVAL, "clear without a handle");
    is_int(hp_boot_begin(NULL, &rb), HP_E_INVAL, "boot_begin without a handle");
    is_int(rb, 0, "boot_begin still clears *rolled_back");
    is_int(hp_boot_ok(NULL), HP_E_INVAL, "boot_ok without a handle");
    is_int(hp_report_flush(NULL), HP_E_INVAL, "report_flush without a handle");

    if (hp_client_new(&c) != HP_OK || !c) {
        ok(0, "hp_client_new");
        return done_testing();
    }
    /* A missing argument is refused before the handle is looked at: its last message stays. */
    snprintf(c->err, sizeof c->err, "earlier");
    is_int(hp_check(c, NULL), HP_E_INVAL, "check without an out pointer");
    is_int(hp_download(c, NULL, NULL, NULL), HP_E_INVAL, "download without an offer");
    is_int(hp_install(c, NULL), HP_E_INVAL, "install without an offer");
    is_str(hp_errmsg(c), "earlier", "the last message is kept");

    struct {
        const char *name;
        hp_status got;
    } calls[] = {
        {"check", hp_check(c, &out)},          {"download", hp_download(c, &o, NULL, NULL)},
        {"install", hp_install(c, &o)},        {"clear_updates", hp_clear_updates(c)},
        {"boot_begin", hp_boot_begin(c, &rb)}, {"boot_ok", hp_boot_ok(c)},
        {"report_flush", hp_report_flush(c)},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        is_int(calls[i].got, HP_E_STATE, "%s before hp_open is refused", calls[i].name);
    ok(out == NULL, "no offer came back");

    /* Each call clears the last message before it sets its own. */
    snprintf(c->err, sizeof c->err, "earlier message that is longer than the next one");
    is_int(hp_boot_ok(c), HP_E_STATE, "boot_ok before hp_open");
    is_str(hp_errmsg(c), "handle is not open", "hp_errmsg says why");
    snprintf(c->err, sizeof c->err, "earlier");
    is_int(hp_install(c, &o), HP_E_STATE, "install before hp_open");
    is_str(hp_errmsg(c), "handle is not open", "hp_errmsg says why");
    hp_client_free(c);
    test_open_handle();
    return done_testing();
}
