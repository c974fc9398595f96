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


def best(tool, load, variants):
    """Of `variants` (servers), the one with the most requests per second (median) here."""
    present = [v for v in variants if runs.get((tool, load, v))]
    return max(present, key=lambda v: med(r["rps"] for r in runs[(tool, load, v)]), default=None)


def table(other, extra_columns, variants=None):
    """hecaton against `other` (nginx, or the baseline build), one row per tool and load; with
    `variants`, against the best of them for each row (named in its own column)."""
    mb = extra_columns and f" hecaton MB/s | {other} MB/s |" or ""
    which = " nginx at its best |" if variants else ""
    print(f"| load | tool | hecaton req/s | {other} req/s | ratio (medians) | median per-rep ratio |{mb}"
          f" hecaton p99 ms | {other} p99 ms |" + (" errors h/o |" if extra_columns else "") + which)
    print("|---" * (8 + (3 if extra_columns else 0) + (1 if variants else 0)) + "|")
    for tool in ("hecaton-bench", "wrk", "wrk1"):
        for load, label in LOADS:
            server = best(tool, load, variants) if variants else other
            h, o = runs.get((tool, load, "hecaton")), runs.get((tool, load, server))
            if not h or not o:
                continue
            h_rps, o_rps = med(r["rps"] for r in h), med(r["rps"] for r in o)
            ratios = [v["hecaton"] / v[server] for (t, l, _), v in per_rep.items()
                      if t == tool and l == load and v.get(server) and "hecaton" in v]
            row = f"| {label} | {tool} | {h_rps:.0f} | {o_rps:.0f} | **{h_rps / o_rps:.2f}×** | {med(ratios):.2f}× |"
            if extra_columns:
                row += f" {med(r['mb_per_s'] for r in h):.0f} | {med(r['mb_per_s'] for r in o):.0f} |"
            row += f" {med(r['latency_ms']['p99'] for r in h):.1f} | {med(r['latency_ms']['p99'] for r in o):.1f} |"
            if extra_columns:
                row += f' {sum(r["errors"] + r["non_2xx"] for r in h)}/{sum(r["errors"] + r["non_2xx"] for r in o)} |'
            if variants:
                row += f" {'unpinned' if server == 'nginx-unpinned' else 'pinned'} |"
            print(row)


if any(server == "nginx-unpinned" for (_, _, server) in runs):
    # nginx at its best: pinned or unpinned workers, whichever served more for that row.
    table("nginx", True, ["nginx", "nginx-unpinned"])
else:
    table("nginx", True)
# With BASELINE_DP: this build against the other one, in the same run.
if any(server == "baseline" for (_, _, server) in runs):
    print()
    table("baseline", False)
