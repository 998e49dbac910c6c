#!/bin/sh
# Checks the Promela models with spin (Debian's spin package): each model
# in each configuration is compiled to a verifier (pan) and searched
# exhaustively for assertion violations and invalid end states. The short
# set is CI's (about a minute); --long adds bigger configurations (more
# threads, rounds, spurious wake-ups), which take about half an hour and
# up to 8 GB of memory.
#
#     models/check.sh [--long]
set -eu
cd "$(dirname "$0")"
sh ../scripts/deps.sh spin:spin
models=$(pwd)
work=../build/models
mkdir -p "$work"
cd "$work"

memlim=3000
long=false
[ "${1:-}" = "--long" ] && { long=true; memlim=8000; }

failed=0
check() { # model, then spin -D options
    model=$1
    shift
    name="$model $*"
    cp "$models"/*.pml .
    spin "$@" -a "$model.pml" >spin.log 2>&1 || { cat spin.log; failed=1; return; }
    cc -O2 -w -DSAFETY -DNOFAIR -DCOLLAPSE -DMEMLIM=$memlim -o pan pan.c
    start=$(date +%s)
    ./pan -m2000000 >pan.log 2>&1 || true
    took=$(( $(date +%s) - start ))
    states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' pan.log)
    if grep -q "errors: 0" pan.log && ! grep -qE "max search depth too small|out of memory" pan.log; then
        echo "models: $name: ok ($states states, ${took} s)"
    else
        echo "models: $name: FAILED" >&2
        grep -E "pan:|error|assert|max search|memory" pan.log | head -5 >&2
        ./pan -r >/dev/null 2>&1 || true
        spin -t -p -g "$@" "$model.pml" 2>/dev/null | tail -40 >&2 || true
        failed=1
    fi
}

check lock -DN=3 -DROUNDS=1
check lock -DN=2 -DROUNDS=2 -DSPURIOUS=1
check cond -DW=3
check event
check event -DSPURIOUS=1
check barrier
if $long; then
    check lock -DN=3 -DROUNDS=2 -DSPIN=0 # where the hand-off deadlock was
    check lock -DN=3 -DROUNDS=2
    check lock -DN=3 -DROUNDS=1 -DSPURIOUS=1
    check cond -DW=3 -DSPURIOUS=1
    check barrier -DSPURIOUS=1
fi

[ $failed = 0 ] && echo "models: all checked, no violation"
exit $failed
