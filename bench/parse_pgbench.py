"""Prints 'tps p50 p90 p99 non2xx errors' from a pgbench log (only tps and the mean latency are known)."""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
tps = float(re.search(r"tps = ([\d.]+)", text).group(1))
latency = float(m.group(1)) if (m := re.search(r"latency average = ([\d.]+) ms", text)) else float("nan")
failed = int(m.group(1)) if (m := re.search(r"number of failed transactions: (\d+)", text)) else 0
print(f"{tps:.1f}\t{latency:.3f}\tnan\tnan\t0\t{failed}")
