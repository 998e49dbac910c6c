#!/bin/sh
# make bench-tools: installs the peers (as root, with apt-get; otherwise it
# names the one command to run), builds `server`, `download` and the idle
# client in build/bench-tools, and runs bench/tools/report.py, which
# measures them beside nginx, lighttpd, curl, wget2, aria2c and Python and
# writes docs/benchmarks-tools.md with its charts in docs/bench/tools-*.svg.
#
#   bench/tools/run.sh                  the full run (about 10 minutes)
#   bench/tools/run.sh --quick          every program for a few seconds,
#                                       report under build/bench-tools/quick/:
#                                       a smoke test that fails if a program
#                                       does not run or the bytes disagree
#   bench/tools/run.sh --wait-quiet S   wait up to S seconds (default 60)
#                                       for the load average to fall below 1.5
set -eu
cd "$(dirname "$0")/../.."

sh scripts/deps.sh \
    libcurl4-openssl-dev:/usr/include/x86_64-linux-gnu/curl/curl.h \
    nginx:/usr/sbin/nginx \
    lighttpd:/usr/sbin/lighttpd \
    wrk:wrk \
    curl:curl \
    wget2:wget2 \
    aria2:aria2c \
    python3:/usr/bin/python3 \
    gnuplot-nox:gnuplot \
    strace:strace

build=build/bench-tools
cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCT_WERROR=ON \
    -DCT_BUILD_TESTS=OFF -DCT_BUILD_BENCH=OFF >/dev/null
cmake --build $build --target server download
for prog in idle_clients measure; do
    cc -O2 -Wall -Wextra -Werror -o $build/$prog bench/tools/$prog.c
done
exec /usr/bin/python3 bench/tools/report.py --build $build "$@"
