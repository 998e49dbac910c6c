#!/usr/bin/python3
"""Measures the `server` and `download` tools beside the programs people
use for those jobs, and writes docs/benchmarks-tools.md with its charts in
docs/bench/tools-*.svg.

bench/tools/run.sh installs the peers, builds everything in
build/bench-tools and then calls this script:

    bench/tools/report.py --build build/bench-tools [--quick] [--wait-quiet S]

All on loopback, every subprocess bounded in time:

  1. Serving: a generated folder (1 KiB, 64 KiB and 4 MiB files) from our
     `server`, nginx (1 worker, and `auto`), lighttpd and Python's
     ThreadingHTTPServer, all started once and loaded in turn by wrk
     (--latency, 2 threads): 10, 100 and 400 keep-alive connections and 100
     with `Connection: close` on the 1 KiB file; 100 keep-alive on the
     larger ones. Each server's answer is first checked byte for byte.
  2. Idle connections: a fresh `server` holds 10,000 idle keep-alive
     connections (bench/tools/idle_clients.c) while wrk runs 100 more;
     then each of the 10,000 asks again and must get the file.
  3. Downloads: 300 x 64 KiB + 3 x 64 MiB from nginx with our `download`,
     curl --parallel, wget2, aria2c and the tutorial's Python program, at
     -j 3 and -j 16; every file's sha256 is checked.

Every point runs at least twice, the programs alternating; the report
gives medians with min-max. --quick runs each program for a few seconds,
writes the report under the build folder, and fails (exit 1) if any
program does not run or the bytes disagree: a smoke test that asserts
nothing about speed.

Standard library only.
"""
import argparse
import hashlib
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PYTHON = "/usr/bin/python3"  # Debian's python3 runs the Python peers
KIB, MIB = 1024, 1024 * 1024
CLK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"bench-tools: {msg}", file=sys.stderr, flush=True)


class Failure(Exception):
    """A program did not run, or its bytes were wrong."""


class Stat:
    """The median of repeated measurements, with their range."""

    def __init__(self, values):
        self.values = sorted(values)
        self.median = statistics.median(self.values)
        self.min = self.values[0]
        self.max = self.values[-1]


# ---- processes ----

def nofile_preexec(want):
    """A preexec_fn raising RLIMIT_NOFILE to want (as root, past the hard
    limit), or to the hard limit."""
    def raise_limit():
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return raise_limit


def session_cpu(sid):
    """User + system CPU seconds of every process in session sid."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # field 6, the session
            total += int(fields[11]) + int(fields[12])
    return total / CLK


def machine_busy():
    """Busy CPU seconds of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v[:8]) - idle) / CLK


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def stack_rss(pid, size):
    """(count, KiB of RSS) of pid's anonymous read-write mappings of exactly
    size bytes: its threads' stacks, when they are of that size."""
    count = rss = 0
    current = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(\S*)", line)
            if m:
                start, end = int(m.group(1), 16), int(m.group(2), 16)
                current = end - start == size and m.group(3) == "rw-p" and not m.group(4)
                count += current
            elif current and line.startswith("Rss:"):
                rss += int(line.split()[1])
    return count, rss


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def run_measured(build, cmd, timeout):
    """Runs cmd under bench/tools/measure: (exit status, wall seconds,
    user+sys seconds, peak RSS KiB, the end of its stderr)."""
    p = subprocess.run([os.path.join(build, "measure"), str(timeout), *cmd],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, errors="replace",
                       timeout=timeout + 30, start_new_session=True)
    lines = p.stderr.rstrip("\n").split("\n")
    status, wall, user, system, rss = lines[-1].split()
    return int(status), float(wall), float(user) + float(system), int(rss), \
        "\n".join(lines[:-1]).strip()


# ---- the served folder and the download set ----

def make_folder(work, quick):
    """The files: www/ for wrk, dl/ for the downloaders, with their
    sha256s."""
    www, dl = os.path.join(work, "www"), os.path.join(work, "dl")
    os.makedirs(www)
    os.makedirs(dl)
    for name, size in SIZES.items():
        with open(os.path.join(www, name), "wb") as f:
            f.write(os.urandom(size))
    small, big = (30, 1) if quick else (300, 3)
    big_size = 4 * MIB if quick else 64 * MIB
    names, step = [], small // big
    for i in range(small):
        # The big files are spread through the list (the same order for
        # every tool), so that they do not all run at the end.
        if i % step == 0 and i // step < big:
            names.append((f"big{i // step}.bin", big_size))
        names.append((f"f{i:03d}.bin", 64 * KIB))
    sums = {}
    for name, size in names:
        data = os.urandom(size)
        with open(os.path.join(dl, name), "wb") as f:
            f.write(data)
        sums[name] = hashlib.sha256(data).hexdigest()
    return www, dl, sums


SIZES = {"1k.bin": KIB, "64k.bin": 64 * KIB, "4m.bin": 4 * MIB}
CLIENT_STACK = 64 * KIB  # the server's connection threads' stack size


# ---- the servers ----

