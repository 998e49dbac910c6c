#!/bin/sh
# The soak for as long as asked: builds the soak program with a CMake
# preset (default: "default"; "tsan", "asan", "parking" work too) and runs
# it. CI runs one minute; leave it for hours with --seconds 36000.
#
#     soak/run.sh [--seconds N] [--preset NAME] [--threads N] [--seed N]
set -eu
cd "$(dirname "$0")/.."

seconds=60
preset=default
args=""
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --preset) preset="$2"; shift 2 ;;
        --threads|--seed) args="$args $1 $2"; shift 2 ;;
        *) echo "usage: soak/run.sh [--seconds N] [--preset NAME] [--threads N] [--seed N]" >&2
           exit 2 ;;
    esac
done

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --target soak
# shellcheck disable=SC2086
exec "build/$preset/soak/soak" --seconds "$seconds" $args
