#!/usr/bin/env python3
"""Turns `wrk --latency` text on stdin into the JSON shape hecaton-bench prints."""
import json
import re
import sys

text = sys.stdin.read()


def num(pattern, default=0.0):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else default


def ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def size(value, unit):
    return float(value) * {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[unit]


latency = {}
for label, key in (("50%", "p50"), ("90%", "p90"), ("99%", "p99")):
    m = re.search(rf"^\s*{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    latency[key] = ms(*m.groups()) if m else None
m = re.search(r"Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)", text)
latency["max"] = ms(*m.groups()) if m else None
latency["p999"] = None
transfer = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", text)
requests = re.search(r"(\d+) requests in ([\d.]+)s", text)
errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(json.dumps({
    "duration_s": float(requests.group(2)) if requests else 0.0,
    "requests": int(requests.group(1)) if requests else 0,
    "rps": num(r"Requests/sec:\s+([\d.]+)"),
    "mb_per_s": size(*transfer.groups()) / 1e6 if transfer else 0.0,
    "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    "errors": sum(int(x) for x in errors.groups()) if errors else 0,
    "latency_ms": latency,
}))
