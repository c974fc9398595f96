#!/usr/bin/env python3
"""Summarizes compare-nginx results (JSON lines) as a markdown table of medians and ratios."""
import json
import statistics
import sys
from collections import defaultdict

runs = defaultdict(list)  # (tool, load, server) -> [result]
per_rep = defaultdict(dict)  # (tool, load, rep) -> {server: rps}
for line in open(sys.argv[1]):
    row = json.loads(line)
    key = (row["tool"], row["load"], row["server"])
    runs[key].append(row["r"])
    per_rep[(row["tool"], row["load"], row["rep"])][row["server"]] = row["r"]["rps"]

LOADS = [("4k", "4 KiB"), ("64k", "64 KiB"), ("1m", "1 MiB"), ("64m", "64 MiB"), ("range", "256 KiB range of 1 MiB")]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


print("| load | tool | hecaton req/s | nginx req/s | ratio (medians) | median per-rep ratio | hecaton MB/s | nginx MB/s | hecaton p99 ms | nginx p99 ms | errors h/n |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for tool in ("hecaton-bench", "wrk"):
    for load, label in LOADS:
        h, n = runs.get((tool, load, "hecaton")), runs.get((tool, load, "nginx"))
        if not h or not n:
            continue
        h_rps, n_rps = med(r["rps"] for r in h), med(r["rps"] for r in n)
        ratios = [v["hecaton"] / v["nginx"] for (t, l, _), v in per_rep.items()
                  if t == tool and l == load and v.get("nginx")]
        errs = f'{sum(r["errors"] + r["non_2xx"] for r in h)}/{sum(r["errors"] + r["non_2xx"] for r in n)}'
        print(f"| {label} | {tool} | {h_rps:.0f} | {n_rps:.0f} | **{h_rps / n_rps:.2f}×** | {med(ratios):.2f}× | "
              f"{med(r['mb_per_s'] for r in h):.0f} | {med(r['mb_per_s'] for r in n):.0f} | "
              f"{med(r['latency_ms']['p99'] for r in h):.1f} | {med(r['latency_ms']['p99'] for r in n):.1f} | {errs} |")

# With BASELINE_DP: this build against the other one, in the same run.
if any(server == "baseline" for (_, _, server) in runs):
    print()
    print("| load | tool | hecaton req/s | baseline req/s | ratio (medians) | median per-rep ratio | hecaton p99 ms | baseline p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for tool in ("hecaton-bench", "wrk"):
        for load, label in LOADS:
            h, b = runs.get((tool, load, "hecaton")), runs.get((tool, load, "baseline"))
            if not h or not b:
                continue
            h_rps, b_rps = med(r["rps"] for r in h), med(r["rps"] for r in b)
            ratios = [v["hecaton"] / v["baseline"] for (t, l, _), v in per_rep.items()
                      if t == tool and l == load and v.get("baseline")]
            print(f"| {label} | {tool} | {h_rps:.0f} | {b_rps:.0f} | **{h_rps / b_rps:.2f}×** | {med(ratios):.2f}× | "
                  f"{med(r['latency_ms']['p99'] for r in h):.1f} | {med(r['latency_ms']['p99'] for r in b):.1f} |")
