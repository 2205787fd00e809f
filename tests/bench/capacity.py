#!/usr/bin/env python3
"""capacity.py - recompute docs/capacity.md's model from the latest bench output.

Reads $HP_BUILD/bench/{edge,sync,publisher}.json (written by `make bench`:
bench_edge.sh, bench_sync.sh, bench_publisher.sh); a file that is missing
falls back to the figure docs/capacity.md was last written with, and the
output says so. Prints the tables of docs/capacity.md ("Model") in Markdown.

    python3 tests/bench/capacity.py [--devices N] [--checks-per-day N] [--check]

--check compares the printed tables with the ones in docs/capacity.md and
exits 1 when they differ (the document drifted from the bench figures).
"""
import argparse
import json
import math
import os
import sys

# Published list prices (USD), us-east-1 / Cloudflare, as stated in docs/capacity.md.
PRICES = {
    "as_of": "2025-06 list prices (not re-checked: the build machine is offline)",
    "cloudfront_https_per_10k": 0.0100,  # CloudFront HTTPS requests, US/EU, per 10,000
    "cloudfront_gb": 0.085,  # CloudFront data transfer out, first 10 TB/month, per GB
    "s3_get_per_1k": 0.0004,  # S3 Standard GET, per 1,000
    "s3_list_per_1k": 0.005,  # S3 Standard LIST/PUT, per 1,000
    "ec2_gb": 0.09,  # EC2 data transfer out to the internet, first 10 TB/month, per GB
    "ec2_c7g_medium_hour": 0.0363,  # 1 vCPU Graviton3, 2 GiB
    "alb_hour": 0.0225,  # Application Load Balancer, per hour
    "alb_lcu_hour": 0.008,  # per LCU-hour
    "lambda_per_1m": 0.20,  # Lambda requests, per million
    "lambda_gb_s_arm": 0.0000133334,  # Lambda duration, arm64, per GB-second
    "r2_class_b_per_1m": 0.36,  # R2 Class B (GetObject), per million
    "r2_egress_gb": 0.0,  # R2: no egress fee
}

# Figures docs/capacity.md was written with (used when a bench file is missing).
DEFAULTS = {
    "edge": {"cpu_us_per_req_c64": 7.2, "rps_c64": 123941},
    "sync": {"s3_feed": {"requests_per_poll": 2.0, "cpu_pct_per_1s_poll": 0.1},
             "s3_listing": {"requests_per_poll": 11.0, "cpu_pct_per_1s_poll": 1.2}},
    "publisher": {"events_per_s": 40000},
}

HOURS = 730  # per month
DAYS = 30


def load(build, name):
    path = os.path.join(build, "bench", name + ".json")
    try:
        with open(path) as f:
            return json.load(f), path
    except (OSError, ValueError):
        return DEFAULTS[name], "default (" + path + " missing)"