class Server:
    """One HTTP server under test, in its own session."""

    def __init__(self, name, label, work, build):
        self.name, self.label, self.work, self.build = name, label, work, build
        self.proc = None
        self.port = None

    def command(self, root):
        raise NotImplementedError

    def start(self, root, extra=()):
        cmd = self.command(root) + list(extra)
        self.out = open(os.path.join(self.work, f"{self.name}.out"), "w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=nofile_preexec(65536))
        if self.port is None:  # it picks its own and says which
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                self.out.seek(0)
                m = re.search(r"^listening on 127\.0\.0\.1:(\d+)$", self.out.read(), re.M)
                if m:
                    self.port = int(m.group(1))
                    break
                time.sleep(0.05)
        if self.port is None or not wait_listening(self.port, self.proc):
            self.out.seek(0)
            raise Failure(f"{self.label} did not start: {self.out.read()[-2000:]}")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/{path}"

    def cpu(self):
        return session_cpu(self.proc.pid)

    def stop(self, sig=signal.SIGTERM):
        """Stops it; returns its exit status (None if it had to be
        killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.kill(self.proc.pid, sig)
        try:
            status = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            status = None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.out.close()
        return status


class OurServer(Server):
    def command(self, root):
        return [os.path.join(self.build, "examples", "server", "server"), "--bind", "127.0.0.1",
                "--port", "0", "--root", root]


class PythonServer(Server):
    def command(self, root):
        return [PYTHON, os.path.join(HERE, "pyserver.py"), root]


def fill_template(name, out, **fields):
    with open(os.path.join(HERE, name)) as f:
        text = f.read()
    for key, value in fields.items():
        text = text.replace(f"@{key}@", str(value))
    with open(out, "w") as f:
        f.write(text)


class Nginx(Server):
    def __init__(self, name, label, work, build, workers):
        super().__init__(name, label, work, build)
        self.workers = workers

    def command(self, root):
        self.port = free_port()
        state = os.path.join(self.work, self.name)
        os.makedirs(state, exist_ok=True)
        conf = os.path.join(state, "nginx.conf")
        fill_template("nginx.conf.in", conf, WORKERS=self.workers, DIR=state, PORT=self.port,
                      ROOT=root)
        if os.geteuid() == 0:  # else its workers would run as nobody, who cannot read /tmp/...
            with open(conf, "a") as f:
                f.write("user root;\n")
        return ["/usr/sbin/nginx", "-p", state, "-c", conf, "-e", os.path.join(state, "error.log")]

    def stop(self, sig=signal.SIGQUIT):  # nginx's graceful stop
        return super().stop(sig)


class Lighttpd(Server):
    def command(self, root):
        self.port = free_port()
        state = os.path.join(self.work, self.name)
        os.makedirs(state, exist_ok=True)
        conf = os.path.join(state, "lighttpd.conf")
        fill_template("lighttpd.conf.in", conf, DIR=state, PORT=self.port, ROOT=root)
        return ["/usr/sbin/lighttpd", "-D", "-f", conf]


def make_servers(work, build):
    return [OurServer("server", "cthreading server", work, build),
            Nginx("nginx1", "nginx, 1 worker", work, build, 1),
            Nginx("nginx", "nginx, auto workers", work, build, "auto"),
            Lighttpd("lighttpd", "lighttpd", work, build),
            PythonServer("python", "Python ThreadingHTTPServer", work, build)]


def check_bytes(server, www):
    """Every file of www, fetched twice on one keep-alive connection, must
    come back byte for byte."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for name in SIZES:
            with open(os.path.join(www, name), "rb") as f:
                want = f.read()
            for _ in range(2):
                conn.request("GET", "/" + name)
                r = conn.getresponse()
                body = r.read()
                if r.status != 200 or body != want:
                    raise Failure(f"{server.label}: GET /{name} gave {r.status}, "
                                  f"{len(body)} bytes, not the file's {len(want)}")
    finally:
        conn.close()


# ---- wrk ----

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
SIZE_UNITS = {"B": 1 / MIB, "KB": 1 / KIB, "MB": 1.0, "GB": 1024.0, "TB": MIB}


def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(text):
    try:
        return parse_wrk_output(text)
    except (AttributeError, KeyError, ValueError):
        raise Failure(f"cannot read wrk's output:\n{text}") from None


def parse_wrk_output(text):
    r = {"errors": 0, "non2xx": 0}
    m = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    r["max_ms"] = ms(m.group(3))
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)\s*$", text, re.M)
        r[f"p{pct}_ms"] = ms(m.group(1))
    m = re.search(r"^\s+(\d+) requests in ([\d.]+)(\w+), ", text, re.M)
    r["requests"] = int(m.group(1))
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    r["rps"] = float(m.group(1))
    m = re.search(r"^Transfer/sec:\s+([\d.]+)(\w+)", text, re.M)
    r["mibs"] = float(m.group(1)) * SIZE_UNITS[m.group(2)]
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        r["errors"] = sum(int(x) for x in m.groups())
        r["error_kinds"] = ", ".join(f"{n} {kind}" for kind, n in
                                     zip(("connect", "read", "write", "timeout"), m.groups())
                                     if n != "0")
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        r["non2xx"] = int(m.group(1))
    return r


def run_wrk(url, conns, seconds, close=False):
    cmd = ["wrk", "--latency", "-t2", f"-c{conns}", f"-d{seconds}s", url]
    if close:
        cmd[1:1] = ["-H", "Connection: close"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30,
                       preexec_fn=nofile_preexec(4096))
    if p.returncode != 0:
        raise Failure(f"wrk failed: {p.stdout}{p.stderr}")
    return parse_wrk(p.stdout)


def load_point(server, point, seconds):
    """One wrk run against server: wrk's figures, plus the server's CPU
    seconds per 1,000 requests and the CPU others used meanwhile."""
    name, conns, close = point
    busy0, cpu0 = machine_busy(), server.cpu()
    t0 = time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = run_wrk(server.url(name), conns, seconds, close)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, cpu1 = machine_busy(), server.cpu()
    wall = time.monotonic() - t0
    wrk_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    r["cpu_per_k"] = (cpu1 - cpu0) / max(r["requests"], 1) * 1000
    # Whatever else ran on the machine meanwhile, in cores.
    r["others"] = max(0.0, (busy1 - busy0) - (cpu1 - cpu0) - wrk_cpu) / wall
    return r


def point_label(point):
    name, conns, close = point
    return f"{name.split('.')[0].upper().replace('K', ' KiB').replace('M', ' MiB')}, " \
           f"{conns} {'`Connection: close`' if close else 'keep-alive'}"


def session_pids(sid):
    pids = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[3]) == sid:
                    pids.append(pid)
        except (OSError, ValueError, IndexError):
            continue
    return pids


