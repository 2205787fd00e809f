/*
 * prom.c - the Prometheus text writer of prom.h: a few cmn_buf appends per
 * line with a sticky error.
 */
#include "common/compat.h"

#include "common/prom.h"

void cmn_prom_init(struct cmn_prom *p, struct cmn_buf *out)
{
    p->out = out;
    p->rc = CMN_OK;
}

static void add(struct cmn_prom *p, const char *s, size_t n)
{
    if (!p->rc)
        p->rc = cmn_buf_add(p->out, s, n);
}

static void adds(struct cmn_prom *p, const char *s)
{
    add(p, s, strlen(s));
}

void cmn_prom_family(struct cmn_prom *p, const char *name, const char *type, const char *help)
{
    if (help) {
        adds(p, "# HELP ");
        adds(p, name);
        adds(p, " ");
        adds(p, help);
        adds(p, "\n");
    }
    adds(p, "# TYPE ");
    adds(p, name);
    adds(p, " ");
    adds(p, type);
    adds(p, "\n");
}

/* name, then {label="escaped value"} when there is a label, then a space. */
static void head(struct cmn_prom *p, const char *name, const char *suffix, const char *label, const char *lval)
{
    adds(p, name);
    if (suffix)
        adds(p, suffix);
    if (label) {
        adds(p, "{");
        adds(p, label);
        adds(p, "=\"");
        for (const char *s = lval ? lval : ""; *s; s++) {
            if (*s == '\\')
                add(p, "\\\\", 2);
            else if (*s == '"')
                add(p, "\\\"", 2);
            else if (*s == '\n')
                add(p, "\\n", 2);
            else
                add(p, s, 1);
        }
        adds(p, "\"}");
    }
    adds(p, " ");
}

/* Append a formatted number t[0..n) and the line end; a value that did not fit is an error. */
static void value(struct cmn_prom *p, const char *t, int n, size_t cap)
{
    if (n < 0 || (size_t)n >= cap) {
        if (!p->rc)
            p->rc = CMN_E_INVAL;
        return;
    }
    add(p, t, (size_t)n);
    add(p, "\n", 1);
}

static void num(struct cmn_prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void num(struct cmn_prom *p, const char *fmt, ...)
{
    char t[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t, sizeof(t), fmt, ap);
    va_end(ap);
    value(p, t, n, sizeof(t));
}

void cmn_prom_u64(struct cmn_prom *p, const char *name, const char *label, const char *lval, uint64_t v)
{
    head(p, name, NULL, label, lval);
    num(p, "%llu", (unsigned long long)v);
}

void cmn_prom_i64(struct cmn_prom *p, const char *name, const char *label, const char *lval, int64_t v)
{
    head(p, name, NULL, label, lval);
    num(p, "%lld", (long long)v);
}

void cmn_prom_f64(struct cmn_prom *p, const char *name, const char *label, const char *lval, const char *fmt, double v)
{
    char t[64];
    head(p, name, NULL, label, lval);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    int n = snprintf(t, sizeof(t), fmt, v);
#pragma GCC diagnostic pop
    value(p, t, n, sizeof(t));
}

void cmn_prom_histogram(struct cmn_prom *p, const char *name, const double *bounds, const uint64_t *counts, size_t n,
                        double sum)
{
    char le[32];
    uint64_t cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += counts[i];
        snprintf(le, sizeof(le), "%g", bounds[i]);
        head(p, name, "_bucket", "le", le);
        num(p, "%llu", (unsigned long long)cum);
    }
    cum += counts[n];
    head(p, name, "_bucket", "le", "+Inf");
    num(p, "%llu", (unsigned long long)cum);
    head(p, name, "_sum", NULL, NULL);
    num(p, "%.9f", sum);
    head(p, name, "_count", NULL, NULL);
    num(p, "%llu", (unsigned long long)cum);
}

enum cmn_err cmn_prom_done(const struct cmn_prom *p)
{
    return p->rc;
}
