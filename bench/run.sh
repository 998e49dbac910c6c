#!/bin/sh
# make bench: installs what the benchmarks need (as root, with apt-get;
# otherwise it names the one command to run), builds them in build/bench
# and runs bench/report.py, which runs them all and writes
# docs/benchmarks.md with its charts in docs/bench/.
#
#   bench/run.sh           the full run (about 6 minutes on 2 cores)
#   bench/run.sh --quick   every workload and peer briefly, report under
#                          build/bench/quick/: a smoke test for CI
set -eu
cd "$(dirname "$0")/.."

case "${1:-}" in
    "" | --quick) ;;
    *) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
esac

sh scripts/deps.sh \
    g++:g++ \
    python3:/usr/bin/python3 \
    libbenchmark-dev:/usr/include/benchmark/benchmark.h \
    libnsync-dev:/usr/include/nsync.h \
    libglib2.0-dev:/usr/include/glib-2.0/glib.h \
    libuv1-dev:/usr/include/uv.h \
    libck-dev:/usr/include/ck_spinlock.h \
    gnuplot-nox:gnuplot \
    strace:strace \
    linux-perf:perf \
    valgrind:valgrind

cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCT_WERROR=ON \
    -DCT_BENCH_SUITE=ON -DCT_BUILD_TESTS=OFF -DCT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build/bench
exec /usr/bin/python3 bench/report.py --build build/bench "$@"
