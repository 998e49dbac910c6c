#!/bin/sh
# Builds the libFuzzer harnesses (clang) and runs each for N seconds
# (default 10) over its corpus in fuzz/corpus/NAME; new inputs go to a
# scratch directory under build/fuzz, unless --merge folds them into the
# kept corpus (minimised). A failure leaves the input that caused it in
# build/fuzz/artifacts/ and exits non-zero; replay one with
# build/fuzz/fuzz_NAME FILE.
#
#     fuzz/run.sh [--seconds N] [--merge] [NAME...]
#     NAME: sem event barrier rlock timer_heap deadline (default: all)
set -eu
cd "$(dirname "$0")/.."

seconds=10
merge=false
names=""
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --merge) merge=true; shift ;;
        -*) echo "usage: fuzz/run.sh [--seconds N] [--merge] [NAME...]" >&2; exit 2 ;;
        *) names="$names $1"; shift ;;
    esac
done
[ -n "$names" ] || names="sem event barrier rlock timer_heap deadline"

# clang, and its sanitizer and libFuzzer runtimes (a package that clang
# only recommends).
sh scripts/deps.sh clang:clang \
    libclang-rt-14-dev:/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a

build=build/fuzz
cmake -S fuzz -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE= >/dev/null
cmake --build "$build"
mkdir -p "$build/artifacts"

for name in $names; do
    corpus=fuzz/corpus/$name
    scratch=$build/new/$name
    mkdir -p "$corpus" "$scratch"
    echo "fuzz: $name for $seconds s"
    "$build/fuzz_$name" -max_total_time="$seconds" -max_len=512 -timeout=20 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$name-" \
        "$scratch" "$corpus" 2>"$build/$name.log" || {
        tail -n 40 "$build/$name.log" >&2
        echo "fuzz: $name FAILED (input in $build/artifacts/)" >&2
        exit 1
    }
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$build/$name.log" |
        tr '\n' ' ' | sed "s/^/fuzz: $name: /; s/\$/\n/"
    if $merge; then
        "$build/fuzz_$name" -merge=1 -max_len=512 "$corpus" "$scratch" 2>>"$build/$name.log"
    fi
done
echo "fuzz: all harnesses passed"
