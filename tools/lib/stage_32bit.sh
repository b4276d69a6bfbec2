# The 32-bit stage of tools/test: the library and its tests built with
# gcc -m32 against the i386 cmocka of Debian multiarch, and run. 32-bit
# targets have no 128-bit integer type and evaluate doubles on the x87
# stack, so this is where the portable arithmetic and the tests' float
# comparisons are proven. Sourced by tools/test, which provides say,
# configure, build, count_meson_run, BUILD_ROOT, JOBS and SKIPPED.

I386_PACKAGES=(gcc-multilib libcmocka-dev:i386)
I386_CROSS_FILE="$REPO_ROOT/tools/lib/i386-linux-gnu.ini"

# True when gcc -m32 links a cmocka program.
i386_toolchain_works() {
    local dir
    dir=$(mktemp -d)
    printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <cmocka.h>\nint main(void) { return 0; }\n' >"$dir/probe.c"
    local flags rc=0
    flags=$(PKG_CONFIG_LIBDIR=/usr/lib/i386-linux-gnu/pkgconfig pkg-config --cflags --libs cmocka \
        2>/dev/null) || rc=1
    # shellcheck disable=SC2086 # the pkg-config flags are words
    [ "$rc" -eq 0 ] && gcc -m32 "$dir/probe.c" -o "$dir/probe" $flags >/dev/null 2>&1 || rc=1
    [ "$rc" -eq 0 ] && "$dir/probe" || rc=1
    rm -rf "$dir"
    return "$rc"
}

# Adds the i386 architecture and installs the packages; false when that
# cannot be done here (no root, no i386 packages on the mirror). A failed
# apt-get update is tolerated: an index that is being synced is often the
# security one, and the packages come from the main one.
i386_install() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null && sudo -n true 2>/dev/null || return 1
        sudo=(sudo -n)
    fi
    if ! dpkg --print-foreign-architectures | grep -qx i386; then
        "${sudo[@]}" dpkg --add-architecture i386 || return 1
    fi
    "${sudo[@]}" apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
        "${I386_PACKAGES[@]}" >/dev/null 2>&1
}

stage_32bit() {
    say "[i386] gcc -m32 build and every test"
    if ! i386_toolchain_works; then
        say "[i386] installing ${I386_PACKAGES[*]} (Debian multiarch)"
        if ! i386_install || ! i386_toolchain_works; then
            echo "    skipped: gcc -m32 with the i386 cmocka is not available on this machine"
            SKIPPED=$((SKIPPED + 1))
            return 0
        fi
    fi
    local dir="$BUILD_ROOT/i386"
    configure "$dir" --cross-file "$I386_CROSS_FILE" --buildtype=debugoptimized -Dwerror=true \
        -Dredis=disabled -Dlibuv=disabled -Dbench=false
    build "$dir"
    local rc=0
    meson test -C "$dir" --print-errorlogs --num-processes "$JOBS" || rc=$?
    count_meson_run "$dir"
    [ "$rc" -eq 0 ] || exit "$rc"
}
