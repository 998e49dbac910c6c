#!/usr/bin/env python3
"""Tests of the download example, one case a run:

    python3 test_download.py PATH/TO/download CASE

Each case starts a small HTTP/1.1 server on 127.0.0.1 (threads of this
process, so nothing outlives the test), runs download against it in a
fresh temporary folder with a time limit, and checks its exit status, its
output and the files it left. Every wait is bounded; CT_TIMEOUT_SCALE
stretches the limits for sanitizer builds.
"""
import fcntl
import http.server
import os
import pty
import random
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

SCALE = float(os.environ.get("CT_TIMEOUT_SCALE", "1"))
LIMIT = 20 * SCALE  # seconds any one run of download may take


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


# ---------------------------------------------------------------- server

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        route = self.server.routes.get(self.path, self.server.fallback)
        try:
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def start(self, status, length=None, headers=()):
        self.send_response(status)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()


def body(data):
    """A route answering 200 with data."""
    def route(h):
        h.start(200, len(data))
        h.wfile.write(data)
    return route


def not_found(h):
    h.start(404, 9)
    h.wfile.write(b"not found")


def echo(h):
    """Answers 200 with the path the client asked for."""
    data = h.path.encode()
    h.start(200, len(data))
    h.wfile.write(data)


def redirect(location):
    def route(h):
        h.start(302, 0, [("Location", location)])
    return route


def slow(data, rate, chunked=False):
    """Sends data at about rate bytes a second, chunked (no size) if asked."""
    def route(h):
        h.start(200, None if chunked else len(data))
        step = max(1, rate // 20)
        for i in range(0, len(data), step):
            if h.server.closing.wait(step / rate):
                break
            piece = data[i:i + step]
            h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            h.wfile.flush()
        else:
            if chunked:
                h.wfile.write(b"0\r\n\r\n")
    return route


def stall(h):
    """Promises 100 bytes, sends 10, then nothing until the test ends."""
    h.start(200, 100)
    h.wfile.write(b"x" * 10)
    h.wfile.flush()
    h.server.closing.wait(LIMIT)
    h.close_connection = True


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default, 5, drops connections under -j 8
    connections = 0  # accepted so far; counted by serve_forever's thread alone

    def process_request(self, request, client_address):
        self.connections += 1
        super().process_request(request, client_address)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Server:
    def __init__(self, routes=None, fallback=not_found):
        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.routes = routes or {}
        self.httpd.fallback = fallback
        self.httpd.closing = threading.Event()
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.httpd.server_address[1], path)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------- helpers

def run(args, stdin=None):
    """Runs download to its end: (status, stdout, stderr)."""
    try:
        p = subprocess.run([DOWNLOAD] + args, input=stdin, capture_output=True,
                           timeout=LIMIT, cwd=WORK)
    except subprocess.TimeoutExpired:
        fail("download %s ran over %g s" % (" ".join(args), LIMIT))
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def files(folder):
    """Every file under folder, as paths relative to it."""
    found = set()
    for root, _, names in os.walk(folder):
        for name in names:
            found.add(os.path.relpath(os.path.join(root, name), folder))
    return found


def content(folder, name):
    with open(os.path.join(folder, name), "rb") as f:
        return f.read()


def wait_until(predicate, what):
    deadline = time.monotonic() + LIMIT
    while not predicate():
        if time.monotonic() > deadline:
            fail("waited over %g s for %s" % (LIMIT, what))
        time.sleep(0.02)


