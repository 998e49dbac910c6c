"""The tutorial's programs with Python's threading, as tutorial.c runs
them with cthreading: the same work, the same counts, the same output.

    python3 tutorial.py PROGRAM N

PROGRAM is counter (4 threads add N times each under one Lock), cond (N
round trips through one Condition), event (N round trips through two
Events) or threads (N threads started and joined one after another). It
prints one JSON line: the operations done, and the wall and CPU (user +
system) seconds they took.
"""
import json
import resource
import sys
import threading
import time


def counter(n):
    lock = threading.Lock()
    total = 0

    def work():
        nonlocal total
        for _ in range(n):
            with lock:
                total += 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert total == 4 * n
    return 4 * n


def cond(n):
    cv = threading.Condition()
    turn = [0]

    def partner():
        with cv:
            for _ in range(n):
                cv.wait_for(lambda: turn[0] == 1)
                turn[0] = 0
                cv.notify()

    t = threading.Thread(target=partner)
    t.start()
    with cv:
        for _ in range(n):
            turn[0] = 1
            cv.notify()
            cv.wait_for(lambda: turn[0] == 0)
    t.join()
    return n


def event(n):
    ping, pong = threading.Event(), threading.Event()

    def partner():
        for _ in range(n):
            ping.wait()
            ping.clear()
            pong.set()

    t = threading.Thread(target=partner)
    t.start()
    for _ in range(n):
        ping.set()
        pong.wait()
        pong.clear()
    t.join()
    return n


def threads(n):
    for _ in range(n):
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
    return n


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main():
    program, n = sys.argv[1], int(sys.argv[2])
    run = {"counter": counter, "cond": cond, "event": event, "threads": threads}[program]
    wall, cpu = time.monotonic(), cpu_seconds()
    ops = run(n)
    print(json.dumps({"program": program, "ops": ops,
                      "wall": time.monotonic() - wall, "cpu": cpu_seconds() - cpu}))


main()
