#!/usr/bin/python3
"""Runs cthreading's benchmarks and writes the report, docs/benchmarks.md.

bench/run.sh builds everything in build/bench and then calls this script:

    bench/report.py --build build/bench [--quick]

It runs, in this order: bench_suite (every workload against every peer,
Google Benchmark repetitions randomly interleaved), the sizes, the system
calls of the no-waiter loops and the ping-pongs (strace -f -c), callgrind
instruction counts per operation, the tutorial's programs with cthreading
and with Debian's python3, and bench_timer_scale. Then it writes the tables,
the gnuplot charts and the goals, with a verdict for each.

--quick runs every piece briefly and writes the report under the build
directory instead: a smoke test that asserts nothing about speed.

Standard library only.
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"  # Debian's python3: the "Python way" rows
SECTION_NS = {"inc": 0, "200ns": 200}
THREADS = [2, 4, 8, 16]
LOCK_PEERS = ["ct_lock", "pthread_mutex", "pthread_mutex_adaptive", "c11_mtx", "nsync_mu",
              "GMutex", "uv_mutex", "ck_spinlock_fas", "ck_spinlock_ticket", "ck_spinlock_mcs",
              "no_lock"]
# The peers whose waiters sleep in the kernel, as ct_lock's do.
SLEEPING = ("pthread_mutex", "pthread_mutex_adaptive", "c11_mtx", "nsync_mu", "GMutex",
            "uv_mutex")
# Rows that are references, not peers: never "the best peer".
NOT_PEERS = ("ct_", "no_lock")
TUTORIAL = [("counter", 1000000, "locked counter, 4 threads x N increments"),
            ("cond", 20000, "condition ping-pong, N round trips"),
            ("event", 20000, "event ping-pong, N round trips"),
            ("threads", 1000, "thread create+start+join, N threads")]


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd, timeout=300):
    """A command's output; a hang fails the run instead of stalling it."""
    return subprocess.run(cmd, check=True, text=True, capture_output=True,
                          timeout=timeout).stdout


class Stat:
    """The median of repeated measurements, with their range."""

    def __init__(self, values):
        self.values = sorted(values)
        self.median = statistics.median(self.values)
        self.min = self.values[0]
        self.max = self.values[-1]


# ---- running ----

def run_suite(build, quick, out_json):
    """Google Benchmark's JSON output of the whole suite."""
    suite = os.path.join(build, "bench", "bench_suite")
    flags = ["--contend-seconds=0.01", "--benchmark_repetitions=1",
             "--benchmark_min_time=0.01"] if quick else \
            ["--contend-seconds=0.25", "--benchmark_repetitions=5",
             "--benchmark_min_time=0.2"]
    cmd = [suite, *flags, "--benchmark_enable_random_interleaving=true",
           f"--benchmark_out={out_json}", "--benchmark_out_format=json"]
    log_path = out_json.replace(".json", ".log")
    log(f"running bench_suite ({'seconds' if quick else 'about 5 minutes'}; "
        f"console output in {log_path})")
    with open(log_path, "w") as f:
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT, timeout=900)
    with open(out_json) as f:
        return json.load(f)


def strace_calls(build, row, n, out_dir):
    """System calls of `bench_suite --play row n`: {syscall: calls}."""
    out = os.path.join(out_dir, "strace.txt")
    subprocess.run(["strace", "-f", "-c", "-o", out, os.path.join(build, "bench", "bench_suite"),
                    "--play", row, str(n)], check=True, capture_output=True, timeout=300)
    calls = {}
    with open(out) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
    return calls


def callgrind_ir(build, row, n, out_dir):
    out = os.path.join(out_dir, "callgrind.out")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                    os.path.join(build, "bench", "bench_suite"), "--play", row, str(n)],
                   check=True, capture_output=True, timeout=300)
    with open(out) as f:
        for line in f:
            if line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


def perf_contended(build, quick):
    """{row: (futex calls, context switches) per 1,000 acquisitions}, from
    perf's counts over one run of each contended row; None without perf."""
    counts = {}
    ms = 20 if quick else 200
    for section in SECTION_NS:
        for threads in THREADS:
            for peer in LOCK_PEERS:
                row = f"lock_contended/{section}/{threads}/{peer}"
                try:
                    p = subprocess.run(
                        ["perf", "stat", "-x,", "-e", "syscalls:sys_enter_futex,context-switches",
                         "--", os.path.join(build, "bench", "bench_suite"), "--play", row,
                         str(ms)], check=True, capture_output=True, text=True, timeout=120)
                except (OSError, subprocess.CalledProcessError) as e:
                    log(f"perf stat failed ({e}): no system call counts for contended rows")
                    return None
                acquisitions = json.loads(p.stdout)["acquisitions"]
                stat = {}
                for line in p.stderr.splitlines():
                    fields = line.split(",")
                    if len(fields) > 2 and fields[0].isdigit():
                        stat[fields[2]] = int(fields[0])
                counts[row] = (stat["syscalls:sys_enter_futex"] * 1e3 / acquisitions,
                               stat["context-switches"] * 1e3 / acquisitions)
    return counts


