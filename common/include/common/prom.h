/*
 * prom.h - the one writer of the Prometheus text exposition format (0.0.4),
 * for the edge's and the publisher's /metrics:
 *
 *     # HELP name help text
 *     # TYPE name counter|gauge|histogram
 *     name{label="value"} 42
 *
 * The writer appends to a capped cmn_buf and keeps the first error (sticky),
 * so a metrics handler writes every line and checks once at the end:
 *
 *     struct cmn_prom p;
 *     cmn_prom_init(&p, &out);
 *     cmn_prom_family(&p, "hotpatch_edge_checks_total", "counter", "Update checks by outcome.");
 *     cmn_prom_u64(&p, "hotpatch_edge_checks_total", "outcome", "update", n);
 *     rc = cmn_prom_done(&p);
 *
 * Label values are escaped as the format asks (\\, \", \n).
 */
#ifndef COMMON_PROM_H
#define COMMON_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

struct cmn_prom {
    struct cmn_buf *out;
    enum cmn_err rc; /* first error; later calls do nothing */
};

void cmn_prom_init(struct cmn_prom *p, struct cmn_buf *out);

/* "# HELP" (when help is not NULL) and "# TYPE" lines of a metric family. */
void cmn_prom_family(struct cmn_prom *p, const char *name, const char *type, const char *help);

/* One sample; `label` NULL for none, else one label with value `lval`. */
void cmn_prom_u64(struct cmn_prom *p, const char *name, const char *label, const char *lval, uint64_t v);
void cmn_prom_i64(struct cmn_prom *p, const char *name, const char *label, const char *lval, int64_t v);
/* A float sample, printed with printf format `fmt` ("%.9f", "%g"). */
void cmn_prom_f64(struct cmn_prom *p, const char *name, const char *label, const char *lval, const char *fmt, double v);

/*
 * A histogram's samples (after its family line): `n` cumulative buckets
 * name_bucket{le="<bound>"} (bounds in the metric's unit, printed %g), then
 * le="+Inf", name_sum (%.9f) and name_count. counts[] holds n + 1 plain
 * (non-cumulative) counts, the last one above the largest bound.
 */
void cmn_prom_histogram(struct cmn_prom *p, const char *name, const double *bounds, const uint64_t *counts, size_t n,
                        double sum);

/* The first error (CMN_E_TOOBIG past the buffer's cap, CMN_E_NOMEM), or CMN_OK. */
enum cmn_err cmn_prom_done(const struct cmn_prom *p) __attribute__((warn_unused_result));

#endif
