"""Turns bench/profile's perf samples and dotnet-counters CSV into markdown tables: the API's CPU per
request by area (exclusive: where the CPU is burnt; inclusive: what it is burnt for), the top frames,
and the runtime counters during the run (GC, allocation, thread pool, lock contention).

Usage: profile_report.py PERF_SCRIPT_TXT COUNTERS_CSV WRK_LOG MEASURED_SECONDS"""
import collections
import csv
import re
import statistics
import sys

perf_txt, counters_csv, wrk_log = sys.argv[1:4]
measured_seconds = int(sys.argv[4])
HZ = 999

# (area, pattern on "symbol (dso)"), first match wins; order matters.
AREAS = [
    ("GC", r"(gc_heap|GCHeap|WKS::|SVR::|gc\.cpp|GCToEEInterface|memset|memmove.*libcoreclr|GcInfoDecoder|ScanStackRoots|GcScanRoots|Thread::GCStackWalk|StackFrameIterator|EECodeManager)"),
    ("JIT", r"libclrjit|TieredCompilation|CallCountingManager"),
    ("kernel: network (loopback TCP)", r"\[kernel\.kallsyms\]\)?$.*|^(tcp_|__tcp|ip_|__ip|loopback|__dev_queue|netif_|__netif|net_rx|sock_|__sock|skb_|__skb|__kfree_skb|inet_|sk_|__sk_|process_backlog|__napi)"),
    # Authentication and what comes with it, split so that its cost per request can be read off.
    ("auth: token validation (IdentityModel)", r"Microsoft\.IdentityModel|System\.IdentityModel"),
    ("auth: HMAC-SHA256 (crypto, OpenSSL)", r"System\.Security\.Cryptography|libcrypto|libSystem\.Security\.Cryptography"),
    ("auth: claims", r"System\.Security\.Claims"),
    ("auth: rate limiter", r"RateLimit"),
    ("auth: authentication handler (JwtBearer)", r"Microsoft\.AspNetCore\.Authentication"),
    ("auth: authorization (policies, scope handler)", r"Microsoft\.AspNetCore\.Authorization|Allocation\.Api\.Hosting\.Scope"),
    ("Npgsql", r"Npgsql"),
    ("Dapper", r"Dapper"),
    ("FluentValidation", r"FluentValidation"),
    ("System.Text.Json", r"System\.Text\.Json"),
    ("MVC (filters, model binding, results)", r"Microsoft\.AspNetCore\.Mvc"),
    ("Routing", r"Microsoft\.AspNetCore\.Routing"),
    ("Kestrel + HTTP", r"Microsoft\.AspNetCore\.(Server|Http|Hosting|Connections|WebUtilities)|System\.Net\.Http\.Headers"),
    ("other ASP.NET Core middleware", r"Microsoft\.AspNetCore\."),
    ("Allocation (this service)", r"Allocation\.(Api|Application|Infrastructure|Domain)"),
    ("Logging, DI, options", r"Microsoft\.Extensions\."),
    ("Sockets, threads, async (BCL)", r"System\.Net\.Sockets|System\.Threading|AsyncTaskMethodBuilder|AsyncStateMachine|ExecutionContext|ThreadPool|Task`|System\.Runtime\.CompilerServices"),
    ("BCL other (strings, collections, reflection)", r"System\.|Interop"),
    ("runtime other (coreclr: casts, allocation helpers, stubs)", r"libcoreclr|libclrgc|\[unknown\]|doublemapper|JIT_|libSystem"),
    ("libc", r"libc[.-]|libpthread|ld-linux"),
]
COMPILED = [(a, re.compile(p)) for a, p in AREAS]


def frame_area(sym, dso):
    if dso.startswith("[kernel"):
        return "kernel: network (loopback TCP)" if re.match(
            r"(tcp_|__tcp|ip_|__ip|ipv|loopback|__dev_|dev_|netif_|__netif|net_rx|net_|sock_|__sock|skb_|__skb|__kfree_skb|kfree_skb|"
            r"inet_|sk_|__sk_|process_backlog|__napi|napi|__sys_send|__sys_recv|do_softirq|__do_softirq|__local_bh|validate_xmit|"
            r"nf_|__inet|security_sock|release_sock|lock_sock|__release_sock)", sym) else "kernel: scheduling, syscalls, other"
    text = f"{sym} ({dso})"
    for area, pattern in COMPILED:
        if area.startswith("kernel"):
            continue
        if pattern.search(text):
            return area
    return "unresolved"