def size_of(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def saved_all(data, out, status, stdout, stderr):
    check(status == 0, "exit status %d, stderr: %s" % (status, stderr))
    check(files(out) == set(data), "files %s, wanted %s" % (sorted(files(out)), sorted(data)))
    for name, expected in data.items():
        check(content(out, name) == expected, "%s differs from what was served" % name)
    check("%d of %d files saved" % (len(data), len(data)) in stdout, "no summary in: " + stdout)


def failed_alone(url, reason, status, stdout, stderr, out):
    """One URL failed: one clear line, exit 1, no file."""
    line = "download: %s: " % url
    lines = [l for l in stderr.splitlines() if l.startswith(line)]
    check(len(lines) == 1, "no single line starting %r in stderr: %s" % (line, stderr))
    check(reason in lines[0], "%r not in %r" % (reason, lines[0]))
    check(status == 1, "exit status %d" % status)
    check(files(out) == set(), "files left behind: %s" % files(out))
    check("0 of 1 files saved" in stdout and "1 failed" in stdout, "summary: " + stdout)


# ---------------------------------------------------------------- cases

def case_identical():
    rng = random.Random(1)
    data = {"empty": b"", "one": b"1", "text.txt": b"hello, world\n" * 80,
            "random.bin": rng.randbytes(100 * 1024), "large.bin": rng.randbytes(3 << 20)}
    routes = {"/files/" + name: body(value) for name, value in data.items()}
    with Server(routes) as s:
        out = os.path.join(WORK, "out")
        status, stdout, stderr = run(["-o", out] + [s.url("/files/" + n) for n in data])
    saved_all(data, out, status, stdout, stderr)
    check("\x1b" not in stdout, "escape sequences in output to a pipe")
    for name in data:
        check("saved %s:" % name in stdout, "no 'saved %s' line in: %s" % (name, stdout))


def case_many():
    rng = random.Random(2)
    data = {"f%03d" % i: rng.randbytes(rng.randrange(1, 64 << 10)) for i in range(200)}
    routes = {"/" + name: body(value) for name, value in data.items()}
    with Server(routes) as s:
        status, stdout, stderr = run(["-j", "8", "-o", "out"] + [s.url("/" + n) for n in data])
    saved_all(data, os.path.join(WORK, "out"), status, stdout, stderr)
    # A finished transfer's connection is reused by the next URL's thread.
    check(s.httpd.connections <= 8, "%d connections for -j 8" % s.httpd.connections)


def case_not_found():
    out = os.path.join(WORK, "out")
    with Server() as s:
        url = s.url("/missing.bin")
        failed_alone(url, "HTTP error 404", *run(["-o", out, url]), out)
        # Beside a good one: that one is saved, the summary counts both.
        s.httpd.routes["/good"] = body(b"good")
        status, stdout, stderr = run(["-o", out, url, s.url("/good")])
    check(status == 1, "exit status %d" % status)
    check(files(out) == {"good"}, "files: %s" % files(out))
    check("1 of 2 files saved" in stdout and "1 failed" in stdout, "summary: " + stdout)


def case_refused():
    # A bound socket that does not listen: connections to it are refused.
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d/file" % hole.getsockname()[1]
        out = os.path.join(WORK, "out")
        failed_alone(url, "Connection refused", *run(["-o", out, url]), out)


def case_bad_url():
    out = os.path.join(WORK, "out")
    for url in ["http://[::1/x", "nosuch://host/x", "http://127.0.0.1:99999/x"]:
        failed_alone(url, "", *run(["-o", out, url]), out)


def case_timeout():
    out = os.path.join(WORK, "out")
    with Server({"/stall": stall}) as s:
        began = time.monotonic()
        result = run(["-t", "1", "-o", out, s.url("/stall")])
        took = time.monotonic() - began
    failed_alone(s.url("/stall"), "timed out", *result, out)
    check(took < 1 + 5 * SCALE, "took %.1f s to give up after 1 s" % took)


def case_redirect():
    routes = {"/files/a": body(b"A" * 5000), "/r1": redirect("/r2"), "/r2": redirect("/files/a")}
    with Server(routes) as s:
        status, stdout, stderr = run(["-o", "out", s.url("/r1")])
    # Named after the URL asked for, as curl -O names it.
    saved_all({"r1": b"A" * 5000}, os.path.join(WORK, "out"), status, stdout, stderr)


def case_traversal():
    # out lies three levels down: nothing may appear anywhere above it.
    out = os.path.join(WORK, "a", "b", "out")
    paths = ["/../../x", "/a/..%2F..%2Fy", "/%2e%2e", "/sub/..", "/q/z?name=../../w#../v"]
    with Server(fallback=echo) as s:
        status, stdout, stderr = run(["-o", out] + [s.url(p) for p in paths])
    check(status == 0, "exit status %d, stderr: %s" % (status, stderr))
    names = {"x", ".._.._y", "index.html", "index.1.html", "z"}
    check(files(WORK) == {os.path.join("a", "b", "out", n) for n in names},
          "files: %s" % sorted(files(WORK)))
    # curl removes dot segments before asking (RFC 3986): "/../../x" asks for /x.
    check(content(out, "x") == b"/x", "x holds %r" % content(out, "x"))
    check(content(out, "z") == b"/q/z?name=../../w", "z holds %r" % content(out, "z"))


def case_duplicates():
    paths = ["/d1/same.txt", "/d2/same.txt", "/d3/same.txt", "/e/same.1.txt", "/f/x", "/g/x.part",
             "/h/"]
    names = ["same.txt", "same.1.txt", "same.2.txt", "same.1.1.txt", "x", "x.1.part", "index.html"]
    with Server(fallback=echo) as s:
        status, stdout, stderr = run(["-o", "out"] + [s.url(p) for p in paths])
    saved_all({n: p.encode() for n, p in zip(names, paths)}, os.path.join(WORK, "out"), status,
              stdout, stderr)


def case_input_file():
    data = {"a": b"alpha", "b": b"bravo", "c": b"charlie", "d": b"delta"}
    routes = {"/" + name: body(value) for name, value in data.items()}
    with Server(routes) as s:
        listing = "# a list\n\n  %s  \n%s\r\n\t%s\n" % (s.url("/a"), s.url("/b"), s.url("/c"))
        with open(os.path.join(WORK, "list.txt"), "w") as f:
            f.write(listing)
        result = run(["-i", "list.txt", "-o", "one", s.url("/d")])
        saved_all(data, os.path.join(WORK, "one"), *result)
        result = run(["-o", "two", "-i", "-"], stdin=listing.encode())
        saved_all({n: data[n] for n in "abc"}, os.path.join(WORK, "two"), *result)


def case_usage():
    with open(os.path.join(WORK, "plain"), "w"):
        pass
    for args, says in [([], "usage:"), (["-j", "0", "u"], "-j"), (["-j", "x", "u"], "-j"),
                       (["-t", "0", "u"], "-t"), (["-Z", "u"], "usage:"),
                       (["-i", "nonexistent", "u"], "cannot read URLs from nonexistent"),
                       (["-o", "plain", "u"], "plain"), (["-i", "/dev/null"], "usage:")]:
        status, stdout, stderr = run(args)
        check(status == 2, "%s: exit status %d" % (args, status))
        check(says in stderr, "%s: %r not in stderr: %s" % (args, says, stderr))
        check(stdout == "", "%s: stdout: %s" % (args, stdout))
    status, stdout, stderr = run(["-h"])
    check(status == 0 and stdout.startswith("usage:"), "-h: %d %s" % (status, stdout))
    check(files(WORK) == {"plain"}, "files: %s" % files(WORK))


def interrupt(signal_number, jobs, urls, saved, running):
    """Runs download -j jobs on urls, waits until the files saved exist and
    running transfers have data, sends signal_number, and checks that it
    stops at once, leaving exactly the files saved."""
    big = random.Random(3).randbytes(8 << 20)
    routes = {"/small": body(b"small")}
    routes.update({"/slow%d" % i: slow(big, 256 << 10) for i in range(1, 4)})
    out = os.path.join(WORK, "out-%d" % jobs)
    with Server(routes) as s:
        p = subprocess.Popen([DOWNLOAD, "-j", str(jobs), "-o", out] + [s.url(u) for u in urls],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=WORK)
        try:
            def under_way():
                found = files(out)
                parts = [n for n in found if n.endswith(".part") and
                         size_of(os.path.join(out, n)) > 0]
                return set(saved) <= found and len(parts) == running
            wait_until(under_way, "%s saved and %d under way" % (saved, running))
            p.send_signal(signal_number)
            began = time.monotonic()
            stdout, stderr = p.communicate(timeout=LIMIT)
            took = time.monotonic() - began
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    stdout = stdout.decode()
    check(p.returncode == 130, "exit status %d, stderr: %s" % (p.returncode, stderr.decode()))
    check(files(out) == set(saved), "files left: %s" % sorted(files(out)))
    check("interrupted: %d of %d files saved" % (len(saved), len(urls)) in stdout,
          "summary: " + stdout)
    check(stdout.count(": interrupted, partial file removed") == running,
          "not %d stopped: %s" % (running, stdout))
    check(took < 2 * SCALE, "took %.2f s to stop" % took)


def interrupts(signal_number):
    # All three start: one is saved, two are stopped.
    interrupt(signal_number, 3, ["/small", "/slow1", "/slow2"], ["small"], 2)
    # Two start and one waits for a slot: that one leaves without starting.
    interrupt(signal_number, 2, ["/slow1", "/slow2", "/slow3"], [], 2)


def case_interrupt():
    interrupts(signal.SIGINT)


def case_terminate():
    interrupts(signal.SIGTERM)


def case_hangup():
    interrupts(signal.SIGHUP)


def case_terminal():
    """On a terminal: bars redrawn in place, a total line, saved lines."""
    rng = random.Random(4)
    data = {"sized.bin": rng.randbytes(1 << 20), "unsized.bin": rng.randbytes(1 << 20)}
    routes = {"/sized.bin": slow(data["sized.bin"], 1 << 20),
              "/unsized.bin": slow(data["unsized.bin"], 1 << 20, chunked=True)}
    out = os.path.join(WORK, "out")
    with Server(routes) as s:
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        p = subprocess.Popen([DOWNLOAD, "-o", out, s.url("/sized.bin"), s.url("/unsized.bin")],
                             stdin=follower, stdout=follower, stderr=follower, cwd=WORK,
                             env=dict(os.environ, TERM="xterm"))
        os.close(follower)
        screen = b""
        deadline = time.monotonic() + LIMIT
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([leader], [], [], 0.1)
                try:
                    chunk = os.read(leader, 65536) if ready else b""
                except OSError:  # EIO: the program has ended
                    break
                if ready and not chunk:
                    break
                screen += chunk
            p.wait(timeout=LIMIT)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            os.close(leader)
    text = screen.decode(errors="replace")
    check(p.returncode == 0, "exit status %d, output: %r" % (p.returncode, text))
    for name, expected in data.items():
        check(content(out, name) == expected, "%s differs from what was served" % name)
    for piece in ["; 2 active, 0 waiting, 0 done, 0 failed", "sized.bin ", "unsized.bin ",
                  "[###", "<=>", "MiB/s", "saved sized.bin:", "saved unsized.bin:",
                  "2 of 2 files saved"]:
        check(piece in text, "%r not on the screen: %r" % (piece, text))
    check(re.search("\r\x1b\\[[23]A\x1b\\[J", text), "bars never redrawn in place: %r" % text)
    check("fetching" not in text, "plain lines on a terminal: %r" % text)
    lines = re.split("[\r\n]+", re.sub("\x1b\\[[0-9]*[AJ]", "", text))
    widest = max(len(line) for line in lines)
    check(widest < 100, "a line wider than the terminal: %d columns" % widest)


if __name__ == "__main__":
    if len(sys.argv) != 3 or "case_" + sys.argv[2] not in globals():
        sys.exit("usage: test_download.py DOWNLOAD CASE")
    DOWNLOAD = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="download-test-") as WORK:
        globals()["case_" + sys.argv[2]]()
    print("ok")
