"""Prints 'tps p50 p90 p99 non2xx errors' from a pgbench log; the percentiles come from pgbench's
per-transaction logs (-l) when they are given, else only the mean latency is known.

Usage: parse_pgbench.py PGBENCH_OUTPUT [TRANSACTION_LOG...]"""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
tps = float(re.search(r"tps = ([\d.]+)", text).group(1))
latency = float(m.group(1)) if (m := re.search(r"latency average = ([\d.]+) ms", text)) else float("nan")
failed = int(m.group(1)) if (m := re.search(r"number of failed transactions: (\d+)", text)) else 0
# Each line of a -l log: client_id transaction_no latency_us script_no epoch epoch_us.
latencies = sorted(int(line.split()[2]) / 1000 for path in sys.argv[2:] for line in open(path, encoding="utf-8") if line.strip())


def percentile(p):
    return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] if latencies else float("nan")


p50 = percentile(50) if latencies else latency
print(f"{tps:.1f}\t{p50:.3f}\t{percentile(90):.3f}\t{percentile(99):.3f}\t0\t{failed}")