KERNEL_KINDS = [
    ("kernel: loopback TCP send/receive", re.compile(r"tcp_|sock_|__sys_sendto|__sys_recvfrom|net_rx|inet_|__x64_sys_send|__x64_sys_recv|sys_writev|sys_readv")),
    ("kernel: epoll", re.compile(r"ep_poll|epoll")),
    ("kernel: thread wake-ups and switches (futex, sched)", re.compile(r"futex|__schedule|finish_task_switch|try_to_wake_up|sched_yield|schedule")),
]
NOT_REQUEST_THREADS = re.compile(r"EventPipe|MetricsEventSou|Counter Po")  # the profiler's own cost


def kernel_kind(stack):
    names = " ".join(s for s, d in stack if d.startswith("[kernel"))
    for kind, pattern in KERNEL_KINDS:
        if pattern.search(names):
            return kind
    return "kernel: other (page faults, timers, interrupts)"


samples = []
frames = []
thread = ""
overhead = 0
for line in open(perf_txt, encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    if not line.strip():
        if frames and NOT_REQUEST_THREADS.search(thread):
            overhead += 1
        elif frames:
            samples.append((thread, frames))
        frames = []
        continue
    if not line.startswith("\t") and not line.startswith(" "):
        thread = line  # the comm/tid header
        continue
    m = re.match(r"\s*[0-9a-f]+\s+(.*)\s+\((.*)\)\s*$", line)
    if m:
        sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(1))
        frames.append((sym, m.group(2)))
if frames and not NOT_REQUEST_THREADS.search(thread):
    samples.append((thread, frames))

