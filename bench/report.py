"""Turns bench/run's raw results into docs/benchmarks.md (table, targets, and the hand-written notes
from bench/notes.md) and benchmarks.svg (chart). docs/benchmarks.md is only ever generated: the
notes have one source, bench/notes.md, updated by hand after a full run."""
import argparse
import csv
import datetime
import math
import statistics
from collections import defaultdict
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--results", required=True)
parser.add_argument("--rss", required=True)
parser.add_argument("--machine", required=True)
parser.add_argument("--runs", type=int, required=True)
parser.add_argument("--duration", type=int, required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--smoke", action="store_true")
args = parser.parse_args()

rows = list(csv.DictReader(open(args.results, encoding="utf-8"), delimiter="\t"))
rss_mb = {scale: int(kb) / 1024 for scale, kb in (line.split("\t") for line in open(args.rss).read().split("\n") if line)}
scales = list(dict.fromkeys(r["scale"] for r in rows))
conns = sorted({int(r["connections"]) for r in rows})

by = defaultdict(list)
for r in rows:
    by[(r["scale"], int(r["connections"]), r["kind"])].append(r)


def median(scale, c, kind, field):
    values = [float(r[field]) for r in by[(scale, c, kind)]]
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else float("nan")


def total(scale, c, kind, field):
    return sum(int(float(r[field])) for r in by[(scale, c, kind)])


def ratio(scale, c, kind="allocate"):
    """API (or floor) throughput over pgbench's, run by run (measured side by side), then the median."""
    api = {r["run"]: float(r["rps"]) for r in by[(scale, c, kind)]}
    pg = {r["run"]: float(r["rps"]) for r in by[(scale, c, "pgbench")]}
    ratios = [api[k] / pg[k] for k in api if k in pg and pg[k] > 0]
    return statistics.median(ratios) if ratios else float("nan")


def over(a, b):
    return a / b if b and not math.isnan(b) else float("nan")


def p99_ratio(scale, c, kind="allocate"):
    return over(median(scale, c, kind, "p99_ms"), median(scale, c, "pgbench", "p99_ms"))


has_floor = any(r["kind"] == "floor_allocate" for r in rows)


lines = []
out = lines.append
out("# Benchmarks" if not args.smoke else "# Benchmark smoke run (not a measurement)")
out("")
out(f"Measured {datetime.date.today().isoformat()} on {args.machine}, everything on loopback: the API (Release, "
    "server GC), PostgreSQL 15 (fsync and synchronous_commit on, shared_buffers 256MB), wrk and pgbench share the machine. "
    f"Each figure is the median of {args.runs} run(s) of {args.duration} s after a warm-up; the API-to-pgbench ratio is taken "
    "run by run, with the two measured back to back, then the median. Reproduce with `bench/run`.")
out("")
out("- **allocate**: wrk posting `/allocate` with unique order ids and random SKUs (`bench/allocate.lua`).")
out("- **pgbench**: the same statements one allocation executes, in one transaction, `-M prepared` (`bench/allocate.pgbench`).")
out("- **read**: wrk getting `/allocations/{orderid}` for random earlier orders (`bench/read.lua`).")
out("- Scales: small = 1,000 SKUs x 3 batches with 10,000 earlier allocations; large = 100,000 SKUs x 3 batches "
    "(300,000 batches) with 1,000,000 earlier allocations.")
out("")
out("| scale | conns | allocate req/s | p50 ms | p90 ms | p99 ms | pgbench tps | pgbench p99 ms | API / pgbench | API p99 / pgbench p99 | API CPU µs per allocate | read req/s | read p99 ms | API CPU µs per read | non-2xx | API peak RSS MB |")
out("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for s in scales:
    for c in conns:
        out(f"| {s} | {c} | {median(s, c, 'allocate', 'rps'):,.0f} | {median(s, c, 'allocate', 'p50_ms'):.2f} | "
            f"{median(s, c, 'allocate', 'p90_ms'):.2f} | {median(s, c, 'allocate', 'p99_ms'):.2f} | "
            f"{median(s, c, 'pgbench', 'rps'):,.0f} | {median(s, c, 'pgbench', 'p99_ms'):.2f} | {ratio(s, c):.2f} | "
            f"{p99_ratio(s, c):.2f} | {median(s, c, 'allocate', 'api_cpu_us'):.0f} | "
            f"{median(s, c, 'read', 'rps'):,.0f} | {median(s, c, 'read', 'p99_ms'):.2f} | {median(s, c, 'read', 'api_cpu_us'):.0f} | "
            f"{total(s, c, 'allocate', 'non2xx') + total(s, c, 'read', 'non2xx')} | {rss_mb.get(s, float('nan')):.0f} |")
out("")
if has_floor:
    out("**The floor** (`bench/floor`): the same two requests answered by a program with nothing of the service's stack "
        "(Kestrel and Npgsql only: no MVC, validation, authentication, rate limiting, telemetry, Dapper, deadlines or retry "
        "bookkeeping), on the same database with the same HTTP exchange and the same round trips, measured in the same runs "
        "with the runtime's default scheduling. A CPU target even the floor misses is out of reach of any implementation here.")
    out("")
    out("A floor that failed requests would look cheap: its non-2xx answers and socket errors are counted, "
        "and a floor with any is not a floor (the check below).")
    out("")
    out("| scale | conns | floor allocate req/s | floor / pgbench | floor p99 ms | floor p99 / pgbench p99 | floor CPU µs per allocate | floor read req/s | floor CPU µs per read | API / floor CPU per allocate | API / floor CPU per read | floor non-2xx + errors |")
    out("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in scales:
        for c in conns:
            out(f"| {s} | {c} | {median(s, c, 'floor_allocate', 'rps'):,.0f} | {ratio(s, c, 'floor_allocate'):.2f} | "
                f"{median(s, c, 'floor_allocate', 'p99_ms'):.2f} | {p99_ratio(s, c, 'floor_allocate'):.2f} | "
                f"{median(s, c, 'floor_allocate', 'api_cpu_us'):.0f} | {median(s, c, 'floor_read', 'rps'):,.0f} | "
                f"{median(s, c, 'floor_read', 'api_cpu_us'):.0f} | "
                f"{over(median(s, c, 'allocate', 'api_cpu_us'), median(s, c, 'floor_allocate', 'api_cpu_us')):.2f} | "
                f"{over(median(s, c, 'read', 'api_cpu_us'), median(s, c, 'floor_read', 'api_cpu_us')):.2f} | "
                f"{sum(total(s, c, k, f) for k in ('floor_allocate', 'floor_read') for f in ('non2xx', 'errors'))} |")
    out("")


def floor_value(s, what):
    """The same target's figure for the floor, or an empty cell."""
    if not has_floor:
        return ""
    return {
        "ratio8": lambda: f"{ratio(s, 8, 'floor_allocate'):.2f}",
        "ratio64": lambda: f"{ratio(s, 64, 'floor_allocate'):.2f}" if 64 in conns else "",
        "p99": lambda: f"{median(s, 8, 'floor_allocate', 'p99_ms'):.2f} ms",
        "p99ratio": lambda: f"{p99_ratio(s, 8, 'floor_allocate'):.2f}",
        "cpu_alloc": lambda: f"{median(s, 8, 'floor_allocate', 'api_cpu_us'):.0f} µs",
        "cpu_read": lambda: f"{median(s, 8, 'floor_read', 'api_cpu_us'):.0f} µs",
    }.get(what, lambda: "")()


checks = []
for s in scales:
    checks.append((f"{s}: allocate at 8 connections >= 0.8 x pgbench", ratio(s, 8) >= 0.8, f"{ratio(s, 8):.2f}", floor_value(s, "ratio8")))
    if 64 in conns:
        checks.append((f"{s}: allocate at 64 connections >= 0.9 x pgbench", ratio(s, 64) >= 0.9, f"{ratio(s, 64):.2f}", floor_value(s, "ratio64")))
    checks.append((f"{s}: p99 at 8 connections < 25 ms", median(s, 8, "allocate", "p99_ms") < 25, f"{median(s, 8, 'allocate', 'p99_ms'):.2f} ms",
                   floor_value(s, "p99")))
    checks.append((f"{s}: p99 at 8 connections <= 2 x pgbench's p99", p99_ratio(s, 8) <= 2, f"{p99_ratio(s, 8):.2f}", floor_value(s, "p99ratio")))
    checks.append((f"{s}: API CPU per allocation at 8 connections <= 150 µs", median(s, 8, "allocate", "api_cpu_us") <= 150,
                   f"{median(s, 8, 'allocate', 'api_cpu_us'):.0f} µs", floor_value(s, "cpu_alloc")))
    checks.append((f"{s}: API CPU per read at 8 connections <= 50 µs", median(s, 8, "read", "api_cpu_us") <= 50,
                   f"{median(s, 8, 'read', 'api_cpu_us'):.0f} µs", floor_value(s, "cpu_read")))
    checks.append((f"{s}: API peak RSS < 250 MB", rss_mb.get(s, 1e9) < 250, f"{rss_mb.get(s, float('nan')):.0f} MB", ""))
    bad = sum(total(s, c, k, f) for c in conns for k in ("allocate", "read") for f in ("non2xx", "errors"))
    floor_bad = sum(total(s, c, k, f) for c in conns for k in ("floor_allocate", "floor_read") for f in ("non2xx", "errors"))
    checks.append((f"{s}: zero non-2xx responses and socket errors", bad == 0, str(bad), str(floor_bad) if has_floor else ""))
    if has_floor:
        checks.append((f"{s}: the floor answered every request (else its figures are not a floor)", floor_bad == 0, str(floor_bad), ""))
if "small" in scales and "large" in scales:
    for c in conns:
        p50 = median("large", c, "allocate", "p50_ms") / median("small", c, "allocate", "p50_ms")
        rps = median("small", c, "allocate", "rps") / median("large", c, "allocate", "rps")
        checks.append((f"flat with size at {c} connections: large/small p50 <= 1.25", p50 <= 1.25, f"{p50:.2f}", ""))
        checks.append((f"flat with size at {c} connections: small/large throughput <= 1.25", rps <= 1.25, f"{rps:.2f}", ""))
out("## Targets")
out("")
out("| target | measured | met | the floor, same runs |")
out("|---|---:|---|---:|")
for name, ok, value, floor in checks:
    out(f"| {name} | {value} | {'yes' if ok else '**no**'} | {floor} |")
out("")
out("![Throughput and p99 latency by scale and connections](benchmarks.svg)")
out("")

Path(args.out).mkdir(parents=True, exist_ok=True)
notes = Path(__file__).resolve().parent / "notes.md"
if not args.smoke:
    out("<!-- Written by hand in bench/notes.md; bench/run copies it here. -->")
    out(notes.read_text(encoding="utf-8").rstrip("\n"))
(Path(args.out) / "benchmarks.md").write_text("\n".join(lines) + "\n", encoding="utf-8")

# The chart: throughput (left) and p99 (right), one group per scale x connections.
groups = [(s, c) for s in scales for c in conns]
series_left = [("allocate", "#2b6cb0", "rps"), ("pgbench", "#a0aec0", "rps"), ("floor_allocate", "#dd6b20", "rps"), ("read", "#38a169", "rps")]
series_right = [("allocate", "#2b6cb0", "p99_ms"), ("read", "#38a169", "p99_ms")]
W, H, PAD, PANEL = 960, 380, 50, 430


def panel(x0, title, series, unit):
    values = [median(s, c, k, f) for (s, c) in groups for (k, _, f) in series]
    top = max([v for v in values if not math.isnan(v)] + [1]) * 1.15
    parts = [f'<text x="{x0 + PANEL / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{title}</text>',
             f'<line x1="{x0}" y1="{H - PAD}" x2="{x0 + PANEL}" y2="{H - PAD}" stroke="#333"/>']
    for i in range(5):
        v = top * i / 4
        y = H - PAD - (H - 2 * PAD) * i / 4
        parts.append(f'<text x="{x0 - 6}" y="{y + 4}" text-anchor="end" font-size="10">{v:,.0f}</text>')
        parts.append(f'<line x1="{x0}" y1="{y}" x2="{x0 + PANEL}" y2="{y}" stroke="#eee"/>')
    gw = PANEL / len(groups)
    bw = gw * 0.8 / len(series)
    for gi, (s, c) in enumerate(groups):
        gx = x0 + gi * gw + gw * 0.1
        for si, (kind, colour, field) in enumerate(series):
            v = median(s, c, kind, field)
            v = 0 if math.isnan(v) else v
            h = (H - 2 * PAD) * v / top
            parts.append(f'<rect x="{gx + si * bw:.1f}" y="{H - PAD - h:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" fill="{colour}">'
                         f'<title>{s}, {c} conns, {kind}: {v:,.1f} {unit}</title></rect>')
        parts.append(f'<text x="{gx + gw * 0.4}" y="{H - PAD + 16}" text-anchor="middle" font-size="11">{s}</text>')
        parts.append(f'<text x="{gx + gw * 0.4}" y="{H - PAD + 30}" text-anchor="middle" font-size="11">{c} conns</text>')
    legend = "".join(f'<rect x="{x0 + 10 + i * 110}" y="36" width="10" height="10" fill="{col}"/>'
                     f'<text x="{x0 + 24 + i * 110}" y="45" font-size="11">{k}</text>' for i, (k, col, _) in enumerate(series))
    return "".join(parts) + legend


svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">'
       f'<rect width="100%" height="100%" fill="white"/>'
       + panel(60, "Throughput (requests or transactions / s)", series_left, "/s")
       + panel(60 + PANEL + 50, "p99 latency (ms)", series_right, "ms")
       + "</svg>\n")
(Path(args.out) / "benchmarks.svg").write_text(svg, encoding="utf-8")
print("\n".join(lines[: lines.index("## Targets") + 3 + len(checks)]))
missed = [name for name, ok, _, _ in checks if not ok]
if args.smoke:
    print("smoke run finished: the benchmark tool works end to end")
