"""Prints 'rps p50 p90 p99 non2xx errors api_cpu_us' (tab-separated, ms) from a wrk --latency log.

Arguments: the log, the API's CPU clock ticks spent during the run, and ticks per second.
"""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
units = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def percentile(p):
    m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    return float(m.group(1)) * units[m.group(2)] if m else float("nan")


rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)) else 0
errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
requests = int(re.search(r"(\d+) requests in", text).group(1))
cpu_us = int(sys.argv[2]) / int(sys.argv[3]) * 1e6 / max(requests, 1)
print(f"{rps:.1f}\t{percentile(50):.3f}\t{percentile(90):.3f}\t{percentile(99):.3f}\t{non2xx}\t{errors}\t{cpu_us:.0f}")
