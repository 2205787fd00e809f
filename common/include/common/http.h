/*
 * http.h - the one libcurl client of the project: one request description,
 * one response, a retry-with-backoff policy, capped bodies. Used by the s3://
 * storage backend (common/storage_s3.c), the CLI's publisher client
 * (cli/api.c), the edge's Lambda runtime loop (edge-check/lambda.c) and
 * libhotpatch's default transport (sdk/transport_curl.c: a streaming body
 * sink, a Range start, status lines and captured headers, redirects, file://
 * URLs, stall timeouts, cancellation through `progress`).
 *
 *     struct cmn_http *h;
 *     rc = cmn_http_new(&h, &eb);
 *     struct cmn_http_req rq = { .method = "GET", .url = url, .max_retries = 3 };
 *     struct cmn_http_resp rs;
 *     struct cmn_buf body;
 *     cmn_buf_init(&body, 1 << 20);
 *     rq.body_out = &body;
 *     rc = cmn_http_perform(h, &rq, &rs, &eb);   // CMN_OK: rs.status holds the status
 *
 * A struct cmn_http wraps one curl easy handle, so consecutive requests reuse
 * connections; it is not thread-safe (one per thread).
 *
 * Retries: a transport failure (connect, timeout, reset, send/receive error)
 * or a 5xx / 429 status is retried up to max_retries times with exponential
 * backoff and full jitter (base retry_base_ms, doubling, capped at 5 s; a
 * Retry-After in seconds is honoured up to the cap). 4xx and 2xx/3xx are never
 * retried. A request body is replayed from memory, from the file, or through
 * `rewind`; a callback body without `rewind` is sent once. A response that
 * already delivered bytes to `write` is not retried; `body_out` is rolled
 * back to its length before the call on a retry and on failure.
 */
#ifndef COMMON_HTTP_H
#define COMMON_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define CMN_HTTP_ETAG_MAX 130      /* same bound as CMN_ETAG_MAX */
#define CMN_HTTP_ERRBODY_MAX 16384 /* non-2xx bodies kept for diagnostics */
#define CMN_HTTP_MAX_HEADERS 16
#define CMN_HTTP_MAX_PARTS 4
#define CMN_HTTP_ERROR_MAX 256

struct cmn_http;
struct cmn_http_resp;

/* Receives response body bytes of a 2xx response; return non-zero to abort (CMN_E_CANCELLED). */
typedef int (*cmn_http_write_fn)(void *ctx, const void *p, size_t n);
/* Fills up to n bytes of request body; returns the count, 0 at the end, (size_t)-1 to abort. */
typedef size_t (*cmn_http_read_fn)(void *ctx, char *p, size_t n);
/* Restart the request body from its beginning (for a retry); 0 on success. */
typedef int (*cmn_http_rewind_fn)(void *ctx);
/* Transfer progress, also called about once a second while idle: return non-zero to abort (CMN_E_CANCELLED).
 * This is the cancellation hook: test a flag here. */
typedef int (*cmn_http_progress_fn)(void *ctx, uint64_t dl_now, uint64_t dl_total, uint64_t ul_now, uint64_t ul_total);
/* One response header (name without ':', value trimmed; neither NUL-terminated). Headers of interim and
 * redirect responses come too, each group after its on_status call. */
typedef void (*cmn_http_header_fn)(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen);
/* A response's status line ("HTTP/1.1 206 ..."), before its headers: interim (1xx) and redirect responses
 * included, so a caller can forget what the previous response's headers said. Return non-zero to abort
 * (CMN_E_CANCELLED). ctx is header_ctx. */
typedef int (*cmn_http_status_fn)(void *ctx, long status);
/* Called once, before the first body byte of a successful (2xx, or non-HTTP such as file://) response goes to
 * body_out or write, with the status and headers known; return non-zero to abort (CMN_E_CANCELLED). */
typedef int (*cmn_http_begin_fn)(void *ctx, const struct cmn_http_resp *resp);

/* One part of a multipart/form-data body: data from memory or from a file (streamed, never held in memory). */
struct cmn_http_part {
    const char *name;
    const void *data; /* with len; or NULL and path */
    size_t len;
    const char *path;
    const char *filename; /* optional */
    const char *type;     /* optional Content-Type */
};

struct cmn_http_req {
    const char *method; /* "GET" (default), "HEAD", "PUT", "POST", "DELETE"... */
    const char *url;
    /* Extra request headers, "Name: value", up to CMN_HTTP_MAX_HEADERS; NULL-terminated or counted by nheaders. */
    const char *headers[CMN_HTTP_MAX_HEADERS];
    size_t nheaders;

