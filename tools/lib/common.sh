# Shared set-up for tools/test and tools/demo: find the repository, install
# missing Debian packages, and small helpers. Sourced, not run.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_ROOT=${RS_BUILD_ROOT:-$REPO_ROOT/build-tools}
JOBS=${RS_JOBS:-$(nproc 2>/dev/null || echo 2)}

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs every named Debian package that is not installed yet. apt-get runs
# only when something is missing, so a prepared machine starts instantly.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing missing packages: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -q || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
        "${missing[@]}" || die "apt-get install failed: ${missing[*]}"
}

# What building the library and its examples needs.
BUILD_PACKAGES=(meson ninja-build pkg-config gcc libc6-dev python3)
# What the whole test suite needs on top: cmocka, clang and its sanitizer
# runtimes, g++ for the C++ header checks, binutils for nm, libuv for the
# event-loop example, hiredis and a Redis server for the Redis backend and
# its tests; useradd, runuser, unshare and mount for the shared-memory
# security stage; libcurl and libmicrohttpd for libresilience-curl and the
# server example, nginx in front of the scripted HTTP backend; promtool
# (prometheus) and the OpenMetrics parser (python3-prometheus-client) for
# the metrics exposition, curl to scrape the metrics server.
TEST_PACKAGES=(libcmocka-dev clang libclang-rt-14-dev g++ binutils libuv1-dev
               libhiredis-dev redis-server passwd util-linux mount
               libcurl4-openssl-dev libmicrohttpd-dev nginx-light
               prometheus python3-prometheus-client curl)
# What tools/test's Sentinel stage needs on top (tools/lib/sentinel_stage.sh):
# Redis Sentinel, installed by the stage itself, which is skipped, not
# failed, where it cannot be.
SENTINEL_PACKAGES=(redis-sentinel)
# What tools/storm needs on top of building: gnuplot (without X) for the
# plots of docs/retry-storms.md.
STORM_PACKAGES=(gnuplot-nox)

# meson setup, or a reconfigure when the directory exists already.
configure() {
    local dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$REPO_ROOT" "$@" >/dev/null
    else
        meson setup "$dir" "$REPO_ROOT" "$@" >/dev/null
    fi
}

# ninja in a configured directory (extra args are targets); its output goes
# to <dir>.build.log and is shown only when the build fails, which ends the
# script.
build() {
    local dir=$1; shift
    ninja -C "$dir" "$@" >"$dir.build.log" 2>&1 || { cat "$dir.build.log"; exit 1; }
}

# A free TCP port on 127.0.0.1 (the kernel picks one; tiny race until used).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a throwaway redis-server (no persistence) on 127.0.0.1 in the
# background and waits until it answers. Sets REDIS_PID and REDIS_URL; the
# caller must stop it with stop_throwaway_redis (use a trap).
REDIS_PID=
REDIS_URL=
start_throwaway_redis() {
    local port log
    port=$(free_port)
    log="$BUILD_ROOT/redis-server.log"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no >"$log" 2>&1 &
    REDIS_PID=$!
    local i
    for i in $(seq 1 100); do
        if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
            REDIS_URL="redis://127.0.0.1:$port/0"
            return 0
        fi
        kill -0 "$REDIS_PID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$log" >&2
    stop_throwaway_redis
    die "redis-server did not start on port $port"
}

# Stops the server started above, by its pid; safe to call twice.
stop_throwaway_redis() {
    if [ -n "$REDIS_PID" ]; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
        REDIS_PID=
    fi
}