def syscalls_per_request(server, point, seconds):
    """{system call: calls per request} of server (all its processes and
    threads, strace -f -c) under wrk with 50 connections."""
    out = os.path.join(server.work, f"strace-{server.name}.txt")
    cmd = ["strace", "-f", "-c", "-o", out]
    for pid in session_pids(server.proc.pid):
        cmd += ["-p", pid]
    tracer = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # attached
    try:
        r = run_wrk(server.url(point[0]), 50, seconds, point[2])
    finally:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=30)
    calls = {}
    with open(out) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
                calls[fields[-1]] = int(fields[3])
    return {k: v / max(r["requests"], 1) for k, v in calls.items()}


def serve_phase(servers, www, points, reps, seconds, trace_seconds):
    """{(server name, point): [wrk results]}."""
    results = {}
    for s in servers:
        s.start(www)
        check_bytes(s, www)
        log(f"{s.label}: listening on port {s.port}, bytes checked")
    try:
        for rep in range(reps):
            for point in points:
                k = rep % len(servers)
                for s in servers[k:] + servers[:k]:
                    r = load_point(s, point, seconds)
                    results.setdefault((s.name, point), []).append(r)
                    log(f"rep {rep + 1}/{reps} {point_label(point)}: {s.label}: "
                        f"{r['rps']:,.0f} req/s, p99 {r['p99_ms']:.2f} ms, "
                        f"errors {r['errors']}, non-2xx {r['non2xx']}")
        traced = {}
        if shutil.which("strace"):
            for s in servers:
                if s.name in ("server", "nginx1"):
                    for point in (("1k.bin", 50, False), ("1k.bin", 50, True)):
                        traced[(s.name, point[2])] = syscalls_per_request(s, point, trace_seconds)
            log("system calls per request counted")
    finally:
        for s in servers:
            s.stop()
    return results, traced


# ---- idle connections ----