def run_tutorial(build, quick):
    """Each program with cthreading and with Python, alternating."""
    results = {}
    reps = 1 if quick else 3
    for program, n, _ in TUTORIAL:
        n = max(10, n // 1000) if quick else n
        for rep in range(reps):
            for lang, cmd in (("c", [os.path.join(build, "bench", "bench_tutorial")]),
                              ("python", [PYTHON, os.path.join(ROOT, "bench", "tutorial",
                                                               "tutorial.py")])):
                r = json.loads(run([*cmd, program, str(n)]))
                results.setdefault((program, lang), []).append(r)
    return results


# ---- the suite's results ----

def parse_suite(data):
    """{row name: {"time": Stat ns, "cpu": Stat ns, counter: Stat}}."""
    unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
    raw = {}
    # Registration order: the repetitions ran interleaved at random.
    for b in sorted(data["benchmarks"], key=lambda b: (b["family_index"],
                                                       b["per_family_instance_index"])):
        if b.get("run_type") != "iteration":
            continue
        name = re.sub(r"/(iterations:\d+|manual_time|process_time|real_time)", "", b["run_name"])
        rec = raw.setdefault(name, {})
        scale = unit[b["time_unit"]]
        rec.setdefault("time", []).append(b["real_time"] * scale)
        rec.setdefault("cpu", []).append(b["cpu_time"] * scale)
        for k in ("Mops", "fair", "jain", "worst_us", "cpu_ns", "cores", "switches"):
            if k in b:
                rec.setdefault(k, []).append(b[k])
    return {name: {k: Stat(v) for k, v in rec.items()} for name, rec in raw.items()}


def rows_of(results, prefix):
    """The peers of one workload, in the suite's order: [(peer, stats)]."""
    return [(name[len(prefix):], r) for name, r in results.items() if name.startswith(prefix)]


def best_peer(rows, key, higher=False):
    peers = [(r[key].median, p) for p, r in rows if not p.startswith(NOT_PEERS)]
    return (max if higher else min)(peers)


# ---- formatting ----

def num(x, digits=3):
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def fair(x):
    """A fairness ratio, with a third digit when two would round it to the 0.5 goal."""
    return num(x, 3) if num(x, 2) == "0.5" and x != 0.5 else num(x, 2)


def cell(s, scale=1.0, digits=3):
    return f"{num(s.median * scale, digits)} ({num(s.min * scale, digits)}–{num(s.max * scale, digits)})"


def table(header, body):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


def bold_ct(peer):
    if peer == "no_lock":
        return "*no_lock (reference)*"
    return f"**{peer}**" if peer.startswith("ct_") else peer


# ---- charts ----

def gnuplot(script, data_dir):
    subprocess.run(["gnuplot"], input=script, text=True, check=True, cwd=data_dir, timeout=60)


SVG = ("set terminal svg size 900,420 dynamic noenhanced background rgb 'white' "
       "font 'Helvetica,12'\n")
SECTION_LABEL = {"inc": "one-increment section", "200ns": "~200 ns inside, ~200 ns outside"}


def chart_contended(results, key, title, ylabel, dirs, name, log_y=False, goal=None,
                    scale=1.0):
    """One chart per section size: the metric by thread count, a line per lock."""
    data_dir, chart_dir = dirs
    for section in SECTION_NS:
        plots = []
        for peer in LOCK_PEERS:
            path = os.path.join(data_dir, f"{name}-{section}-{peer}.dat")
            with open(path, "w") as f:
                for t in THREADS:
                    r = results.get(f"lock_contended/{section}/{t}/{peer}")
                    if r:
                        f.write(f"{t} {max(r[key].median * scale, 1e-9 if log_y else 0)}\n")
            style = {"ct_lock": "lw 4", "no_lock": "lw 2 dt 3 lc rgb 'gray40'"}.get(peer, "lw 1.5")
            plots.append(f"'{os.path.basename(path)}' using 1:2 with linespoints {style} "
                         f"title '{peer}'")
        if goal is not None:
            plots.append(f"{goal} with lines dt 2 lw 2 lc rgb 'red' title 'goal'")
        script = SVG + f"set output '{chart_dir}/{name}_{section}.svg'\n"
        script += f"set title '{title}, {SECTION_LABEL[section]}'\n"
        script += "set logscale x 2\nset xrange [1.8:18]\nset xtics (2,4,8,16)\n"
        script += f"set xlabel 'threads'\nset ylabel '{ylabel}'\nset grid\n"
        script += "set key outside right\n"
        if log_y:
            script += "set logscale y\n"
        else:
            script += "set yrange [0:*]\n"
        script += "plot " + ", \\\n  ".join(plots) + "\n"
        gnuplot(script, data_dir)


def chart_latency(results, dirs, name, groups):
    data_dir, chart_dir = dirs
    path = os.path.join(data_dir, f"{name}.dat")
    with open(path, "w") as f:
        i = 0
        for workload, label in groups:
            for peer, r in rows_of(results, workload + "/"):
                t = r["time"]
                color = "0xd62728" if peer.startswith("ct_") else "0x1f77b4"
                f.write(f"{i} {t.median / 1e3} {t.min / 1e3} {t.max / 1e3} {color} "
                        f"\"{label}: {peer}\"\n")
                i += 1
            i += 1
    script = SVG.replace("900,420", "900,560") + f"set output '{chart_dir}/{name}.svg'\n"
    script += ("set title 'Round trip (ping-pong) or phase (barrier), median with min-max; "
               "cthreading in red'\n"
               "set ylabel 'microseconds'\nset style fill solid 0.7\nset boxwidth 0.8\n"
               "set xtics rotate by 45 right font ',10'\nset grid ytics\nset yrange [0:*]\n"
               "unset key\nset bmargin 13\nset lmargin 12\n"
               f"plot '{name}.dat' using 1:2:(0.8):5:xtic(6) with boxes lc rgb variable, \\\n"
               f"  '' using 1:2:3:4 with yerrorbars lc rgb 'black' pt 0\n")
    gnuplot(script, data_dir)


# ---- the goals ----

def verdict(ok):
    return "met" if ok else "**not met**"


def goals(res, sizes, nowait_calls):
    """[(workload, goal, measured, met)]."""
    g = []
    t = {p: r["time"].median for p, r in rows_of(res, "lock_uncontended/")}
    vs_pthread, vs_bare = t["pthread_mutex"] / t["ct_lock"], t["ct_lock"] / t["bare_xchg_lock"]
    g.append(("uncontended `ct_lock` acquire+release",
              "≥ 1.2× faster than pthread_mutex; within 10 % of a bare exchange lock",
              f"{num(t['ct_lock'])} ns: {vs_pthread:.2f}× faster than pthread_mutex "
              f"({num(t['pthread_mutex'])} ns); {vs_bare:.2f}× the bare lock "
              f"({num(t['bare_xchg_lock'])} ns)",
              vs_pthread >= 1.2 and vs_bare <= 1.10))
    for section, ns in SECTION_NS.items():
        for threads in THREADS:
            rows = rows_of(res, f"lock_contended/{section}/{threads}/")
            if not rows:
                continue
            ct = dict(rows)["ct_lock"]
            best, who = best_peer(rows, "Mops", higher=True)
            fairness, worst_ms = ct["fair"].median, ct["worst_us"].median / 1e3
            limit_ms = 2 + ns / 1e6
            ok = ct["Mops"].median >= best and fairness >= 0.5 and worst_ms <= limit_ms
            g.append((f"contended, {threads} threads, "
                      f"{'one increment' if section == 'inc' else '200 ns in/out'}",
                      "Mops ≥ best peer; fairness min/max ≥ 0.5; longest wait ≤ 2 ms + section",
                      f"{num(ct['Mops'].median)} Mops vs {num(best)} ({who}): "
                      f"{ct['Mops'].median / best:.2f}×; fairness {fair(fairness)}; "
                      f"longest wait {num(worst_ms)} ms",
                      ok))
    pp = {w: dict(rows_of(res, w + "/")) for w in
          ("sem_pingpong", "event_pingpong", "cond_pingpong", "barrier/2", "barrier/4")}
    floor = pp["sem_pingpong"]["sem_t"]["time"].median
    ev = pp["event_pingpong"]["ct_event"]["time"].median
    g.append(("`ct_event` ping-pong", "≤ 1.1× sem_t ping-pong",
              f"{num(ev / 1e3)} µs vs sem_t {num(floor / 1e3)} µs: {ev / floor:.2f}×",
              ev <= 1.1 * floor))
    for peer in ("ct_cond", "ct_cond_lock"):
        c = pp["cond_pingpong"][peer]["time"].median
        best, who = best_peer(list(pp["cond_pingpong"].items()), "time")
        g.append((f"condition ping-pong (`{peer}`)", "≤ best peer, and ≤ 1.2× sem_t ping-pong",
                  f"{num(c / 1e3)} µs vs {who} {num(best / 1e3)} µs ({c / best:.2f}×); "
                  f"{c / floor:.2f}× sem_t",
                  c <= best and c <= 1.2 * floor))
    for workload, label, peer in (("sem_pingpong", "semaphore ping-pong", "ct_sem"),
                                  ("barrier/2", "barrier phase, 2 threads", "ct_barrier"),
                                  ("barrier/4", "barrier phase, 4 threads", "ct_barrier")):
        c = pp[workload][peer]["time"].median
        best, who = best_peer(list(pp[workload].items()), "time")
        g.append((label, "≤ best peer",
                  f"{num(c / 1e3)} µs vs {who} {num(best / 1e3)} µs: {c / best:.2f}×", c <= best))
    for row, label in (("nowait/ct_event_set_clear", "`ct_event_set`"),
                       ("nowait/ct_sem_release_acquire", "`ct_sem_release`")):
        calls, n = nowait_calls[row]
        g.append((f"{label} with nobody waiting", "no system call",
                  f"{calls} system calls over {n:,} rounds (strace -f -c, beyond start-up)",
                  calls == 0))
    th = dict(rows_of(res, "thread_create_join/"))
    ct, raw = th["ct_thread"]["time"].median, th["pthread"]["time"].median
    g.append(("thread create+start+join", "≤ 1.2× pthread_create+pthread_join",
              f"{num(ct / 1e3)} µs vs {num(raw / 1e3)} µs: {ct / raw:.2f}×", ct <= 1.2 * raw))
    size = {s["type"]: s["size"] for s in sizes}
    limits = [("ct_lock_t", 4, "="), ("ct_event_t", 4, "="), ("ct_sem_t", 8, "≤"),
              ("ct_rlock_t", 16, "≤"), ("ct_cond_t", 48, "≤"), ("ct_barrier_t", 48, "≤")]
    g.append(("sizes", "lock 4 B, event 4 B, semaphore ≤ 8, rlock ≤ 16, condition ≤ 48, "
              "barrier ≤ 48",
              ", ".join(f"{t} {size[t]} B" for t, _, _ in limits),
              all(size[t] == n if op == "=" else size[t] <= n for t, n, op in limits)))
    return g


# ---- the report ----

def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for pkg in ("libc6", "libbenchmark-dev", "libnsync-dev", "libglib2.0-dev", "libuv1-dev",
                "libck-dev", "python3", "gcc"):
        try:
            versions[pkg] = run(["dpkg-query", "-W", "-f", "${Version}", pkg])
        except (subprocess.CalledProcessError, FileNotFoundError):
            versions[pkg] = "?"
    return model, os.cpu_count(), platform.release(), versions


def overlaps(a, b):
    """Whether two ranges of repetitions overlap: then their medians' order
    is within this run's noise."""
    return a.min <= b.max and b.min <= a.max


def goals_not_met(ctx):
    """The goals not met: what the measurements show, why, and what would
    fix it. The figures are this run's; the causes were found with strace,
    perf and callgrind on this code (src/ as of this report)."""
    res, g = ctx["results"], {row[0]: row for row in ctx["goals"]}
    calls = dict(ctx["team_calls"])
    out = ["## Summary\n"]
    w = out.append
    if ctx["quick"]:
        return "\n".join(out + ["(none in quick mode)\n"])
    unmet = [row for row in ctx["goals"] if not row[3]]
    w(f"{len(ctx['goals']) - len(unmet)} of {len(ctx['goals'])} goals are met in this run. "
      "For each goal not met: what this run measured, why, and what change would fix it.\n")

    nl = {t: res[f"lock_contended/inc/{t}/no_lock"] for t in THREADS}
    w("**The machine.** " +
      f"The *no_lock* reference (two timestamps around an atomic increment, no lock) got "
      f"{nl[2]['cores'].median:.2f} of the 2 cores with 2 threads, and its longest gap between "
      f"two timestamps was {num(nl[2]['worst_us'].median / 1e3)} ms at 2 threads and "
      f"{num(nl[16]['worst_us'].median / 1e3)} ms at 16: preemption by the other work on this "
      "shared machine, not any lock. Every comparison below is between rows of the same run, "
      "but a ratio whose two ranges (min–max) overlap is within that noise.\n")

    t = {p: r["time"] for p, r in rows_of(res, "lock_uncontended/")}
    ir = ctx["ir"]
    row = g["uncontended `ct_lock` acquire+release"]
    w(f"**Uncontended lock** ({verdict(row[3])}). ct_lock runs "
      f"{num(ir['lock_uncontended/ct_lock'])} instructions per pair (callgrind), the bare "
      f"exchange lock {num(ir['lock_uncontended/bare_xchg_lock'])} and pthread_mutex "
      f"{num(ir['lock_uncontended/pthread_mutex'])}. Both ct_lock and the bare lock pay two "
      "calls through the PLT; ct_lock's release is a `lock cmpxchg` (it must learn "
      "atomically whether someone sleeps), the bare lock's a plain store, so ct_lock has one "
      "more locked instruction per pair. Inlining both fast paths into "
      "`include/cthreading/lock.h` (a `static inline` compare-and-swap each way, the slow "
      "paths out of line) was tried: about 1 ns less per pair in interleaved runs (7.2 → "
      "6.2 ns, 8.4 → 8.2 ns), the two locked compare-and-swaps being most of the cost — the "
      f"inlined `ck_spinlock_fas` row ({num(t['ck_spinlock_fas'].median)} ns) pays one "
      "exchange and a plain store — so it was not kept, against a public header that would "
      "have to carry the lock's protocol.\n")

    cells = [(s_, th) for s_ in SECTION_NS for th in THREADS]
    slow, unfair, long_wait = [], [], []
    slow_200 = []  # ct_lock's Mops in the 200 ns cells where it trails
    for section, threads in cells:
        rows = rows_of(res, f"lock_contended/{section}/{threads}/")
        d = dict(rows)
        ct = d["ct_lock"]
        best, who = best_peer(rows, "Mops", higher=True)
        label = f"{threads} threads {'inc' if section == 'inc' else '200 ns'}"
        if ct["Mops"].median < best:
            slow.append(f"{label}: {ct['Mops'].median / best:.2f}× {who}, whose fairness is "
                        f"{num(d[who]['fair'].median, 2)} to ct_lock's "
                        f"{num(ct['fair'].median, 2)}"
                        f"{' (ranges overlap)' if overlaps(ct['Mops'], d[who]['Mops']) else ''}")
            if section == "200ns":
                slow_200.append(ct["Mops"].median)
        if ct["fair"].median < 0.5:
            unfair.append(f"{label}: {fair(ct['fair'].median)} (no_lock "
                          f"{num(d['no_lock']['fair'].median, 2)})")
        if ct["worst_us"].median > 2000 + SECTION_NS[section] / 1e3:
            long_wait.append(f"{label}: {num(ct['worst_us'].median / 1e3, 2)} ms (no_lock "
                             f"{num(d['no_lock']['worst_us'].median / 1e3, 2)})")
    ok = sum(1 for s_, th in cells if g[f"contended, {th} threads, "
             f"{'one increment' if s_ == 'inc' else '200 ns in/out'}"][3])
    w(f"**Contended lock** ({ok} of {len(cells)} cells met). An arrival at a held "
      "ct_lock waits 2 µs without reading the lock's word, looks once, then yields up to 4 "
      "times with a look after each before it counts itself in and sleeps; a sleeper woken "
      "by a release that finds the lock taken again waits 2 µs and looks once more before "
      "it sleeps again; a waiter that has waited over 1 ms makes the next release hand the "
      "lock to a sleeper. Not reading the "
      "word is what matters with short sections: every look pulls the cache line from the "
      "holder's core, and a spinner that looks often takes the lock whenever it is free, so "
      "that the lock crosses between the cores on every acquisition; left alone, the "
      "holder's core runs many sections at its uncontended speed while the others wait or "
      "sleep. Against the earlier spin (looks with back-off, 127 pauses in all, then the "
      "same yields) that doubled the one-increment throughput and cut the longest waits "
      "five- to tenfold, in interleaved runs of this suite; the woken sleeper's second look "
      "(without which it goes straight back to the end of the kernel's queue just as its turn "
      "came) raised fairness with a one-increment section from 0.24–0.54 to 0.52–0.72 and "
      "throughput with 200 ns sections by 5–40 %. Tried in `src/lock.c` and not "
      "kept: a first look after a few pauses before the 2 µs wait (0.7–0.9× the throughput "
      "with a one-increment section: the ping-pong comes back); waits of 0.25–1 µs (less "
      "throughput, no better elsewhere); a starvation threshold of 125–500 µs instead of 1 "
      "ms, and a starving waiter that watches the word for its hand-off for 50–200 µs "
      "instead of sleeping (no change beyond the noise); a first sleep that ends by itself "
      "at 1 ms, so that a starving waiter sets STARVING at once (2–3× the context switches "
      "and less throughput); a starving waiter that yields instead of sleeping (up to 14× "
      "the context switches); a woken waiter that, finding the lock held, naps 100 µs while "
      "the holder keeps it and then asks for a hand-off (a protocol change: with the old "
      "spin 23–26 against 14–15 Mops at 8–16 threads, but fairness no better). A "
      "condition's notified waiter, and the short sections inside the barrier and the "
      "timer service, take the lock eagerly instead (looks with back-off from the start, "
      "`ct__lock_acquire_eager`): their holder releases soon and does not come back at "
      "once, and the patient wait had made the condition ping-pong several times slower "
      "(12–17 against 2–5 µs per round trip in interleaved runs).")
    if slow:
        n_overlap = sum(1 for x in slow if "overlap" in x)
        text = ("- Throughput below the best peer: " + "; ".join(slow) + ". " +
                (f"In {n_overlap} of these {len(slow)} cells the ranges overlap: this run "
                 "cannot order the two. " if n_overlap else ""))
        if ctx["perf"]:
            fewer = sum(1 for s_, th in cells
                        if ctx["perf"][f"lock_contended/{s_}/{th}/ct_lock"][0] <= statistics.median(
                            ctx["perf"][f"lock_contended/{s_}/{th}/{p}"][0] for p in SLEEPING))
            text += (f"In {fewer} of the {len(cells)} cells ct_lock makes no more futex calls "
                     "per 1,000 acquisitions than the median of the other sleeping locks "
                     "(perf, above), so sleeping more often is not its problem. ")
        if slow_200:
            one = 1e3 / (2 * SECTION_NS["200ns"])
            text += (f"With 200 ns sections ct_lock's {num(min(slow_200))}–{num(max(slow_200))} "
                     "Mops is "
                     + (f"about what one thread doing both halves gets ({num(one)} Mops)"
                        if max(slow_200) < 1.15 * one else
                        f"not far above what one thread doing both halves gets ({num(one)} "
                        "Mops)") +
                     ": its waiter, looking once after 2 µs, seldom takes the lock in the "
                     "200 ns while the holder works outside it, so the holder mostly takes it "
                     "again. The locks ahead there look at the word continually and take it "
                     "the moment it is free, so that one thread's outside work overlaps "
                     "another's section; that same eagerness is what costs them half their "
                     "throughput with a one-increment section. In interleaved runs "
                     "the earlier spin (looks with back-off) did no better in these rows, "
                     "within the noise, while it halved the one-increment rows. Choosing per "
                     "lock would mean timing sections, a clock read on the uncontended path.")

        w(text)
    if unfair:
        worse = []
        for s_, th in cells:
            d = {p: r["fair"].median for p, r in rows_of(res, f"lock_contended/{s_}/{th}/")}
            peers = statistics.median(d[p] for p in SLEEPING)
            if d["ct_lock"] < 0.5 and d["ct_lock"] < min(d["no_lock"], peers):
                worse.append(f"{th} threads {'inc' if s_ == 'inc' else '200 ns'}: "
                             f"{num(d['ct_lock'], 2)} against {num(peers, 2)}")
        text = ("- Fairness (min/max) below 0.5: " + "; ".join(unfair) + ". With more "
                "threads than cores most threads are runnable but not running, and the "
                "scheduler decides how often each runs: the no_lock reference shows what it "
                "gives without a lock. Making counts even beyond that would need strict FIFO "
                "hand-off, a context switch per acquisition when the next in line is not "
                "running — the ticket and MCS spinlocks show that cost (orders of magnitude "
                "less throughput) — so this goal and the throughput goal cannot both be met "
                "with more threads than cores")
        text += ("; with as many threads as cores (2) ct_lock meets it. "
                 if all(res[f"lock_contended/{s_}/2/ct_lock"]["fair"].median >= 0.5
                        for s_ in SECTION_NS) else ". ")
        if worse:
            text += (f"But in {len(worse)} cell{'s' if len(worse) != 1 else ''} ct_lock is "
                     "less fair than both no_lock and "
                     "the median sleeping peer (" + "; ".join(worse) + "), so there the lock "
                     "adds unfairness of its own: the sleepers, let out one at a time, rarely win "
                     "against running threads that barge in with one compare-and-swap, and "
                     "the hand-off mode (STARVING) begins only when a waiter older than 1 ms "
                     "is woken and loses; and a woken waiter that still loses after its second "
                     "look sleeps again at the back of the kernel's FIFO queue, so turns are "
                     "not taken in order. "
                     "Shorter thresholds and the other changes tried (above) did not make the "
                     "counts reliably more even. What would is a waiter queue of the lock's "
                     "own, as nsync keeps in user space, where a woken waiter that loses goes "
                     "back to the front: for a 4-byte lock that means a table of queues "
                     "keyed by the lock's address, a new protocol to be model-checked again "
                     "(`models/lock.pml`).")
        w(text)
    if long_wait:
        floor = sum(1 for s_, th in cells
                    if res[f"lock_contended/{s_}/{th}/no_lock"]["worst_us"].median > 2000)
        shorter = sum(1 for s_, th in cells
                      if res[f"lock_contended/{s_}/{th}/ct_lock"]["worst_us"].median > 2000 and
                      res[f"lock_contended/{s_}/{th}/ct_lock"]["worst_us"].median <
                      res[f"lock_contended/{s_}/{th}/no_lock"]["worst_us"].median)
        w("- Longest wait over 2 ms: " + "; ".join(long_wait) + ". The no_lock reference "
          f"exceeds 2 ms too in {floor} of the {len(cells)} cells: a thread preempted "
          "between its two timestamps shows as a wait, whatever the lock. In "
          f"{shorter} of these {len(long_wait)} cells ct_lock's longest wait is shorter than "
          "no_lock's: its waiters sleep instead of competing for the cores, so fewer threads "
          "are there to be preempted. What remains is the 1 ms a waiter waits before it asks "
          "for a hand-off, the time the kernel takes to run the sleeper handed the lock, and "
          "preemption; shorter thresholds did not help (above), and a waiter that loses "
          "going to the back of the kernel's queue (fairness, above) lengthens some waits to "
          "several thresholds. This goal can only "
          "be judged on an otherwise idle machine (`make bench` alone), and even then only for thread counts up to the "
          "number of cores.")
    w("")

    def pp(row):
        return res[row]["time"]
    ev, sem = pp("event_pingpong/ct_event"), pp("sem_pingpong/sem_t")
    c_ev, c_sem = calls["event_pingpong/ct_event"], calls["sem_pingpong/sem_t"]
    w(f"**Event ping-pong** ({verdict(g['`ct_event` ping-pong'][3])}): "
      f"{num(ev.median / 1e3)} µs against sem_t's {num(sem.median / 1e3)} µs; ct_event makes "
      f"{c_ev['futex']:.2f} futex calls per round trip, sem_t {c_sem['futex']:.2f}, and both "
      f"{num(res['event_pingpong/ct_event']['switches'].median, 2)} / "
      f"{num(res['sem_pingpong/sem_t']['switches'].median, 2)} context switches: ct_event "
      "already wakes only when someone sleeps and sits at the two-hand-off floor"
      f"{'; the ranges overlap, so the difference is noise' if overlaps(ev, sem) else ''}.\n")

    cond, nsync = res["cond_pingpong/ct_cond"], res["cond_pingpong/nsync_cv"]
    c_per = statistics.median(r["wall"] / r["ops"] for r in ctx["tutorial"]["cond/c"])
    py_per = statistics.median(r["wall"] / r["ops"] for r in ctx["tutorial"]["cond/python"])
    python_cond = (f"The tutorial's condition program is even slower with cthreading "
                   f"({num(c_per * 1e6)} µs per round trip) than with CPython "
                   f"({num(py_per * 1e6)} µs; see The Python way). " if c_per > py_per else "")
    w(f"**Condition ping-pong** ({verdict(g['condition ping-pong (`ct_cond`)'][3])}): "
      f"{num(cond['time'].median / 1e3)} µs per round trip against nsync_cv's "
      f"{num(nsync['time'].median / 1e3)} µs and the sem_t floor's {num(sem.median / 1e3)} µs; "
      f"{python_cond}ct_cond makes {calls['cond_pingpong/ct_cond']['futex']:.1f} "
      f"futex calls and {num(cond['switches'].median, 2)} context switches per round trip, "
      f"nsync_cv {calls['cond_pingpong/nsync_cv']['futex']:.1f} and "
      f"{num(nsync['switches'].median, 2)}. `ct_cond_notify` never wakes a waiter into the "
      "lock its notifier still holds (which cost an extra sleep and wake per hand-off, three "
      "times nsync's round trip, before): a waiter still spinning on its word is told with "
      "one store, and one asleep in the kernel is moved onto the lock's word "
      "(`FUTEX_CMP_REQUEUE`, `ct__requeue` in `src/wait/`) and counted in as the lock's "
      "waiter, so that the notifier's release wakes it once the lock is free (wait "
      "morphing, as nsync does)."
      + ("" if g["condition ping-pong (`ct_cond`)"][3] else
         " What is left above the two-hand-off floor: the requeue is a system call of its "
         "own whenever the waiter has already gone to sleep, where nsync moves waiters "
         "between its queues in user space. To close it: a user-space waiter queue in the "
         "lock (see the contended lock above), so that notify moves a node without entering "
         "the kernel.") + "\n")

    for workload, name, peer in (("sem_pingpong", "semaphore ping-pong", "ct_sem"),
                                 ("barrier/2", "barrier phase, 2 threads", "ct_barrier"),
                                 ("barrier/4", "barrier phase, 4 threads", "ct_barrier")):
        rows = rows_of(res, workload + "/")
        best, who = best_peer(rows, "time")
        mine, theirs = dict(rows)[peer]["time"], dict(rows)[who]["time"]
        w(f"**{name[0].upper() + name[1:]}** ({verdict(g[name][3])}): {num(mine.median / 1e3)} µs "
          f"against {who}'s {num(theirs.median / 1e3)} µs, with "
          f"{calls[workload + '/' + peer]['futex']:.2f} futex calls per iteration against "
          f"{calls[workload + '/' + who]['futex']:.2f}"
          + ("; the ranges overlap: the difference is within this run's noise, and the "
             "system calls are the same" if overlaps(mine, theirs) else
             "; the system calls are the same, so the difference is in user space or in "
             "where the kernel placed the woken threads")
          + (f" (uv_sem, which on this glibc is sem_t behind one more call, is "
             f"{dict(rows)['uv_sem']['time'].median / dict(rows)['sem_t']['time'].median:.2f}× "
             "sem_t in the same run)." if workload == "sem_pingpong" else ".") + "\n")

    th = dict(rows_of(res, "thread_create_join/"))
    ct, raw = th["ct_thread"], th["pthread"]
    w(f"**Thread create+start+join** ({verdict(g['thread create+start+join'][3])}): "
      f"{num(ct['time'].median / 1e3)} µs against {num(raw['time'].median / 1e3)} µs "
      f"(CPU {num(ct['cpu'].median / 1e3)} against {num(raw['cpu'].median / 1e3)} µs, the "
      "steadier figure on a shared machine). Per thread, ct_thread makes "
      f"{calls['thread_create_join/ct_thread']['all']:.0f} system calls to pthread's "
      f"{calls['thread_create_join/pthread']['all']:.0f}: `prctl(PR_SET_NAME)` to give the "
      "OS thread its Python name, `gettid` for `ct_thread_native_id`, and a futex wake for "
      "the join, which waits in user space for the thread's end (the OS thread runs "
      "detached) where `pthread_join` is woken by the kernel at exit; the new thread also "
      "takes the registry lock twice (`trampoline` and `end_thread` in `src/thread.c`). "
      + ("To close the gap" if not g["thread create+start+join"][3] else
         "Should it need to be cheaper") +
      ": read the native id lazily (only `ct_thread_native_id` needs it), and "
      "name the OS thread only when a name was given (the default \"Thread-N (fn)\" would "
      "then not show in `top -H`, which the API promises).\n")

    size = {s_["type"]: s_["size"] for s_ in ctx["sizes"]}
    text = f"**Sizes** ({verdict(g['sizes'][3])})."
    if size["ct_sem_t"] > 8:
        text += (f" `ct_sem_t` is {size['ct_sem_t']} B (goal ≤ 8): its count word, a `waiters` "
                 "counter, a `handoff` word for the hungry waiter and the bound `max` "
                 "(`include/cthreading/sem.h`). To reach 8 B: a WAITERS bit in the count word "
                 "instead of the counter (as `src/event.c` does; at worst one needless "
                 "wake), and one word holding the bound (30 bits) and a 2-bit hand-off "
                 "sequence that the hungry waiter sleeps on.")
    if size["ct_cond_t"] > 48:
        text += (f" `ct_cond_t` is {size['ct_cond_t']} B (goal ≤ 48): its own RLock, the "
                 "given Lock or RLock, and its waiter queue (`include/cthreading/cond.h`); one "
                 "tagged pointer for the given lock (low bit: Lock or RLock) saves 8 B.")
    w(text + "\n")
    return "\n".join(out)


def write_report(path, chart_rel, ctx):
    res, sizes = ctx["results"], ctx["sizes"]
    model, cpus, kernel, versions = ctx["machine"]
    out = []
    w = out.append
    w("# Benchmarks\n")
    w(f"cthreading against the libraries a C programmer would otherwise use, measured in one "
      f"run of `make bench` ({ctx['date']}; the measurements took {ctx['minutes']:.1f} "
      f"minutes; load average {ctx['load'][0]:.1f} before, {ctx['load'][1]:.1f} after) on "
      f"this machine: "
      f"{model}, {cpus} cores, Linux {kernel}, glibc {versions['libc6']}, gcc {versions['gcc']}. "
      f"The machine is a shared 2-core virtual machine: absolute figures are noisy, which is "
      f"why every row is a median over repetitions with its range, and every comparison is "
      f"between peers measured in the same process, their repetitions interleaved.\n")
    if ctx["quick"]:
        w("**Quick mode: a smoke run. These figures mean nothing.**\n")
    w("## How it is measured\n")
    w(f"""- **Peers**, all from Debian packages that `bench/run.sh` installs: glibc pthreads
  (`pthread_mutex_t` default and `PTHREAD_MUTEX_ADAPTIVE_NP`, `pthread_cond_t`, `sem_t`,
  `pthread_barrier_t`, `pthread_create`), C11 `<threads.h>`, Google nsync
  ({versions['libnsync-dev']}), GLib ({versions['libglib2.0-dev']}), libuv
  ({versions['libuv1-dev']}) and Concurrency Kit spinlocks ({versions['libck-dev']}; the
  test-and-set `fas`, `ticket` and `mcs` locks). Where a library has no such primitive it has
  no row. Every peer's loop calls that peer directly (the workloads are C macros expanded per
  peer in `bench/suite/*.c`), and the libraries are called as shared libraries, as users call
  them; the Concurrency Kit locks are inline header code.
- **Harness**: Google Benchmark {versions['libbenchmark-dev']} (`bench/suite/main.cc`). Every
  row is repeated {ctx['reps']} times and the repetitions of all rows run in a random
  interleaved order (`--benchmark_enable_random_interleaving`), so that a noisy moment hits
  peers alike. Tables give the **median, with the minimum–maximum in parentheses**. Debian
  builds the library without `NDEBUG` (CMake build type `None`), which is why it prints
  "Library was built as DEBUG": that only enables the library's own assertions, in code
  that runs between timed batches (`KeepRunningBatch`, the timers, the reporters); the timed
  loop is the inline `for (auto _ : state)` in our own code, compiled `-O2`, so the
  figures are not affected.
- **CPU time** (user + system, all threads of the process) is given beside wall time; for
  the ping-pongs a peer that spins instead of sleeping shows it there.
- **Contended locks**: Google Benchmark's `->Threads(n)` gives every thread the same number
  of iterations, so it cannot measure fairness. Instead, n raw pthreads run for
  {ctx['contend_seconds']} s each repetition, each acquiring, incrementing a shared
  counter (optionally with ~200 ns of work inside and ~200 ns outside the section), and
  releasing, counting its own acquisitions. Reported: total throughput (Mops/s),
  **fairness** = min/max of the per-thread counts and Jain's index, and the **longest wait**:
  the longest time any thread spent from calling acquire to having released (so: the wait
  plus one section). The only work outside the one-increment section is one TSC read. Each
  run checks that the counter equals the sum of the acquisitions. This machine has 2 cores,
  so at 4, 8 and 16 threads most threads are not running at any moment: a lock whose
  waiters spin burns the holder's CPU time. The *no_lock* row is the same loop with an
  atomic increment and no lock: what the scheduler alone does to fairness and to the
  longest "wait" here (a thread that is preempted between its two timestamps shows it);
  it is a reference, never "the best peer".
- **Ping-pongs**: one thread and a partner hand a token back and forth; one iteration is a
  round trip (two hand-offs). Barrier: one iteration is one phase of all parties.
""")

    w("## Goals\n")
    w("The performance goals, with the figures of this run.\n")
    w(table(["workload", "goal", "measured", "verdict"],
            [(a, b, c, verdict(d)) for a, b, c, d in ctx["goals"]]))
    met = sum(1 for g in ctx["goals"] if g[3])
    w(f"\n{met} of {len(ctx['goals'])} goals met.\n")

    # uncontended
    w("## Uncontended acquire+release\n")
    rows = rows_of(res, "lock_uncontended/")
    best, who = best_peer(rows, "time")
    w(f"One thread, nobody else near the lock. ns per acquire+release pair; ratio against the "
      f"fastest peer ({who}). Instructions per pair from callgrind "
      f"(`bench_suite --play lock_uncontended/PEER N`, start-up subtracted).\n")
    w(table(["lock", "ns per pair", "CPU ns", "× best peer", "instructions"],
            [(bold_ct(p), cell(r["time"]), num(r["cpu"].median), f"{r['time'].median / best:.2f}",
              num(ctx["ir"].get("lock_uncontended/" + p, float("nan")), 3))
             for p, r in rows]))
    w("\n`bare_xchg_lock` is the floor: an exchange to lock and a plain store to unlock, in its "
      "own shared library (`bench/suite/bare_lock.c`); `ck_spinlock_*` are inlined into the "
      "loop, so they pay no call at all.\n")

    # contended
    w("## Contended throughput, fairness, longest wait\n")
    for chart, alt in (("throughput", "throughput"), ("fairness", "fairness"),
                       ("worst_wait", "longest wait")):
        for section in SECTION_NS:
            w(f"![{alt}, {SECTION_LABEL[section]}]({chart_rel}/contended_{chart}_{section}.svg)\n")
    for section, label in (("inc", "one-increment section"),
                           ("200ns", "~200 ns inside, ~200 ns outside")):
        for key, what, scale, higher in (("Mops", "throughput, Mops/s", 1, True),
                                         ("fair", "fairness, min/max of per-thread counts", 1,
                                          True),
                                         ("jain", "Jain's fairness index", 1, True),
                                         ("worst_us", "longest wait + section, ms", 1e-3, False),
                                         ("cpu_ns", "CPU ns per acquisition", 1, False)):
            w(f"### {label}: {what}\n")
            body = []
            for peer in LOCK_PEERS:
                line = [bold_ct(peer)]
                for t in THREADS:
                    r = res.get(f"lock_contended/{section}/{t}/{peer}")
                    line.append(cell(r[key], scale, 2) if r else "–")
                body.append(line)
            if key == "Mops":
                ratio = ["ct_lock ÷ best peer"]
                for t in THREADS:
                    rs = rows_of(res, f"lock_contended/{section}/{t}/")
                    b, who2 = best_peer(rs, "Mops", higher=True)
                    ratio.append(f"{dict(rs)['ct_lock']['Mops'].median / b:.2f} ({who2})")
                body.append(ratio)
            w(table(["lock", *[f"{t} threads" for t in THREADS]], body))
            w("")

    w("### System calls per acquisition\n")
    if ctx["perf"] is None:
        w("`perf stat` could not count system calls on this machine.\n")
    else:
        w("futex calls / context switches per 1,000 acquisitions, counted by `perf stat -e "
          "syscalls:sys_enter_futex,context-switches` over one separate run of each row "
          "(`bench_suite --play lock_contended/SECTION/THREADS/PEER MS`): how often a lock "
          "sleeps and wakes instead of spinning or barging.\n")
        for section in SECTION_NS:
            w(f"{SECTION_LABEL[section]}:\n")
            body = []
            for peer in LOCK_PEERS:
                line = [bold_ct(peer)]
                for t in THREADS:
                    f, c = ctx["perf"][f"lock_contended/{section}/{t}/{peer}"]
                    line.append(f"{num(f, 2)} / {num(c, 2)}")
                body.append(line)
            w(table(["lock", *[f"{t} threads" for t in THREADS]], body))
            w("")

    # ping-pongs
    w("## Ping-pong and barrier latency\n")
    w(f"![latency]({chart_rel}/latency.svg)\n")
    w("Microseconds per round trip (ping-pong) or per phase (barrier); CPU µs of the whole "
      "process per iteration, and context switches per iteration. Ratio against the best "
      "peer of the row (cthreading excluded), and for the ping-pongs against the `sem_t` "
      "floor (two futex hand-offs per round trip).\n")
    floor = res["sem_pingpong/sem_t"]["time"].median
    for workload, label in (("cond_pingpong", "Condition ping-pong"),
                            ("sem_pingpong", "Semaphore ping-pong"),
                            ("event_pingpong", "Event ping-pong"),
                            ("barrier/2", "Barrier, 2 threads"),
                            ("barrier/4", "Barrier, 4 threads")):
        rows = rows_of(res, workload + "/")
        best, who = best_peer(rows, "time")
        w(f"### {label}\n")
        body = []
        for p, r in rows:
            line = [bold_ct(p), cell(r["time"], 1e-3), num(r["cpu"].median / 1e3),
                    num(r["switches"].median, 3), f"{r['time'].median / best:.2f}"]
            if "pingpong" in workload:
                line.append(f"{r['time'].median / floor:.2f}")
            body.append(line)
        hdr = ["peer", "µs", "CPU µs", "switches", f"× best ({who})"]
        if "pingpong" in workload:
            hdr.append("× sem_t")
        w(table(hdr, body))
        w("")
    w("System calls per round trip or phase (`strace -f -c` over "
      f"{ctx['team_rounds']:,} iterations, start-up subtracted; strace slows every call, so "
      "these are counts, not times):\n")
    w(table(["row", "futex calls per iteration", "all system calls per iteration"],
            [(row, f"{c['futex']:.2f}", f"{c['all']:.2f}") for row, c in ctx["team_calls"]
             if not row.startswith("thread_")]))
    w("")

    # nowait
    w("## Signalling with nobody waiting\n")
    w("One thread sets and clears an event, or releases and takes back a permit. ns per "
      "pair, and the system calls that `strace -f -c` counts over the whole loop beyond "
      "those of start-up (a run with 0 rounds).\n")
    w(table(["loop", "ns per pair", "system calls", "instructions per pair"],
            [(bold_ct(p), cell(r["time"]), f"{ctx['nowait'][('nowait/' + p)][0]} in "
              f"{ctx['nowait'][('nowait/' + p)][1]:,}",
              num(ctx["ir"].get("nowait/" + p, float("nan"))))
             for p, r in rows_of(res, "nowait/")]))
    w("")

    # threads
    w("## Thread create+start+join\n")
    rows = rows_of(res, "thread_create_join/")
    raw = dict(rows)["pthread"]["time"].median
    w("A thread that does nothing, created, started and joined, one after another, with each "
      "library's own thread API as its users call it (`ct_thread_spawn(fn, arg, NULL)`, which "
      "names the thread as Python does and gives the OS thread that name, then "
      "`ct_thread_join` and `ct_thread_unref`).\n")
    calls = dict(ctx["team_calls"])
    w(table(["peer", "µs", "CPU µs", "× pthread", "system calls per thread"],
            [(bold_ct(p), cell(r["time"], 1e-3), num(r["cpu"].median / 1e3),
              f"{r['time'].median / raw:.2f}",
              f"{calls['thread_create_join/' + p]['all']:.1f}") for p, r in rows]))
    w("")

    # the Python way
    w("## The Python way\n")
    w("The tutorial's programs, written with cthreading (`bench/tutorial/tutorial.c`) and "
      f"with Python's `threading` (`bench/tutorial/tutorial.py`, Debian {ctx['python']}), "
      "the same work and counts, run alternately; each program times itself (wall, and CPU "
      "user+system of the process) around the work. Medians of "
      f"{ctx['tutorial_reps']} runs, per operation.\n")
    body = []
    for program, n, label in TUTORIAL:
        c, py = ctx["tutorial"][f"{program}/c"], ctx["tutorial"][f"{program}/python"]
        ops = c[0]["ops"]
        cw = Stat([r["wall"] / r["ops"] for r in c])
        cc = Stat([r["cpu"] / r["ops"] for r in c])
        pw = Stat([r["wall"] / r["ops"] for r in py])
        pc = Stat([r["cpu"] / r["ops"] for r in py])
        body.append((label.replace("N", f"{ops if program != 'counter' else ops // 4:,}"),
                     cell(cw, 1e6), num(cc.median * 1e6), cell(pw, 1e6), num(pc.median * 1e6),
                     f"{pw.median / cw.median:.1f}×"))
    w(table(["program", "cthreading µs/op", "CPU µs/op", "Python µs/op", "CPU µs/op",
             "cthreading faster by"], body))
    w("")

    # sizes
    w("## Sizes\n")
    w("`sizeof` of each primitive's object on x86-64. `ct_cond_t` holds its own RLock "
      "(Python's `Condition()`), where `pthread_cond_t` needs a `pthread_mutex_t` (40 B) "
      "beside it; `ct_barrier_t` holds its action, argument and default timeout. nsync's note "
      "is a pointer to a heap object; the pthreads event is the mutex+cond+flag struct that "
      "the event ping-pong uses.\n")
    w(table(["primitive", "peer", "type", "bytes"],
            [(s["primitive"], s["peer"], f"`{s['type']}`", s["size"]) for s in sizes]))
    w("")

    # timers
    w("## Timers at scale\n")
    w("`bench_timer_scale` (one `ct_timer_t` heap and timer thread, against a thread per timer "
      "as Python's `threading.Timer` does), in the same run:\n")
    w("```\n" + ctx["timer_scale"].rstrip() + "\n```\n")

    w("## Reproducing\n")
    w(f"`make bench` (its measurements take {ctx['minutes']:.0f} minutes here, plus the first "
      "build) installs the Debian packages it needs "
      "when run as root, builds everything in `build/bench` (RelWithDebInfo, as `make install` "
      "builds), and rewrites this page and its charts. `make bench-quick` "
      "(`bench/run.sh --quick`) runs every workload of every peer briefly and writes its "
      "page under `build/bench/quick/`: CI's smoke test. Single rows: "
      "`build/bench/bench/bench_suite --benchmark_filter=event_pingpong` (any Google Benchmark "
      "flag), or `bench_suite --play ROW N` to run N rounds of one row under strace, perf or "
      "callgrind.\n")

    w(goals_not_met(ctx))

    with open(path, "w") as f:
        f.write("\n".join(out))


def measure(build, quick, work):
    """Runs everything; returns the measurements, all plain JSON."""
    started, load = time.monotonic(), os.getloadavg()[0]
    suite_json = run_suite(build, quick, os.path.join(work, "suite.json"))
    results = parse_suite(suite_json)
    suite = os.path.join(build, "bench", "bench_suite")
    sizes = json.loads(run([suite, "--sizes"]))

    log("counting system calls (strace) and instructions (callgrind)")
    nowait_n = 1000 if quick else 1000000
    nowait = {}
    for row in [n for n in results if n.startswith("nowait/")]:
        base = sum(strace_calls(build, row, 0, work).values())
        nowait[row] = (sum(strace_calls(build, row, nowait_n, work).values()) - base, nowait_n)
    team_rounds = 50 if quick else 2000
    team_calls = []
    for row in [n for n in results
                if "pingpong/" in n or n.startswith(("barrier/", "thread_create_join/"))]:
        base = strace_calls(build, row, 0, work)
        calls = strace_calls(build, row, team_rounds, work)
        team_calls.append((row, {
            "futex": (calls.get("futex", 0) - base.get("futex", 0)) / team_rounds,
            "all": (sum(calls.values()) - sum(base.values())) / team_rounds}))
    ir = {}
    ir_n = 1000 if quick else 100000
    ir_rows = [n for n in results if n.startswith(("lock_uncontended/", "nowait/"))]
    base = callgrind_ir(build, ir_rows[0], 0, work)
    for row in ir_rows:
        ir[row] = (callgrind_ir(build, row, ir_n, work) - base) / ir_n

    log("counting futex calls of the contended rows (perf stat)")
    perf = perf_contended(build, quick)

    log("running the tutorial's programs, cthreading and Python")
    tutorial = {f"{program}/{lang}": r for (program, lang), r in run_tutorial(build, quick).items()}
    log("running bench_timer_scale")
    timer_scale = run([os.path.join(build, "bench", "bench_timer_scale")] +
                      (["--quick"] if quick else []))
    return {
        "suite": suite_json, "sizes": sizes, "quick": quick,
        "date": time.strftime("%Y-%m-%d"), "machine": machine(),
        "reps": 1 if quick else 5, "contend_seconds": 0.01 if quick else 0.25,
        "ir": ir, "nowait": nowait, "perf": perf, "team_calls": team_calls,
        "team_rounds": team_rounds, "tutorial": tutorial, "tutorial_reps": 1 if quick else 3,
        "python": run([PYTHON, "--version"]).strip(), "timer_scale": timer_scale,
        "minutes": (time.monotonic() - started) / 60, "load": [load, os.getloadavg()[0]],
    }


def render(m, work, out_md, chart_dir):
    """Draws the charts and writes the report from the measurements."""
    results = parse_suite(m["suite"])
    log("drawing the charts")
    dirs = (work, chart_dir)
    chart_contended(results, "Mops", "Throughput (median)", "Mops/s", dirs,
                    "contended_throughput")
    chart_contended(results, "fair", "Fairness, min/max per-thread count (median)",
                    "min/max", dirs, "contended_fairness", goal=0.5)
    chart_contended(results, "worst_us", "Longest wait + section (median)", "ms",
                    dirs, "contended_worst_wait", log_y=True, goal=2, scale=1e-3)
    chart_latency(results, dirs, "latency",
                  [("cond_pingpong", "cond"), ("sem_pingpong", "sem"),
                   ("event_pingpong", "event"), ("barrier/2", "barrier 2"),
                   ("barrier/4", "barrier 4")])
    ctx = dict(m, results=results, goals=goals(results, m["sizes"], m["nowait"]))
    write_report(out_md, os.path.relpath(chart_dir, os.path.dirname(out_md)), ctx)
    met = sum(1 for g in ctx["goals"] if g[3])
    log(f"wrote {os.path.relpath(out_md, ROOT)}: {met} of {len(ctx['goals'])} goals met; "
        f"the measurements took {m['minutes']:.1f} minutes")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--render", action="store_true",
                    help="rewrite the report from the last run's measurements, running nothing")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    if args.quick:
        out_md = os.path.join(build, "quick", "benchmarks.md")
        chart_dir = os.path.join(build, "quick", "bench")
    else:
        out_md = os.path.join(ROOT, "docs", "benchmarks.md")
        chart_dir = os.path.join(ROOT, "docs", "bench")
    work = os.path.join(build, "quick" if args.quick else "full")
    for d in (chart_dir, work):
        os.makedirs(d, exist_ok=True)
    saved = os.path.join(work, "measurements.json")
    if args.render:
        with open(saved) as f:
            m = json.load(f)
    else:
        m = measure(build, args.quick, work)
        with open(saved, "w") as f:
            json.dump(m, f)
    render(m, work, out_md, chart_dir)


if __name__ == "__main__":
    main()
