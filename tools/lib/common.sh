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
# event-loop example.
TEST_PACKAGES=(libcmocka-dev clang libclang-rt-14-dev g++ binutils libuv1-dev)

# meson setup, or a reconfigure when the directory exists already.
configure() {
    local dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$REPO_ROOT" "$@" >/dev/null
    else
        meson setup "$dir" "$REPO_ROOT" "$@" >/dev/null
    fi
}