def idle_phase(build, work, www, n, seconds):
    """A fresh server holding n idle keep-alive connections while wrk runs
    100 more; then each of the n asks again."""
    s = OurServer("server-idle", "cthreading server", work, build)
    # Room for the n idle ones and wrk's 100; and no idle timeout during
    # the test.
    s.start(www, ["--max-clients", str(n + 100), "--idle-timeout", "300"])
    r = {"n": n, "wanted": n}
    client = None
    try:
        # The server fits its clients to its open-file limit: one
        # descriptor each (its socket), beside 256 for the files being sent.
        s.out.seek(0)
        m = re.search(r"--max-clients lowered to (\d+)", s.out.read())
        if m:
            r["max_clients"] = int(m.group(1))
            n = r["n"] = int(m.group(1)) - 100
            log(f"the server's open-file limit fits {m.group(1)} clients: "
                f"{n} idle ones and wrk's 100")
        pid = s.proc.pid
        # The probe's connection thread stays 2 s as a spare; the base is
        # the main and signal threads alone.
        t = time.monotonic()
        while proc_status(pid, "Threads") > 2 and time.monotonic() < t + 5:
            time.sleep(0.1)
        r["base_rss"] = proc_status(pid, "VmRSS")
        r["base_threads"] = proc_status(pid, "Threads")
        client = subprocess.Popen(
            [os.path.join(build, "idle_clients"), "127.0.0.1", str(s.port), str(n), "/1k.bin",
             os.path.join(www, "1k.bin")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=nofile_preexec(n + 1024))
        t0 = time.monotonic()
        line = client.stdout.readline().strip()
        r["open_s"] = time.monotonic() - t0
        if line != f"idle {n}":
            raise Failure(f"idle_clients: {line} {client.stderr.read()}")
        time.sleep(1)
        r["idle_rss"] = proc_status(pid, "VmRSS")
        r["idle_threads"] = proc_status(pid, "Threads")
        stacks, rss = stack_rss(pid, CLIENT_STACK)
        r["stack_per_conn"] = rss / max(stacks, 1)
        r["rss_per_conn"] = (r["idle_rss"] - r["base_rss"]) / n
        r["wrk"] = load_point(s, ("1k.bin", 100, False), seconds)
        client.stdin.write("go\n")
        client.stdin.flush()
        out, err = client.communicate(timeout=150)
        m = re.search(r"served (\d+) of (\d+)", out)
        r["served"] = int(m.group(1)) if m else 0
        if client.returncode != 0:
            r["client_error"] = (out + err).strip()
        client = None
        # Every connection closed: the server is back to its base threads.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r["end_threads"] = proc_status(pid, "Threads")
            if r["end_threads"] == r["base_threads"]:
                break
            time.sleep(0.1)
    finally:
        if client:
            client.kill()
            client.wait()
        r["exit"] = s.stop()
    log(f"idle: {r['served']} of {n} served after the load; "
        f"{r['rss_per_conn']:.1f} KiB RSS per idle connection; exit {r['exit']}")
    return r


# ---- downloads ----

class Downloader:
    def __init__(self, name, label, version_cmd):
        self.name, self.label, self.version_cmd = name, label, version_cmd

    def command(self, jobs, out, urls):
        raise NotImplementedError


class OurDownload(Downloader):
    def __init__(self, build):
        super().__init__("download", "cthreading download", None)
        self.path = os.path.join(build, "examples", "download", "download")

    def command(self, jobs, out, urls):
        return [self.path, "-j", str(jobs), "-o", out, "-i", urls]


class Curl(Downloader):
    def command(self, jobs, out, urls):
        with open(urls) as f:
            listed = f.read().split()
        return ["curl", "--parallel", "--parallel-max", str(jobs), "--no-progress-meter",
                "--fail", "--output-dir", out, "--remote-name-all", *listed]


class Wget2(Downloader):
    def command(self, jobs, out, urls):
        return ["wget2", "--no-config", "--quiet", f"--max-threads={jobs}",
                "--directory-prefix", out, "--input-file", urls]


class Aria2(Downloader):
    def command(self, jobs, out, urls):
        # Without --file-allocation=none it writes every file full of zeros
        # before downloading it.
        return ["aria2c", "--no-conf", "--quiet", f"--max-concurrent-downloads={jobs}",
                "--dir", out, "--input-file", urls, "--file-allocation=none",
                "--auto-file-renaming=false", "--allow-overwrite=true"]


class PyDownload(Downloader):
    def command(self, jobs, out, urls):
        return [PYTHON, os.path.join(HERE, "pydownload.py"), str(jobs), out, urls]


def make_downloaders(build):
    return [OurDownload(build),
            Curl("curl", "curl --parallel", ["curl", "--version"]),
            Wget2("wget2", "wget2", ["wget2", "--version"]),
            Aria2("aria2c", "aria2c", ["aria2c", "--version"]),
            PyDownload("python", "Python, Thread per URL", [PYTHON, "--version"])]


def verify(out, sums):
    """'' if out holds exactly the files of sums, intact; else why not."""
    found = set(os.listdir(out))
    missing, extra = set(sums) - found, found - set(sums)
    if missing or extra:
        return f"{len(missing)} missing, {len(extra)} unexpected ({sorted(extra)[:3]})"
    bad = []
    for name, want in sums.items():
        h = hashlib.sha256()
        with open(os.path.join(out, name), "rb") as f:
            while chunk := f.read(MIB):
                h.update(chunk)
        if h.hexdigest() != want:
            bad.append(name)
    return f"{len(bad)} corrupt ({bad[:3]})" if bad else ""


def download_phase(build, tools, nginx, sums, work, jobs_list, reps):
    """{(tool name, jobs): [runs]}, each run a dict: ok, wall, cpu, rss,
    why."""
    urls = os.path.join(work, "urls.txt")
    with open(urls, "w") as f:
        for name in sums:
            f.write(nginx.url(name) + "\n")
    results = {}
    for rep in range(reps):
        for jobs in jobs_list:
            k = rep % len(tools)
            for t in tools[k:] + tools[:k]:
                out = os.path.join(work, "out")
                shutil.rmtree(out, ignore_errors=True)
                os.makedirs(out)
                status, wall, cpu, rss, err = run_measured(build, t.command(jobs, out, urls), 180)
                why = f"exit {status}: {err.strip()[-300:]}" if status != 0 else verify(out, sums)
                shutil.rmtree(out)
                results.setdefault((t.name, jobs), []).append(
                    {"ok": not why, "wall": wall, "cpu": cpu, "rss": rss, "why": why})
                log(f"rep {rep + 1}/{reps} -j {jobs}: {t.label}: {wall:.2f} s, cpu {cpu:.2f} s, "
                    f"{rss / 1024:.1f} MiB" + (f" FAILED: {why}" if why else ""))
    return results


# ---- the report ----

def num(x, digits=3):
    """x with `digits` significant digits, thousands separated."""
    if x == 0:
        return "0"
    mag = len(str(int(abs(x)))) if abs(x) >= 1 else 0
    decimals = max(0, digits - mag) if abs(x) >= 1 else digits
    return f"{x:,.{decimals}f}"


def med(stat, digits=3, unit=""):
    if stat.min == stat.max:
        return f"{num(stat.median, digits)}{unit}"
    return f"{num(stat.median, digits)}{unit} ({num(stat.min, digits)}–{num(stat.max, digits)})"


def gnuplot(script, cwd):
    subprocess.run(["gnuplot"], input=script, text=True, check=True, cwd=cwd, timeout=60)


SVG = "set terminal svg size 960,420 dynamic background rgb 'white' font 'Helvetica,12'\n"


def chart_bars(path_svg, data_dir, panels):
    """Clustered bars, median with min-max, one panel above another. Each
    panel is (name, title, ylabel, groups, series, value, log_y): groups on
    x, one bar per series; value(group, series) is a Stat or None."""
    script = SVG.replace("420", str(420 * len(panels)))
    script += f"set output '{path_svg}'\nset multiplot layout {len(panels)},1\n"
    script += ("set style data histogram\nset style histogram errorbars gap 1 lw 1\n"
               "set style fill solid 0.8 border -1\nset boxwidth 0.9\nset grid ytics\n"
               "set key outside right font ',10'\nset xtics font ',11'\n")
    for name, title, ylabel, groups, series, value, log_y in panels:
        with open(os.path.join(data_dir, f"{name}.dat"), "w") as f:
            for glabel, g in groups:
                cols = []
                for _, s in series:
                    st = value(g, s)
                    cols += [st.median, st.min, st.max] if st else ["NaN"] * 3
                f.write(f"\"{glabel}\" " + " ".join(str(c) for c in cols) + "\n")
        script += f"set title '{title}'\nset ylabel '{ylabel}'\n"
        script += f"set xrange [-0.6:{len(groups) - 0.4}]\n"
        script += "set logscale y\nset yrange [*:*]\n" if log_y else \
            "unset logscale y\nset yrange [0:*]\n"
        plots = []
        for i, (slabel, _) in enumerate(series):
            c = 2 + 3 * i
            color = " lc rgb '#d62728'" if i == 0 else ""
            plots.append(f"'{name}.dat' using {c}:{c + 1}:{c + 2}"
                         f"{':xtic(1)' if i == 0 else ''}{color} title '{slabel}'")
        script += "plot " + ", \\\n  ".join(plots) + "\n"
    script += "unset multiplot\n"
    gnuplot(script, data_dir)


def version(cmd, pattern):
    """The program's name and version, as its version output says."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return f"{cmd[0]} ?"
    m = re.search(pattern, p.stdout + p.stderr)
    return m.group(0) if m else f"{cmd[0]} ?"


def verdict(ok):
    return "met" if ok else "**not met**"


def wrk_stats(results, server, point, key):
    runs = results.get((server, point))
    return Stat([r[key] for r in runs]) if runs else None


def targets(serve, idle, dls, points):
    """[(figure, target, measured, met)]."""
    rows = []
    ka100, ka400, close100 = ("1k.bin", 100, False), ("1k.bin", 400, False), ("1k.bin", 100, True)

    def rps(server, point):
        st = wrk_stats(serve, server, point, "rps")
        return st.median if st else float("nan")

    def clean(server, point):
        runs = serve.get((server, point), [])
        return bool(runs) and all(r["errors"] == 0 and r["non2xx"] == 0 for r in runs)

    if ka100 in points:
        ours = rps("server", ka100)
        p99 = wrk_stats(serve, "server", ka100, "p99_ms").median
        n1, lt, py = rps("nginx1", ka100), rps("lighttpd", ka100), rps("python", ka100)
        ok = ours >= n1 and ours >= 10 * py and p99 <= 20 and clean("server", ka100)
        rows.append(("`server`, 1 KiB, 100 keep-alive connections",
                     "≥ 1.0× nginx 1 worker (stretch ≥ 0.8× lighttpd), ≥ 10× Python, "
                     "p99 ≤ 20 ms, no errors, no non-2xx",
                     f"{num(ours)} req/s: {ours / n1:.2f}× nginx 1 worker, "
                     f"{ours / lt:.2f}× lighttpd (stretch {verdict(ours >= 0.8 * lt)}), "
                     f"{ours / py:.1f}× Python; p99 {num(p99)} ms; "
                     f"{'clean' if clean('server', ka100) else 'errors or non-2xx'}", ok))
    if ka400 in points:
        ok = clean("server", ka400)
        rows.append(("`server`, 1 KiB, 400 keep-alive connections",
                     "no socket errors, no non-2xx",
                     f"{num(rps('server', ka400))} req/s, "
                     f"{'clean' if ok else 'errors or non-2xx'}", ok))
    if close100 in points:
        ours, n1 = rps("server", close100), rps("nginx1", close100)
        rows.append(("`server`, 1 KiB, 100 connections, `Connection: close`",
                     "≥ 0.9× nginx 1 worker",
                     f"{num(ours)} req/s: {ours / n1:.2f}× nginx 1 worker ({num(n1)})",
                     ours >= 0.9 * n1))
    if idle and "error" in idle:
        rows.append(("`server`, idle connections + load", "all served afterwards",
                     f"failed: {idle['error']}", False))
    elif idle:
        ok = idle["served"] == idle["n"] == idle["wanted"] and idle["rss_per_conn"] <= 16
        fewer = f" (the server fits only {idle['max_clients']:,} clients in its " \
            "open-file limit: see below)" if "max_clients" in idle else ""
        rows.append((f"`server`, {idle['wanted']:,} idle connections + load",
                     "all served afterwards; RSS growth ≤ 16 KiB per idle connection",
                     f"{idle['served']:,} of {idle['n']:,} served{fewer}; "
                     f"{idle['rss_per_conn']:.1f} KiB per connection", ok))
    jobs_list = sorted({j for _, j in dls})
    for jobs in jobs_list:
        def stat(tool, key):
            runs = dls.get((tool, jobs), [])
            good = [r[key] for r in runs if r["ok"]]
            return Stat(good) if good and len(good) == len(runs) else None
        ours, curl, wget2 = stat("download", "wall"), stat("curl", "wall"), stat("wget2", "wall")
        rss, crss, prss = stat("download", "rss"), stat("curl", "rss"), stat("python", "rss")
        if not (ours and curl and rss and crss and prss):
            rows.append((f"`download -j {jobs}`", "every file intact", "a tool failed", False))
            continue
        ok = ours.median <= 0.9 * curl.median and rss.median <= 2 * crss.median and \
            rss.median <= 0.25 * prss.median
        stretch = f", {ours.median / wget2.median:.2f}× wget2 (stretch {verdict(ours.median <= wget2.median)})" \
            if wget2 else ""
        rows.append((f"`download -j {jobs}`",
                     "wall ≤ 0.9× curl (stretch ≤ wget2); peak RSS ≤ 2× curl's and "
                     "≤ 0.25× Python's; every file intact",
                     f"{num(ours.median)} s: {ours.median / curl.median:.2f}× curl{stretch}; "
                     f"RSS {num(rss.median / 1024)} MiB: {rss.median / crss.median:.2f}× curl's, "
                     f"{rss.median / prss.median:.2f}× Python's; intact", ok))
    return rows


def errors_text(r):
    return f"{r['errors']} ({r['error_kinds']})" if r["errors"] else "0"


def shortfall(serve, traced, missed):
    """Why `server` trails nginx where it does: CPU and system calls per request."""
    parts = []
    for close in (False, True):
        point = ("1k.bin", 100, close)
        ours = wrk_stats(serve, "server", point, "cpu_per_k")
        theirs = wrk_stats(serve, "nginx1", point, "cpu_per_k")
        if not ours or not theirs:
            continue
        calls = ((sum(traced[("server", close)].values()),
                  sum(traced[("nginx1", close)].values()))
                 if ("server", close) in traced and ("nginx1", close) in traced else None)
        parts.append(f"{'`Connection: close`' if close else 'keep-alive'}: "
                     f"{ours.median * 1e3:.0f} µs of the server's CPU per request against "
                     f"nginx's {theirs.median * 1e3:.0f} µs"
                     + (f", with {calls[0]:.1f} system calls per request against "
                        f"{calls[1]:.1f}" if calls else ""))
    return ("**Where `server` trails nginx** (" + "; ".join(missed) + "). With wrk on the "
            "same two cores, requests per second follow each server's CPU per request: "
            + "; ".join(parts) + ". The server makes fewer system calls than nginx; what it "
            "pays instead is the scheduler's: every request wakes the connection's own thread "
            "and switches to it and back (about 2.5 context switches per `Connection: close` "
            "request against nginx's 0.1, by `perf stat -e context-switches`), where nginx's "
            "one process takes every ready socket from one `epoll_wait`. That is the price of "
            "a thread per connection, which is the tool's point; the levers inside that "
            "design are taken (a spare thread takes each new connection, socket options are "
            "inherited from the listener, no `poll` between keep-alive requests, a small "
            "file goes out with its head in one `send`). Closing the rest would mean serving "
            "many connections from one thread, which is nginx's design, not the tutorial's.\n")


def write_report(args, info, servers, serve, traced, points, idle, tools, dls, doc,
                 chart_dir):
    rel = os.path.relpath(chart_dir, os.path.dirname(doc))
    data_dir = os.path.join(args.build, "tools-data")
    os.makedirs(data_dir, exist_ok=True)
    os.makedirs(chart_dir, exist_ok=True)
    L = []
    w = L.append
    w("# The tools at speed: `server` and `download` beside the usual programs\n")
    w("Written by `make bench-tools` (`bench/tools/run.sh`, which runs "
      "`bench/tools/report.py`) from one run"
      f"{' in --quick mode: a smoke test, the figures mean nothing' if args.quick else ''}. "
      "Everything is on loopback, on this machine, in the same run; "
      + (f"every point ran {info['reps']} times with the programs alternating, and the "
         "tables give medians with min–max.\n" if info["reps"] > 1 else
         "every point ran once.\n"))
    w(f"- Machine: {info['machine']}\n- Run: {info['date']}, {info['minutes']:.1f} minutes "
      f"(after {info['waited']:.0f} s waiting for the load average to fall below 1.5); "
      f"1-minute load average {info['load_before']:.2f} at the start; while a point ran, "
      f"other processes used {info['others_median']:.2f} cores on median "
      f"(max {info['others_max']:.2f}) of the {os.cpu_count()}.\n"
      f"- Peers: {'; '.join(info['versions'])}.\n")

    w("## Targets\n")
    w("| figure | target | measured | verdict |\n|---|---|---|---|")
    rows = targets(serve, idle, dls, points)
    for fig, tgt, got, ok in rows:
        w(f"| {fig} | {tgt} | {got} | {verdict(ok)} |")
    w("")
    missed = [fig for fig, _, _, ok in rows if not ok and fig.startswith("`server`, 1 KiB, 100")]
    if missed:
        w(shortfall(serve, traced or {}, missed))

    w("## Serving files\n")
    w("Each server serves the same generated folder; `wrk --latency -t2` loads it for "
      f"{info['seconds']} s per point. Before the load, each server's answer for every file "
      "is checked byte for byte. Socket errors and non-2xx answers are given for each "
      "run (wrk counts a request not answered within 2 s as a timeout). *CPU/1k* is the server's user+system CPU seconds per "
      "1,000 requests (all its processes). wrk and the server share the machine's "
      f"{os.cpu_count()} cores.\n")
    w("The peers: nginx with `sendfile`, `tcp_nopush`, no access log, and keep-alive "
      "without a request cap (`keepalive_requests 1000000`, as the others: nginx's "
      "default of 1,000 would close wrk's connections every 1,000 requests); lighttpd "
      "likewise (`server.max-keep-alive-requests`); Python's `ThreadingHTTPServer` with "
      "`SimpleHTTPRequestHandler`, `protocol_version = \"HTTP/1.1\"`, `TCP_NODELAY` on "
      "each accepted socket, a listen backlog of 1,024 and no log line per request "
      "(`bench/tools/pyserver.py`). Configurations: `bench/tools/nginx.conf.in`, "
      "`bench/tools/lighttpd.conf.in`.\n")
    w(f"![requests per second, 1 KiB file]({rel}/tools-server-1k.svg)\n")
    if len({p[0] for p in points}) > 1:
        w(f"![MiB/s by file size]({rel}/tools-server-sizes.svg)\n")
    for point in points:
        w(f"### {point_label(point)}\n")
        w("| server | requests/s | MiB/s | p50 ms | p99 ms | max ms | socket errors | "
          "non-2xx | CPU/1k |\n|---|---|---|---|---|---|---|---|---|")
        for s in servers:
            runs = serve.get((s.name, point))
            if not runs:
                continue
            st = lambda k: Stat([r[k] for r in runs])  # noqa: E731
            label = f"**{s.label}**" if s.name == "server" else s.label
            w(f"| {label} | {med(st('rps'))} | {med(st('mibs'))} | {med(st('p50_ms'))} | "
              f"{med(st('p99_ms'))} | {med(st('max_ms'))} | "
              f"{' / '.join(errors_text(r) for r in runs)} | "
              f"{'/'.join(str(r['non2xx']) for r in runs)} | {med(st('cpu_per_k'))} |")
        w("")

    if traced:
        w("### System calls per request\n")
        w("Counted with `strace -f -c` on the server (every thread or process) while wrk "
          "loads the 1 KiB file with 50 connections, keep-alive or `Connection: close`; "
          "strace slows the servers, but not what they call. nginx pays two `setsockopt` "
          "per keep-alive response for `tcp_nopush`; a thread-per-connection server pays "
          "a thread's birth (or, with reuse, a wake-up) per connection instead of "
          "`epoll` calls.\n")
        names = sorted({k for v in traced.values() for k, n in v.items() if n >= 0.05},
                       key=lambda k: -max(v.get(k, 0) for v in traced.values()))
        cols = [(n, c) for n in ("server", "nginx1") for c in (False, True) if (n, c) in traced]
        label = {"server": "`server`", "nginx1": "nginx 1 worker"}
        w("| system call | " + " | ".join(
            f"{label[n]}, {'close' if c else 'keep-alive'}" for n, c in cols) + " |")
        w("|---|" + "---|" * len(cols))
        for k in names:
            w(f"| `{k}` | " + " | ".join(f"{traced[col].get(k, 0):.2f}" for col in cols) + " |")
        w("| **total** | " + " | ".join(f"**{sum(traced[col].values()):.2f}**" for col in cols)
          + " |")
        w("")

    if idle and "error" in idle:
        w("## Idle keep-alive connections\n")
        w(f"The test failed: {idle['error']}\n")
    elif idle:
        w("## Idle keep-alive connections\n")
        wr = idle["wrk"]
        w(f"A fresh `server` (`--max-clients {idle['wanted'] + 100} --idle-timeout 300`) "
          f"is given {idle['n']:,} connections by `bench/tools/idle_clients` (one thread, "
          "epoll), each of which asks for the 1 KiB file once and then stays silent. "
          "With all of them open, wrk runs 100 more keep-alive connections; then every "
          f"idle connection asks again.\n")
        if "max_clients" in idle:
            w(f"**Fewer than {idle['wanted']:,}**: the server lowered `--max-clients` to "
              f"{idle['max_clients']:,} to fit its open-file limit "
              f"({resource.getrlimit(resource.RLIMIT_NOFILE)[1]:,} here, a hard limit "
              "that this machine does not let even root raise), since it counts one "
              "descriptor per client, its socket, beside 256 for the files being sent; so "
              f"{idle['n']:,} idle connections and wrk's 100 fill it.\n")
        w("| figure | value |\n|---|---|")
        w(f"| connections opened and served once | {idle['n']:,} in {idle['open_s']:.1f} s |")
        w(f"| server RSS before → with them idle | {idle['base_rss'] / 1024:.1f} MiB → "
          f"{idle['idle_rss'] / 1024:.1f} MiB |")
        w(f"| RSS growth per idle connection | {idle['rss_per_conn']:.1f} KiB, of which "
          f"{idle['stack_per_conn']:.1f} KiB its thread's stack |")
        w(f"| server threads: before, idle, after they closed | {idle['base_threads']}, "
          f"{idle['idle_threads']:,}, {idle.get('end_threads', '?')} |")
        w(f"| wrk meanwhile (100 connections, {info['idle_seconds']} s) | "
          f"{num(wr['rps'])} req/s, p99 {num(wr['p99_ms'])} ms, socket errors "
          f"{wr['errors']}, non-2xx {wr['non2xx']} |")
        w(f"| idle connections answered correctly afterwards | {idle['served']:,} of "
          f"{idle['n']:,} |")
        w(f"| exit status after SIGTERM | {idle['exit']} |")
        w("")
        w("**The connection threads' stack size.** Each connection's thread has a 64 KiB "
          "stack (`ct_thread_opts.stack_size` in `examples/server/server.c`). Only the "
          "pages a thread has touched count in its RSS: the top one, which holds glibc's "
          "thread descriptor and TLS, and below it the frames of the deepest calls "
          f"(`snprintf`, `strftime`): {idle['stack_per_conn']:.1f} KiB per thread, "
          "measured above from `/proc/PID/smaps`, whatever the size. So the size only "
          "decides the address space reserved (64 KiB × 10,000 = 625 MiB, against "
          "78 GiB with glibc's default 8 MiB) and the margin: the requests' buffers live "
          "in the connection's heap block, not on the stack, so the deepest path stays "
          "within two pages and 64 KiB leaves it eight times that, and room for "
          "sanitizers. 16 KiB would reserve less address space but save no RSS, and "
          "leave little margin for a libc call that formats more. The rest of the growth "
          "is that heap block: one buffer, for the request and then the response head and "
          "a small file's bytes, of which a small request and a 1 KiB file touch only the "
          "first page or two.\n")

    if dls:
        n_files = len(info["sums"])
        total = sum(info["sizes"].values()) / MIB
        w("## Downloading\n")
        w(f"{n_files} files ({info['dl_desc']}, {total:.0f} MiB) from nginx (auto workers) "
          "on loopback, each tool writing into an empty folder. *CPU* is user+system "
          "seconds, *RSS* the peak resident memory (`wait4`). After each run every file's "
          "sha256 is checked, and nothing else may be left in the folder: a tool that "
          "drops or corrupts a file is reported as failed, not timed.\n")
        w("Commands: `download -j N -o DIR -i URLS`; `curl --parallel --parallel-max N "
          "--no-progress-meter --fail --output-dir DIR --remote-name-all URL...`; "
          "`wget2 --no-config --quiet --max-threads=N --directory-prefix DIR --input-file "
          "URLS`; `aria2c --no-conf --quiet --max-concurrent-downloads=N --dir DIR "
          "--input-file URLS --file-allocation=none` (its default preallocation writes "
          "every file twice); `python3 bench/tools/pydownload.py N DIR URLS`, the "
          "tutorial's program (a `Thread` per URL, `Semaphore(N)`, `urlopen`, each file "
          "read whole, then written).\n")
        w(f"![download wall time and peak RSS]({rel}/tools-download.svg)\n")
        for jobs in info["jobs"]:
            w(f"### -j {jobs}\n")
            w("| tool | wall s | CPU s | peak RSS MiB | files |\n|---|---|---|---|---|")
            for t in tools:
                runs = dls.get((t.name, jobs), [])
                good = [r for r in runs if r["ok"]]
                label = f"**{t.label}**" if t.name == "download" else t.label
                if len(good) != len(runs) or not runs:
                    why = "; ".join(r["why"] for r in runs if not r["ok"])
                    w(f"| {label} | failed | | | {why} |")
                    continue
                st = lambda k: Stat([r[k] for r in good])  # noqa: E731
                w(f"| {label} | {med(st('wall'))} | {med(st('cpu'))} | "
                  f"{med(Stat([r['rss'] / 1024 for r in good]))} | all intact |")
            w("")

    w("## Reproducing\n")
    w("`make bench-tools` (about ten minutes; it installs nginx, lighttpd, wrk, curl, "
      "wget2, aria2, python3 and gnuplot-nox with apt-get when run as root), or "
      "`bench/tools/run.sh --quick` for a smoke run of under a minute that checks that "
      "every program runs and that all agree on the bytes. It waits up to "
      "`--wait-quiet` seconds (default 60) for the machine's load to fall below 1.5 "
      "before it starts.\n")
    with open(doc, "w") as f:
        f.write("\n".join(L))

    # Charts.
    names = [(s.label, s.name) for s in servers]
    ka_points = [p for p in points if p[0] == "1k.bin"]
    chart_bars(os.path.join(chart_dir, "tools-server-1k.svg"), data_dir, [(
        "tools-server-1k", "Requests per second, 1 KiB file, median with min-max (log scale)",
        "requests/s", [(f"{c} {'close' if cl else 'keep-alive'}", (n, c, cl))
                       for n, c, cl in ka_points],
        names, lambda p, s: wrk_stats(serve, s, p, "rps"), True)])
    size_points = [p for p in points if p[1] == 100 and not p[2]]
    if len(size_points) > 1:
        chart_bars(os.path.join(chart_dir, "tools-server-sizes.svg"), data_dir, [(
            "tools-server-sizes",
            "MiB/s by file size, 100 keep-alive connections, median with min-max (log scale)",
            "MiB/s", [(p[0].split(".")[0], p) for p in size_points],
            names, lambda p, s: wrk_stats(serve, s, p, "mibs"), True)])
    if dls:
        def dl_stat(key, scale=1.0):
            def f(jobs, tool):
                runs = dls.get((tool, jobs), [])
                if not runs or not all(r["ok"] for r in runs):
                    return None
                return Stat([r[key] * scale for r in runs])
            return f
        groups = [(f"-j {j}", j) for j in info["jobs"]]
        series = [(t.label, t.name) for t in tools]
        chart_bars(os.path.join(chart_dir, "tools-download.svg"), data_dir, [
            ("tools-download-wall", f"Wall time, {n_files} files, median with min-max",
             "seconds", groups, series, dl_stat("wall"), False),
            ("tools-download-rss", "Peak RSS, median with min-max (log scale)", "MiB",
             groups, series, dl_stat("rss", 1 / 1024), True)])


# ---- main ----

def wait_quiet(seconds):
    """Waits, at most seconds, until the 1-minute load average is below
    1.5; returns it."""
    deadline = time.monotonic() + seconds
    load = os.getloadavg()[0]
    if load >= 1.5 and seconds > 0:
        log(f"load average {load:.2f}: waiting up to {seconds} s for it to fall below 1.5")
    while load >= 1.5 and time.monotonic() < deadline:
        time.sleep(5)
        load = os.getloadavg()[0]
    return load


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
    return f"{os.cpu_count()} cores ({model}), {mem:.0f} GiB, Linux {platform.release()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--wait-quiet", type=int, default=60, metavar="SECONDS",
                    help="wait at most this long for the load average to fall below 1.5")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    t_start = time.monotonic()

    if args.quick:
        points = [("1k.bin", 100, False), ("1k.bin", 100, True)]
        reps, seconds, idle_n, idle_seconds, jobs_list = 1, 1, 300, 1, [3]
        doc_dir = os.path.join(args.build, "quick")
        doc, chart_dir = os.path.join(doc_dir, "benchmarks-tools.md"), os.path.join(doc_dir, "bench")
        os.makedirs(doc_dir, exist_ok=True)
    else:
        points = [("1k.bin", 10, False), ("1k.bin", 100, False), ("1k.bin", 400, False),
                  ("1k.bin", 100, True), ("64k.bin", 100, False), ("4m.bin", 100, False)]
        reps, seconds, idle_n, idle_seconds, jobs_list = 2, 6, 10000, 5, [3, 16]
        doc = os.path.join(ROOT, "docs", "benchmarks-tools.md")
        chart_dir = os.path.join(ROOT, "docs", "bench")

    load_before = wait_quiet(0 if args.quick else args.wait_quiet)
    waited = time.monotonic() - t_start
    t_start = time.monotonic()
    # In memory, so that the downloads measure the tools and not the file
    # system (ext4 pays for the creation of files deleted just before).
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    work = tempfile.mkdtemp(prefix="ct-bench-tools-", dir=shm)
    failures, written = [], False
    try:
        www, dl, sums = make_folder(work, args.quick)
        servers = make_servers(work, args.build)
        serve, traced = serve_phase(servers, www, points, reps, seconds, 1 if args.quick else 2)
        try:
            idle = idle_phase(args.build, work, www, idle_n, idle_seconds)
        except Failure as e:
            idle = {"error": str(e)}
        if "error" in idle:
            failures.append(f"idle connections: {idle['error']}")
        elif idle["served"] != idle["n"] or idle["exit"] != 0:
            failures.append(f"idle connections: {idle['served']} of {idle['n']} served, "
                            f"exit {idle['exit']}")
        tools = make_downloaders(args.build)
        nginx = Nginx("nginx-dl", "nginx", work, args.build, "auto")
        nginx.start(dl)
        try:
            dls = download_phase(args.build, tools, nginx, sums, work, jobs_list, reps)
        finally:
            nginx.stop()
        for (tool, jobs), runs in dls.items():
            for r in runs:
                if not r["ok"]:
                    failures.append(f"{tool} -j {jobs}: {r['why']}")
        others = [r["others"] for runs in serve.values() for r in runs]
        sizes = {n: os.path.getsize(os.path.join(dl, n)) for n in sums}
        big = [s for s in sizes.values() if s > 64 * KIB]
        info = {
            "reps": reps, "seconds": seconds, "idle_seconds": idle_seconds, "jobs": jobs_list,
            "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "minutes": (time.monotonic() - t_start) / 60, "load_before": load_before,
            "waited": waited,
            "others_median": statistics.median(others), "others_max": max(others),
            "sums": sums, "sizes": sizes,
            "dl_desc": f"{len(sizes) - len(big)} × 64 KiB + {len(big)} × "
                       f"{big[0] // MIB if big else 0} MiB",
            "versions": [version(c, v) for c, v in (
                (["/usr/sbin/nginx", "-v"], r"nginx/\S+"),
                (["/usr/sbin/lighttpd", "-v"], r"lighttpd/\S+"),
                (["wrk", "-v"], r"wrk \S+"),
                (["curl", "--version"], r"^curl \S+"),
                (["wget2", "--version"], r"Wget2 \S+"),
                (["aria2c", "--version"], r"aria2 version \S+"),
                ([PYTHON, "--version"], r"Python \S+"))],
        }
        write_report(args, info, servers, serve, traced, points, idle, tools, dls, doc,
                     chart_dir)
        written = True
        log(f"wrote {os.path.relpath(doc)} in {info['minutes']:.1f} minutes")
    except Failure as e:
        failures.append(str(e))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        log(f"FAILED: {f}")
    # A full run reports a tool that fails in the document; a smoke run fails.
    return 1 if failures and (args.quick or not written) else 0


if __name__ == "__main__":
    sys.exit(main())
