#!/usr/bin/env bash
# Builds and runs tests/consumer against an installed libresilience three
# ways: shared via pkg-config, static via `pkg-config --static`, and as a
# meson subproject. Usage: run.sh <install-prefix> <repo-root> <work-dir>
# Prints one "PASS name" or "FAIL name" line per way; exits non-zero if any
# failed.
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

shared() {
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror "$src/main.c" -o "$work/shared" \
        $(pkg-config --cflags --libs resilience) -Wl,-rpath,"$libdir" &&
    ldd "$work/shared" | grep -q 'libresilience\.so' &&
    "$work/shared"
}

static() {
    # The .so sits beside the .a, so ask the linker for the archive by name.
    local libs
    libs=$(pkg-config --static --libs resilience | sed 's/-lresilience\b/-l:libresilience.a/')
    # shellcheck disable=SC2046,SC2086
    cc -std=c11 -Wall -Wextra -Werror "$src/main.c" -o "$work/static" \
        $(pkg-config --static --cflags resilience) $libs &&
    ! ldd "$work/static" | grep -q 'libresilience' &&
    "$work/static"
}

subproject() {
    mkdir -p "$work/sub/subprojects" &&
    cp "$src/meson.build" "$src/main.c" "$work/sub/" &&
    # A clean copy of the tree, as a user vendoring it would have.
    mkdir -p "$work/sub/subprojects/resilience" &&
    (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
        tar --null -T - -cf -) | tar -xf - -C "$work/sub/subprojects/resilience" &&
    env -u PKG_CONFIG_PATH meson setup "$work/sub/build" "$work/sub" \
        --force-fallback-for=resilience -Dresilience:default_library=static &&
    ninja -C "$work/sub/build" &&
    "$work/sub/build/consumer"
}

check consumer_pkgconfig_shared shared
check consumer_pkgconfig_static static
check consumer_subproject subproject
exit $status
