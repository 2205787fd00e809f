/*
 * cmd_app.c - `hotpatch app`: show an app's settings on the publisher, or
 * change the compatibility ones (docs/compatibility.md): the legacy signature
 * opt-in, the seed 002 device model and the auto-halt opt-in for unticketed
 * reports (docs/security.md). Publisher mode only; the change
 * needs the admin role on the app.
 */
#include "common/compat.h"

#include "cli.h"

int cli_cmd_app(int argc, char **argv)
{
    struct cli_conn c;
    struct cli_args a;
    const char *app = NULL, *legacy = NULL, *model = NULL, *unticketed = NULL;
    json_t *body = NULL, *resp = NULL, *o;
    char path[200], ea[160];
    int ex;
    const struct cli_opt opts[] = {
        {"app", "NAME", &app, NULL, "the app"},
        {"legacy-signature", "on|off", &legacy, NULL,
         "require (on) a legacy signature over the bare digest on every release, for seed 000/001 clients"},
        {"device-model", "MODEL|none", &model, NULL, "serve seed 002 devices of this model from the app"},
        {"count-unticketed", "on|off", &unticketed, NULL,
         "count reports without an edge ticket toward the auto-halt (clients that cannot carry one; "
         "forged reports can then halt a release)"},
        CLI_CONN_OPTS(&c),
        {0},
    };
    const struct cli_cmd cmd = {"app", "Show an app's settings, or change its compatibility settings (publisher mode).",
                                "hotpatch app --app A [--legacy-signature on|off] [--device-model MODEL|none]\n"
                                "             [--count-unticketed on|off]",
                                CLI_CONN_ENV, NULL};
    memset(&c, 0, sizeof(c));
    if ((ex = cli_parse_flags(&cmd, opts, argc, argv, &a)) || a.help)
        return ex;
    if (!app)
        return cli_fail(CLI_EXIT_USAGE, "--app is required");
    if (legacy && strcmp(legacy, "on") != 0 && strcmp(legacy, "off") != 0)
        return cli_fail(CLI_EXIT_USAGE, "--legacy-signature takes on or off");
    if (unticketed && strcmp(unticketed, "on") != 0 && strcmp(unticketed, "off") != 0)
        return cli_fail(CLI_EXIT_USAGE, "--count-unticketed takes on or off");
    if ((ex = cli_conn_resolve(&c)))
        return ex;
    if (c.mode != CLI_MODE_PUBLISHER)
        return cli_fail(CLI_EXIT_USAGE, "'hotpatch app' needs a publisher (--endpoint): app settings live there");
    if (cli_api_escape(app, ea, sizeof(ea)))
        return cli_fail(CLI_EXIT_USAGE, "app name too long");
    snprintf(path, sizeof(path), "/v1/apps/%s", ea);
    struct cli_api api = {c.endpoint, c.token};
    if (legacy || model || unticketed) {
        body = json_object();
        if (legacy)
            json_object_set_new(body, "legacy_signature", json_boolean(!strcmp(legacy, "on")));
        if (model)
            json_object_set_new(body, "device_model", strcmp(model, "none") ? json_string(model) : json_null());
        if (unticketed)
            json_object_set_new(body, "count_unticketed", json_boolean(!strcmp(unticketed, "on")));
        ex = cli_api_call(&api, "PATCH", path, body, &resp);
        json_decref(body);
    } else {
        ex = cli_api_call(&api, "GET", path, NULL, &resp);
    }
    if (ex)
        return ex;
    o = json_object_get(resp, "app");
    if (!json_is_object(o)) {
        json_decref(resp);
        return cli_fail(CLI_EXIT_FAIL, "publisher answer has no 'app' object");
    }
    if (cli_out.json) {
        cli_print_json(json_incref(o));
    } else {
        json_t *m = json_object_get(o, "device_model");
        printf("app               %s\n", json_string_value(json_object_get(o, "name")));
        printf("legacy signature  %s\n", json_is_true(json_object_get(o, "legacy_signature")) ? "on" : "off");
        printf("device model      %s\n", json_is_string(m) ? json_string_value(m) : "-");
        printf("count unticketed  %s\n", json_is_true(json_object_get(o, "count_unticketed")) ? "on" : "off");
    }
    json_decref(resp);
    return 0;
}
