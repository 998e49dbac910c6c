#!/bin/sh
# The tour (make demo): the tutorial's programs, run for real. A server
# with a thread per connection serves a folder of generated files on a
# loopback port; the downloader fetches them with a thread per URL, three
# at a time, and the checksums must match; then each small program runs.
# Exits non-zero if any step goes wrong.
set -eu

bin=${1:-build/default/examples}
work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "tour: $*" >&2; exit 1; }

step "Making 12 files to serve (64 KiB to 8 MiB) in $work/www"
mkdir -p "$work/www"
size=64
for i in 01 02 03 04 05 06 07 08 09 10 11 12; do
    head -c "${size}K" /dev/urandom > "$work/www/file$i.bin"
    size=$(( size < 8192 ? size * 2 : 64 ))
done

step "Starting the server: one ct_thread_t per connection (examples/server)"
"$bin/server/server" --port 0 --root "$work/www" > "$work/server.log" 2>&1 &
server_pid=$!
tries=0
until grep -q '^listening on ' "$work/server.log"; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || fail "the server did not start: $(cat "$work/server.log")"
    sleep 0.05
done
address=$(sed -n 's/^listening on //p' "$work/server.log" | head -n 1)
echo "serving $work/www on http://$address/"

step "Downloading all 12 at once, at most 3 at a time (examples/download -j 3)"
set --
for f in "$work"/www/*.bin; do
    set -- "$@" "http://$address/$(basename "$f")"
done
"$bin/download/download" -j 3 -o "$work/got" "$@" || fail "the download failed"

step "Comparing checksums"
(cd "$work/www" && sha256sum ./*.bin) > "$work/sums"
(cd "$work/got" && sha256sum -c --quiet "$work/sums") || fail "a file differs"
echo "all 12 files are byte-identical"

step "Stopping the server with SIGTERM: it joins every client thread"
kill -TERM "$server_pid"
wait "$server_pid" || fail "the server did not exit cleanly"
server_pid=
tail -n 1 "$work/server.log"

for program in counter producer_consumer event timer barrier; do
    step "$program"
    "$bin/$program" || fail "$program failed"
done

printf '\n\033[1mtour: every step passed\033[0m\n'
