#!/bin/sh
# The server under load, for .ci/run: wrk with 2 threads and 100 keep-alive
# connections for 8 s against `server` on an ephemeral loopback port,
# serving a folder made here. Fails unless wrk saw no socket error and no
# response other than 2xx, and the server then stops cleanly on SIGTERM;
# prints the requests per second.
#
#   usage: wrk_load.sh [SERVER]   (default: build/default/examples/server/server)
set -eu

server=${1:-build/default/examples/server/server}
fail() {
    echo "wrk_load: $*" >&2
    exit 1
}
command -v wrk >/dev/null 2>&1 || fail "wrk is not installed (Debian package wrk)"
[ -x "$server" ] || fail "no server at $server (build it first)"

dir=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$dir/www"
printf '<!doctype html>\n<title>wrk</title>\n<h1>Hello from cthreading</h1>\n' >"$dir/www/index.html"
"$server" --bind 127.0.0.1 --port 0 --root "$dir/www" >"$dir/out" 2>"$dir/err" &
pid=$!

# The first line names the port; give the server up to 10 s to print it.
tries=0
until grep -q '^listening on ' "$dir/out"; do
    tries=$((tries + 1))
    [ "$tries" -le 100 ] || fail "the server did not start: $(cat "$dir/err")"
    kill -0 "$pid" 2>/dev/null || fail "the server exited: $(cat "$dir/err")"
    sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$dir/out")

timeout 30 wrk -t2 -c100 -d8s "http://$addr/index.html" >"$dir/wrk" || fail "wrk failed: $(cat "$dir/wrk")"
cat "$dir/wrk"

# wrk prints these lines only when their counts are not all zero.
if grep -q 'Socket errors' "$dir/wrk"; then fail "socket errors"; fi
if grep -q 'Non-2xx' "$dir/wrk"; then fail "responses other than 2xx"; fi
requests=$(awk '/ requests in / { print $1 }' "$dir/wrk")
rate=$(awk '/^Requests\/sec:/ { print $2 }' "$dir/wrk")
[ "${requests:-0}" -gt 0 ] || fail "no request completed"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" -eq 0 ] || fail "the server exited $status after SIGTERM: $(cat "$dir/err")"
[ ! -s "$dir/err" ] || fail "the server wrote errors: $(cat "$dir/err")"

echo "wrk_load: $rate requests/s ($requests requests), no socket errors, all 2xx"