def model(devices, checks_per_day, edge, sync, pub):
    checks_month = devices * checks_per_day * DAYS
    avg_rps = devices * checks_per_day / 86400.0
    peak_rps = avg_rps * 3  # assumption: the busiest hour runs at 3x the daily mean
    # bytes per answer (assumptions in docs/capacity.md)
    static_bytes = 0.99 * 300 + 0.01 * 2900  # 304 revalidation vs full manifest
    edge_bytes = 0.99 * 180 + 0.01 * 3100  # 204 vs 200 + signed manifest
    P = PRICES
    rows = []

    # static CDN: CloudFront in front of S3 (or Cloudflare in front of R2)
    cf_req = checks_month / 1e4 * P["cloudfront_https_per_10k"]
    cf_gb = checks_month * static_bytes / 1e9 * P["cloudfront_gb"]
    rows.append(("static CDN: CloudFront + S3", checks_month, checks_month * static_bytes / 1e12, cf_req + cf_gb,
                 "CDN only; origin fetches negligible (max-age=30)"))
    r2 = checks_month / 1e6 * P["r2_class_b_per_1m"]
    rows.append(("static: R2 public bucket, uncached", checks_month, checks_month * static_bytes / 1e12, r2,
                 "every check a Class B read; no egress fee"))
    rows.append(("static: R2 behind Cloudflare cache", checks_month, checks_month * static_bytes / 1e12, 0.0,
                 "cache hits are not R2 operations; plan fees not counted"))

    # edge on instances behind an ALB
    cpu_us = float(edge.get("cpu_us_per_req_c64", DEFAULTS["edge"]["cpu_us_per_req_c64"]))
    cores_peak = peak_rps * cpu_us / 1e6
    instances = max(2, math.ceil(cores_peak / 0.5))  # run cores at <= 50%, at least 2 for availability
    ec2 = instances * HOURS * P["ec2_c7g_medium_hour"]
    lcu = max(avg_rps / 25.0, checks_month * edge_bytes / 1e9 / HOURS)  # new connections/s or GB/h (keep-alive off)
    alb = HOURS * (P["alb_hour"] + lcu * P["alb_lcu_hour"])
    egress = checks_month * edge_bytes / 1e9 * P["ec2_gb"]
    feed = sync.get("s3_feed", DEFAULTS["sync"]["s3_feed"])
    listing = sync.get("s3_listing", DEFAULTS["sync"]["s3_listing"])
    polls = DAYS * 86400 / 5.0  # --poll-interval 5 (default)
    sync_cost = instances * polls * (P["s3_get_per_1k"] + P["s3_list_per_1k"]) / 1e3
    rows.append(("edge: %d x c7g.medium + ALB" % instances, checks_month, checks_month * edge_bytes / 1e12,
                 ec2 + alb + egress + sync_cost,
                 "%.2f cores at peak (%.1f us/check)" % (cores_peak, cpu_us)))

    # Lambda (function URL, arm64, 128 MB, 2 ms billed per check)
    lam = checks_month / 1e6 * P["lambda_per_1m"] + checks_month * 0.002 * 0.125 * P["lambda_gb_s_arm"]
    lam += checks_month * edge_bytes / 1e9 * P["ec2_gb"]
    rows.append(("edge on Lambda (function URL)", checks_month, checks_month * edge_bytes / 1e12, lam,
                 "128 MB arm64, 2 ms billed per check"))

    # per-edge storage sync cost, 10k manifests, feed vs listing (5 s polls)
    per_edge_feed = polls * feed["requests_per_poll"]
    per_edge_list = polls * listing["requests_per_poll"]

    # Postgres writes: install telemetry, 1 release a week, 2 events per device per release
    events_month = devices * 2 * 52 / 12.0
    events_s = events_month / (DAYS * 86400)
    pub_rate = float(pub.get("events_per_s", DEFAULTS["publisher"]["events_per_s"]))
    return {
        "checks_month": checks_month, "avg_rps": avg_rps, "peak_rps": peak_rps, "rows": rows,
        "per_edge_feed": per_edge_feed, "per_edge_list": per_edge_list,
        "feed_cpu": feed["cpu_pct_per_1s_poll"], "list_cpu": listing["cpu_pct_per_1s_poll"],
        "events_month": events_month, "events_s": events_s, "events_peak_s": events_s * 10, "pub_rate": pub_rate,
    }


def render(m, sources):
    out = []
    out.append("<!-- generated by tests/bench/capacity.py: do not edit by hand -->")
    out.append("Load: %.2e checks/month, %.0f checks/s on average, %.0f/s at the assumed peak (3x)." %
               (m["checks_month"], m["avg_rps"], m["peak_rps"]))
    out.append("")
    out.append("| path | requests/month | TB/month | USD/month | note |")
    out.append("|---|---:|---:|---:|---|")
    for name, req, tb, usd, note in m["rows"]:
        out.append("| %s | %.2e | %.1f | %s | %s |" % (name, req, tb, "{:,.0f}".format(usd), note))
    out.append("")
    out.append("Storage requests of one edge polling every 5 s with 10,000 manifests: %.2e/month with the change "
               "feed (%.2f per poll), %.2e/month listing (%.2f per poll); idle CPU per 1 s poll: %.3f%% vs %.3f%% "
               "of a core." % (m["per_edge_feed"], m["per_edge_feed"] / (DAYS * 86400 / 5.0), m["per_edge_list"],
                               m["per_edge_list"] / (DAYS * 86400 / 5.0), m["feed_cpu"], m["list_cpu"]))
    out.append("")
    out.append("Postgres: %.2e install events/month, %.0f/s on average, %.0f/s in a release's first hours (10x); "
               "one publisher ingests %.0f events/s in the bench: %.1f%% of one publisher at the peak." %
               (m["events_month"], m["events_s"], m["events_peak_s"], m["pub_rate"],
                100.0 * m["events_peak_s"] / m["pub_rate"]))
    out.append("")
    out.append("Inputs: " + "; ".join("%s: %s" % kv for kv in sources.items()) + ".")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=float, default=100e6)
    ap.add_argument("--checks-per-day", type=float, default=3)
    ap.add_argument("--check", action="store_true", help="fail when docs/capacity.md differs")
    a = ap.parse_args()
    build = os.environ.get("HP_BUILD", "build")
    edge, se = load(build, "edge")
    sync, ss = load(build, "sync")
    pub, sp = load(build, "publisher")
    text = render(model(a.devices, a.checks_per_day, edge, sync, pub),
                  {"edge": se, "sync": ss, "publisher": sp})
    if not a.check:
        sys.stdout.write(text)
        return 0
    doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "capacity.md")).read()
    begin = doc.find("<!-- generated by tests/bench/capacity.py")
    end = doc.find("<!-- end generated -->")
    body = doc[begin:end] if begin >= 0 and end > begin else ""
    strip = lambda t: "\n".join(l for l in t.splitlines() if not l.startswith("Inputs: "))
    if strip(body).strip() != strip(text).strip():
        sys.stderr.write("docs/capacity.md differs from the latest bench figures: rerun capacity.py\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
