#!/usr/bin/env bash
# Builds and runs tests/consumer against an installed libresilience three
# ways: shared via pkg-config, static via `pkg-config --static`, and as a
# meson subproject; the same for libresilience-redis (main_redis.c, its own
# .pc), and checks that the core's flags carry nothing of hiredis. The
# design contract's core API (contract.c) is compiled and run against the
# installed library too.
# Usage: run.sh <install-prefix> <repo-root> <work-dir>
# Prints one "PASS name" or "FAIL name" line per check; exits non-zero if
# any failed.
set -uo pipefail
prefix=$1 repo=$2 work=$3
src="$repo/tests/consumer"
status=0
rm -rf "$work" && mkdir -p "$work"

pcdir=$(dirname "$(find "$prefix" -name resilience.pc | head -n 1)")
export PKG_CONFIG_PATH="$pcdir"
libdir=$(pkg-config --variable=libdir resilience)

check() {
    local name=$1; shift
    if "$@" >"$work/$name.log" 2>&1; then
        echo "PASS $name"
    else
        echo "FAIL $name"; sed 's/^/    /' "$work/$name.log"; status=1
    fi
}

# shared <package> <source> <library file name>: linked against the .so.
shared() {
    local pc=$1 main=$2 lib=$3
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror "$src/$main" -o "$work/shared-$pc" \
        $(pkg-config --cflags --libs "$pc") -Wl,-rpath,"$libdir" &&
    # not grep -q: it would stop reading, and ldd dying of SIGPIPE fails the pipe
    ldd "$work/shared-$pc" | grep "$lib\.so" >/dev/null &&
    "$work/shared-$pc"
}

# static <package> <source>: every libresilience* archive, nothing shared.
static() {
    local pc=$1 main=$2 libs
    # The .so sits beside the .a, so ask the linker for the archives by name.
    libs=$(pkg-config --static --libs "$pc" |
        sed -E 's/-l(resilience(-redis|-curl)?)\b/-l:lib\1.a/g')
    # shellcheck disable=SC2046,SC2086
    cc -std=c11 -Wall -Wextra -Werror "$src/$main" -o "$work/static-$pc" \
        $(pkg-config --static --cflags "$pc") $libs &&
    ! ldd "$work/static-$pc" | grep libresilience >/dev/null &&
    "$work/static-$pc"
}

# The project's archives with a shared libcurl.
static_curl() {
    local libs
    libs=$(pkg-config --libs resilience-curl |
        sed -E 's/-l(resilience(-curl)?)\b/-l:lib\1.a/g')
    # shellcheck disable=SC2046,SC2086
    cc -std=c11 -Wall -Wextra -Werror "$src/main_curl.c" -o "$work/static-curl" \
        $(pkg-config --cflags resilience-curl) $libs $(pkg-config --static --libs-only-other resilience) -lm &&
    ! ldd "$work/static-curl" | grep libresilience >/dev/null &&
    "$work/static-curl"
}

# The core's flags name no dependency of an optional backend.
core_flags_clean() {
    local flags
    flags=$(pkg-config --cflags --libs resilience)
    echo "pkg-config --cflags --libs resilience: $flags"
    ! grep -q -e hiredis -e -lcurl -e _FILE_OFFSET_BITS <<<"$flags"
}

subproject() {
    mkdir -p "$work/sub/subprojects" &&
    cp "$src/meson.build" "$src/main.c" "$src/main_redis.c" "$src/main_curl.c" "$work/sub/" &&
    # A clean copy of the tree, as a user vendoring it would have.
    mkdir -p "$work/sub/subprojects/resilience" &&
    (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
        tar --null -T - -cf -) | tar -xf - -C "$work/sub/subprojects/resilience" &&
    env -u PKG_CONFIG_PATH meson setup "$work/sub/build" "$work/sub" \
        --force-fallback-for=resilience,resilience-redis,resilience-curl \
        -Dresilience:default_library=static -Dresilience:redis=enabled \
        -Dresilience:curl=enabled &&
    ninja -C "$work/sub/build" &&
    "$work/sub/build/consumer" &&
    "$work/sub/build/consumer_redis" &&
    "$work/sub/build/consumer_curl"
}

check consumer_pkgconfig_shared shared resilience main.c libresilience
check consumer_pkgconfig_static static resilience main.c
# The design contract, written as a user writes it, outside the tree.
check consumer_design_contract shared resilience contract.c libresilience
check consumer_core_flags_without_hiredis core_flags_clean
check consumer_redis_pkgconfig_shared shared resilience-redis main_redis.c libresilience-redis
check consumer_redis_pkgconfig_static static resilience-redis main_redis.c
# libcurl itself stays shared in the static case: its own static
# dependencies (TLS, HTTP/2, IDN...) are the system's business.
check consumer_curl_pkgconfig_shared shared resilience-curl main_curl.c libresilience-curl
check consumer_curl_archives static_curl
check consumer_subproject subproject
exit $status
