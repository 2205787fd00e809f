/*
 * reply.c - the transport's reply helpers and request accessors, shared by
 * http.c and every handler: error bodies {"error":{"code","message"}}, JSON
 * replies, the cmn_err -> HTTP status map, header and query lookups.
 */
#include "common/compat.h"

#include "pub_http.h"

int pub_err(struct pub_resp *out, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_decref(out->json);
    out->json = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    out->status = status;
    return 0;
}

void pub_json_reply(struct pub_resp *out, int status, json_t *body)
{
    json_decref(out->json);
    out->json = body;
    out->status = status;
}

int pub_err_from(struct pub_resp *out, enum cmn_err rc, const struct cmn_errbuf *eb)
{
    const char *msg = cmn_errmsg(eb, rc);
    switch (rc) {
    case CMN_E_NOTFOUND:
        return pub_err(out, 404, "not_found", "%s", msg);
    case CMN_E_EXISTS:
    case CMN_E_CONFLICT:
        return pub_err(out, 409, "conflict", "%s", msg);
    case CMN_E_DENIED:
        return pub_err(out, 403, "forbidden", "%s", msg);
    case CMN_E_TOOBIG:
        return pub_err(out, 413, "too_large", "%s", msg);
    case CMN_E_PARSE:
    case CMN_E_INVAL:
    case CMN_E_SIG:
    case CMN_E_HASH:
    case CMN_E_UNKNOWN_KEY:
        return pub_err(out, 400, "bad_request", "%s", msg);
    case CMN_E_UNSUPPORTED:
        return pub_err(out, 415, "unsupported_media_type", "%s", msg);
    case CMN_E_DB:
        return pub_err(out, 503, "database_unavailable", "%s", msg);
    case CMN_E_BUSY:
        out->retry_after = 1;
        return pub_err(out, 503, "database_busy", "%s", msg);
    case CMN_E_NET:
    case CMN_E_HTTP:
    case CMN_E_IO:
        return pub_err(out, 503, "storage_unavailable", "%s", msg);
    default:
        return pub_err(out, 500, "internal", "%s", msg);
    }
}

struct pub_dbconn *pub_reply_db(struct pub_srv *s, struct pub_resp *out)
{
    enum cmn_err why = CMN_E_DB;
    struct pub_dbconn *c = pub_db_get(s->db, &why);
    if (c)
        return c;
    struct cmn_errbuf eb = {0};
    pub_err_from(out, pub_db_errf(why, &eb), &eb);
    return NULL;
}

const char *pub_req_header(struct pub_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *pub_req_query(struct pub_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *pub_req_cookie(struct pub_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}
