#!/bin/sh
# Makes sure the build's tools and the test framework are installed: as
# root with apt-get it installs what is missing; otherwise it names the one
# command to run. Extra Debian package names may be passed as arguments
# (with a command or header to look for: "package:command" or
# "package:/path/to/file").
set -eu

missing=""
need() { # package, then what proves it is there
    case "$2" in
        /*) [ -e "$2" ] || missing="$missing $1" ;;
        pc=*) pkg-config --exists "${2#pc=}" 2>/dev/null || missing="$missing $1" ;;
        *) command -v "$2" >/dev/null 2>&1 || missing="$missing $1" ;;
    esac
}

need cmake cmake
need ninja-build ninja
need gcc cc
need pkg-config pkg-config
need check /usr/include/check.h
need libcurl4-openssl-dev pc=libcurl
need python3 python3
for spec in "$@"; do
    need "${spec%%:*}" "${spec#*:}"
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "cthreading: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    exit 0
fi
echo "cthreading: missing packages; run: sudo apt-get install$missing" >&2
exit 1