    /* Request body: at most one of memory (a zero-length body is `body = ""`), file slice, callback or form.
     * Memory and form bodies are sent without "Expect: 100-continue" (except SigV4 requests, see http.c). */
    const void *body;
    size_t body_len;
    const char *upload_path; /* send upload_len bytes of this file from upload_offset */
    uint64_t upload_offset;
    uint64_t upload_len;
    cmn_http_read_fn read;
    cmn_http_rewind_fn rewind;
    void *read_ctx;
    uint64_t read_len;                              /* exact length of the callback body */
    struct cmn_http_part parts[CMN_HTTP_MAX_PARTS]; /* multipart/form-data, nparts of them */
    size_t nparts;

    /* Response body of a 2xx: appended to body_out (rolled back on retry), or streamed to write. */
    struct cmn_buf *body_out;
    cmn_http_write_fn write;
    void *write_ctx;
    cmn_http_begin_fn begin; /* optional, see the typedef; ctx is write_ctx */
    cmn_http_header_fn on_header;
    cmn_http_status_fn on_status;
    void *header_ctx;

    int has_range;               /* ask for bytes from range_start to the end ("Range: bytes=N-") */
    uint64_t range_start;        /* a server may still answer 200 (whole body): check resp->status / range_start */
    int max_redirects;           /* follow up to this many redirects (to http/https only); 0 = none */
    const char *protocols;       /* curl protocol list; NULL = "http,https" (e.g. "http,https,file") */
    const char *user_agent;      /* NULL = none */
    const char *accept_encoding; /* NULL = identity only; "" = every encoding libcurl decodes */

    /* AWS SigV4 by libcurl: e.g. "aws:amz:us-east-1:s3", with user = access key, password = secret. */
    const char *aws_sigv4;
    const char *user;
    const char *password;

    long timeout_ms;         /* whole request; 0 = 30000, -1 = none (use low_speed_* for big transfers) */
    long connect_timeout_ms; /* 0 = 10000 */
    long low_speed_bytes;    /* abort if slower than this for low_speed_secs (0 = off) */
    long low_speed_secs;
    int max_retries;    /* 0 = none */
    long retry_base_ms; /* 0 = 200 */
    cmn_http_progress_fn progress;
    void *progress_ctx;
};

struct cmn_http_resp {
    long status;                  /* final HTTP status; 0 when no response arrived */
    char etag[CMN_HTTP_ETAG_MAX]; /* ETag header, quotes and W/ stripped; "" when absent */
    int has_length;
    uint64_t content_length; /* Content-Length when has_length */
    uint64_t range_total;    /* total size from Content-Range (206), 0 when absent */
    int64_t range_start;     /* first byte from Content-Range "bytes N-M/T"; -1 when absent or malformed */
    long retry_after_s;      /* Retry-After in seconds (capped at 60), 0 when absent */
    int attempts;            /* how many times the request was sent */
    /* On CMN_E_NET: libcurl's words alone (no method or URL), for a caller that names the URL itself; else "". */
    char error[CMN_HTTP_ERROR_MAX];
    struct cmn_buf err_body; /* body of a non-2xx response (capped); cmn_http_resp_release frees it */
};

/* curl_global_init, once per process (cmn_http_new calls it too). CMN_E_NET when libcurl cannot start. */
enum cmn_err cmn_http_global_init(struct cmn_errbuf *eb) __attribute__((warn_unused_result));

/* Create a client (curl_global_init is done once per process). */
enum cmn_err cmn_http_new(struct cmn_http **out, struct cmn_errbuf *eb) __attribute__((warn_unused_result));
void cmn_http_free(struct cmn_http *h);

/*
 * Send the request, retrying per the policy above. CMN_OK whenever an HTTP
 * response arrived, whatever its status (the caller maps statuses); then
 * resp->err_body holds a non-2xx body. CMN_E_NET when no response arrived
 * after the retries, CMN_E_TOOBIG when the body passed body_out's cap,
 * CMN_E_CANCELLED when a callback aborted, CMN_E_IO when upload_path cannot be
 * read, CMN_E_INVAL on a bad request description. `resp` is always
 * initialised; release it with cmn_http_resp_release.
 */
enum cmn_err cmn_http_perform(struct cmn_http *h, const struct cmn_http_req *req, struct cmn_http_resp *resp,
                              struct cmn_errbuf *eb) __attribute__((warn_unused_result));
void cmn_http_resp_release(struct cmn_http_resp *resp);

/* Add a header line "Name: value" to req (CMN_E_TOOBIG past CMN_HTTP_MAX_HEADERS). The string is borrowed. */
enum cmn_err cmn_http_req_header(struct cmn_http_req *req, const char *line) __attribute__((warn_unused_result));

/* Backoff delay in ms before retry number `attempt` (1-based): full jitter over base*2^(attempt-1), cap 5000. */
long cmn_http_backoff_ms(long base_ms, int attempt);

#endif
