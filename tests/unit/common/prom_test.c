/*
 * Unit tests for common/prom.c: families with and without HELP, labelled and
 * plain samples, label escaping, histogram buckets (cumulative, +Inf, sum,
 * count), and the sticky error at the buffer's cap.
 */
#include "common/compat.h"

#include "../../lib/test.h"
#include "common/prom.h"

int main(void)
{
    struct cmn_buf b;
    struct cmn_prom p;
    cmn_buf_init(&b, 1 << 16);
    cmn_prom_init(&p, &b);
    cmn_prom_family(&p, "x_total", "counter", "Things by kind.");
    cmn_prom_u64(&p, "x_total", "kind", "a", 3);
    cmn_prom_u64(&p, "x_total", "kind", "q\"b\\c\nd", 18446744073709551615ull);
    cmn_prom_family(&p, "y", "gauge", NULL);
    cmn_prom_i64(&p, "y", NULL, NULL, -1);
    cmn_prom_f64(&p, "z", NULL, NULL, "%.9f", 0.5);
    double bounds[] = {0.001, 0.25};
    uint64_t counts[] = {1, 2, 4};
    cmn_prom_family(&p, "h_seconds", "histogram", "Latency.");
    cmn_prom_histogram(&p, "h_seconds", bounds, counts, 2, 1.5);
    is_int(cmn_prom_done(&p), CMN_OK, "written");
    is_str(b.ptr,
           "# HELP x_total Things by kind.\n# TYPE x_total counter\n"
           "x_total{kind=\"a\"} 3\n"
           "x_total{kind=\"q\\\"b\\\\c\\nd\"} 18446744073709551615\n"
           "# TYPE y gauge\ny -1\n"
           "z 0.500000000\n"
           "# HELP h_seconds Latency.\n# TYPE h_seconds histogram\n"
           "h_seconds_bucket{le=\"0.001\"} 1\nh_seconds_bucket{le=\"0.25\"} 3\nh_seconds_bucket{le=\"+Inf\"} 7\n"
           "h_seconds_sum 1.500000000\nh_seconds_count 7\n",
           "exposition text");
    cmn_buf_release(&b);

    cmn_buf_init(&b, 40);
    cmn_prom_init(&p, &b);
    cmn_prom_family(&p, "a_total", "counter", "A long help text that does not fit.");
    cmn_prom_u64(&p, "a_total", NULL, NULL, 1);
    is_int(cmn_prom_done(&p), CMN_E_TOOBIG, "cap reached: sticky error");
    is_int((long long)b.len, 0, "buffer emptied");
    cmn_buf_release(&b);
    return done_testing();
}