wrk = open(wrk_log, encoding="utf-8").read()
requests = int(re.search(r"(\d+) requests in", wrk).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
total = len(samples)
us_per_request = total / HZ * 1e6 / requests


def short(sym):
    # "instance void [Npgsql] Npgsql.X+<M>d__1::MoveNext()[OptimizedTier1]" -> "Npgsql.X+<M>d__1::MoveNext"
    sym = re.sub(r"`\d+(\[[^\[\]]*\])?", "", sym)
    named = re.findall(r"\] ([^\s\[\]]+::[^\s(\[]+)", sym)
    if named:
        return named[-1][-110:]
    sym = re.sub(r"\[(OptimizedTier1|Optimized|Tier0|Tier1|PreJIT|QuickJitted|OptimizedTier1OSR|Instrumented\w*)\]", "", sym)
    sym = re.sub(r"\(.*\)", "()", sym)
    return sym[:110]


exclusive = collections.Counter()
inclusive = collections.Counter()
top_exclusive = collections.Counter()
top_inclusive = collections.Counter()
COMPONENTS = {"auth: token validation (IdentityModel)", "auth: HMAC-SHA256 (crypto, OpenSSL)", "auth: claims", "auth: rate limiter",
              "auth: authentication handler (JwtBearer)", "auth: authorization (policies, scope handler)", "Npgsql", "Dapper", "FluentValidation", "System.Text.Json", "MVC (filters, model binding, results)", "Routing",
              "Kestrel + HTTP", "other ASP.NET Core middleware", "Allocation (this service)", "Logging, DI, options"}
owner = collections.Counter()


def leaf_area(thread, stack):
    if "Tiered Com" in thread:
        return "JIT (tiered compilation thread)"
    if "GC" in thread:
        return "GC (server GC threads)"
    sym, dso = stack[0]
    if dso.startswith("[kernel"):
        return kernel_kind(stack)
    return frame_area(sym, dso)


for thread, stack in samples:
    leaf_sym, leaf_dso = stack[0]
    area = leaf_area(thread, stack)
    exclusive[area] += 1
    owner[next((a for a in (frame_area(s, d) for s, d in stack) if a in COMPONENTS), area)] += 1
    top_exclusive[short(leaf_sym) + ("" if leaf_sym != "[unknown]" else f" ({leaf_dso.split('/')[-1]})")] += 1
    for area in {frame_area(s, d) for s, d in stack} | {area}:
        inclusive[area] += 1
    for name in {short(s) for s, d in stack if s != "[unknown]"}:
        top_inclusive[name] += 1

print(f"({overhead} samples of the profiler's own threads left out.)\n")
print(f"{total} samples at {HZ} Hz over {requests} requests ({rps:.0f} req/s): "
      f"{us_per_request:.0f} µs of API CPU per request.\n")
print("| area | exclusive % | exclusive µs/request | inclusive % |")
print("|---|---:|---:|---:|")
for area, n in exclusive.most_common():
    print(f"| {area} | {100 * n / total:.1f} | {us_per_request * n / total:.0f} | {100 * inclusive[area] / total:.1f} |")
print("\nBy owner: each sample goes to the innermost library or layer on its stack (a send in the kernel under Npgsql "
      "is Npgsql's), or to where it was burnt when no library is on the stack:\n")
print("| owner | % | µs/request |")
print("|---|---:|---:|")
for area, n in owner.most_common():
    print(f"| {area} | {100 * n / total:.1f} | {us_per_request * n / total:.0f} |")
print("\nTop 25 frames, exclusive (the CPU is spent in the frame itself):\n")
print("| frame | exclusive % |")
print("|---|---:|")
for name, n in top_exclusive.most_common(25):
    print(f"| `{name}` | {100 * n / total:.1f} |")
print("\nTop 30 frames, inclusive (the frame is on the stack):\n")
print("| frame | inclusive % |")
print("|---|---:|")
for name, n in top_inclusive.most_common(30):
    print(f"| `{name}` | {100 * n / total:.1f} |")

series = collections.defaultdict(list)
rows = [row for row in csv.reader(open(counters_csv, encoding="utf-8")) if len(row) >= 5 and row[0] != "Timestamp"]
# The counters ran from before the warm-up to a few seconds after the measured run: keep the window.
stamps = sorted(set(row[0] for row in rows))
window = set(stamps[-(measured_seconds + 5):-5]) if len(stamps) > measured_seconds + 5 else set(stamps)
for row in rows:
    if row[0] in window:
        try:
            series[row[2]].append(float(row[4]))
        except ValueError:
            pass


def mean(name):
    values = series.get(name)
    return statistics.mean(values) if values else float("nan")


gen = {g: mean(f"dotnet.gc.collections ({{collection}} / 1 sec)[gc.heap.generation={g}]") for g in ("gen0", "gen1", "gen2")}
print("\nRuntime counters during the run (dotnet-counters, means of 1-s samples):\n")
print("| counter | value |")
print("|---|---:|")
print(f"| allocated per request | {mean('dotnet.gc.heap.total_allocated (By / 1 sec)') / rps / 1024:.1f} KiB |")
print(f"| GC collections per second (gen0 / gen1 / gen2) | {gen['gen0']:.1f} / {gen['gen1']:.1f} / {gen['gen2']:.2f} |")
print(f"| time paused by GC | {100 * mean('dotnet.gc.pause.time (s / 1 sec)'):.2f} % |")
print(f"| thread-pool queue length | {mean('dotnet.thread_pool.queue.length ({work_item} / 1 sec)'):.1f} |")
print(f"| thread-pool threads | {mean('dotnet.thread_pool.thread.count ({thread} / 1 sec)'):.1f} |")
print(f"| thread-pool work items per request | {mean('dotnet.thread_pool.work_item.count ({work_item} / 1 sec)') / rps:.1f} |")
print(f"| lock contentions per second | {mean('dotnet.monitor.lock_contentions ({contention} / 1 sec)'):.1f} |")
print(f"| JIT time | {100 * mean('dotnet.jit.compilation.time (s / 1 sec)'):.2f} % |")
print(f"| working set | {mean('dotnet.process.memory.working_set (By)') / 1048576:.0f} MB |")
