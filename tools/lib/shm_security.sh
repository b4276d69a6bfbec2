#!/usr/bin/env bash
# The security stage of tools/test: the shared-memory trust model of
# docs/shared-memory.md, tried by a real second local user, created for the
# run and removed after it. As root, and as that user, it plants symbolic
# links and foreign files where a limiter is opened, shares a file with the
# user's group, and fills a small filesystem; tests/security/shm_probe makes
# each open and says its status.
#
#   tools/lib/shm_security.sh PROBE    PROBE: a built tests/security/shm_probe
#
# Prints one line per case, "PASS name", "FAIL name: why" or "SKIP name:
# why", and exits 1 if a case failed. Needs root, useradd/userdel, runuser
# and unshare; without them every case is skipped, not failed. Everything it
# makes is undone on exit, also after a failure or an interruption: the
# user and its group, a temporary directory, its /dev/shm names, and the
# kernel's protected_symlinks / protected_regular settings, which it turns
# off for the run so that no case passes only because the kernel refused
# (they differ between hosts). The full filesystems are small tmpfs mounts in
# a private mount namespace (unshare -m): they vanish with it.
#
# Sourced (by tools/test), it only defines shm_security_stage BUILD_DIR,
# which runs it on BUILD_DIR's probe and adds its lines to PASSED, FAILED
# and SKIPPED.

SHM_SECURITY_SCRIPT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

shm_security_stage() {
    say "[shm-security] symbolic links, foreign files, a group and a full disk, by a second user"
    local out rc=0
    out=$(bash "$SHM_SECURITY_SCRIPT" "$1/tests/security/shm_probe" 2>&1) || rc=$?
    echo "$out"
    PASSED=$((PASSED + $(grep -c '^PASS' <<<"$out" || true)))
    FAILED=$((FAILED + $(grep -c '^FAIL' <<<"$out" || true)))
    SKIPPED=$((SKIPPED + $(grep -c '^SKIP' <<<"$out" || true)))
    [ "$rc" -eq 0 ] || exit "$rc"
}

[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

set -uo pipefail

CASES=(symlink_to_root_file dangling_symlink_into_private_dir symlink_in_dev_shm
       foreign_empty_object_666 foreign_valid_file other_user_cannot_use_ours
       replaced_in_open_directory group_shared_file full_tmpfs full_dev_shm)
TAG="rs-sec-$$"       # the user, its group, and the prefix of every /dev/shm name
WORK=
SAVED_SYSCTLS=()
USER_MADE=false

skip_all() {
    local c
    for c in "${CASES[@]}"; do echo "SKIP $c: $1"; done
    exit 0
}

cleanup() {
    trap '' INT TERM # a second signal must not cut the clean-up short
    local entry
    for entry in "${SAVED_SYSCTLS[@]}"; do
        echo "${entry#*=}" >"${entry%%=*}" 2>/dev/null
    done
    rm -f /dev/shm/"$TAG"-* 2>/dev/null
    [ -n "$WORK" ] && rm -rf "$WORK"
    if $USER_MADE; then
        userdel "$TAG" >/dev/null 2>&1
        groupdel "$TAG" >/dev/null 2>&1
    fi
}

# The kernel's own defences would hide a regression: off for the run.
disable_kernel_protection() {
    local file
    for file in /proc/sys/fs/protected_symlinks /proc/sys/fs/protected_regular; do
        [ -w "$file" ] || { echo "# $file cannot be changed here: left at $(cat "$file" 2>/dev/null)"; continue; }
        SAVED_SYSCTLS+=("$file=$(cat "$file")")
        echo 0 >"$file"
    done
}

as_user() { runuser -u "$TAG" -- "$@"; }

# probe root|user ARGS...: the probe's line, or what went wrong with it.
probe() {
    local who=$1; shift
    local out rc=0
    if [ "$who" = root ]; then
        out=$("$PROBE" "$@" 2>&1) || rc=$?
    else
        out=$(as_user "$PROBE" "$@" 2>&1) || rc=$?
    fi
    if [ "$rc" -ge 128 ]; then
        echo "CRASH killed by signal $((rc - 128))"
    elif [ "$rc" -ne 0 ]; then
        echo "ERROR exit $rc: $out"
    else
        echo "$out"
    fi
}

# expect STATUS LINE [TEXT]: the probe's LINE has STATUS (and TEXT in its
# rs_last_error() part); says why not otherwise.
expect() {
    local want=$1 line=$2 text=${3:-}
    if [ "${line%%$'\t'*}" != "$want" ]; then
        echo "expected $want, got: $line"
        return 1
    fi
    if [ -n "$text" ] && [[ "$line" != *"$text"* ]]; then
        echo "expected \"$text\" in: $line"
        return 1
    fi
}

digest() { sha256sum <"$1"; }

# ---- cases: each says nothing and returns 0, or says why it failed -------------

# A symbolic link in a world-writable, non-sticky directory to a root-only
# file of 128 zero bytes (which 0.1 "initialised"): never followed.
case_symlink_to_root_file() {
    head -c 128 /dev/zero >"$WORK/private/victim"
    local before kind
    before=$(digest "$WORK/private/victim")
    as_user ln -s "$WORK/private/victim" "$WORK/open/quota.shm" || return 1
    for kind in bucket window; do
        expect RS_E_IO "$(probe root open "$kind" "$WORK/open/quota.shm" create)" \
            "symbolic link" || return 1
    done
    [ "$(digest "$WORK/private/victim")" = "$before" ] || { echo "the victim was written"; return 1; }
}

# A dangling link into a directory only root may write: nothing created there.
case_dangling_symlink_into_private_dir() {
    as_user ln -s "$WORK/private/created" "$WORK/open/new.shm" || return 1
    expect RS_E_IO "$(probe root open bucket "$WORK/open/new.shm" create)" "symbolic link" ||
        return 1
    [ ! -e "$WORK/private/created" ] || { echo "a file was created through the link"; return 1; }
}

# The same in /dev/shm, for a shared-memory object name.
case_symlink_in_dev_shm() {
    head -c 128 /dev/zero >"$WORK/private/victim2"
    local before
    before=$(digest "$WORK/private/victim2")
    as_user ln -s "$WORK/private/victim2" "/dev/shm/$TAG-link" || return 1
    expect RS_E_IO "$(probe root open bucket "/$TAG-link" create)" "symbolic link" || return 1
    [ "$(digest "$WORK/private/victim2")" = "$before" ] || { echo "the victim was written"; return 1; }
}

# An empty object another user made first, mode 666 (0.1 joined it, and the
# other user could then rewrite the state): refused, and left empty.
case_foreign_empty_object_666() {
    as_user touch "/dev/shm/$TAG-empty" && as_user chmod 666 "/dev/shm/$TAG-empty" || return 1
    local kind
    for kind in bucket window; do
        expect RS_E_IO "$(probe root open "$kind" "/$TAG-empty" create)" \
            "owned by uid $USER_UID, not by us (uid 0)" || return 1
    done
    [ ! -s "/dev/shm/$TAG-empty" ] || { echo "the foreign object was written"; return 1; }
}

# A genuine limiter file, but another user's: refused with any flags.
case_foreign_valid_file() {
    expect RS_OK "$(probe user open bucket "/$TAG-valid" create)" || return 1
    local flags
    for flags in create adopt "create adopt" "create group"; do
        # shellcheck disable=SC2086
        expect RS_E_IO "$(probe root open bucket "/$TAG-valid" $flags)" "owned by uid" ||
            return 1
    done
    as_user chmod 660 "/dev/shm/$TAG-valid" || return 1
    expect RS_E_IO "$(probe root open bucket "/$TAG-valid" group)" "owned by uid" || return 1
}

# Root's limit: the other user can neither join it nor write it.
case_other_user_cannot_use_ours() {
    expect RS_OK "$(probe root open bucket "/$TAG-ours" create)" || return 1
    local before
    before=$(digest "/dev/shm/$TAG-ours")
    expect RS_E_IO "$(probe user open bucket "/$TAG-ours" adopt)" "Permission denied" || return 1
    if as_user dd if=/dev/zero of="/dev/shm/$TAG-ours" bs=8 count=1 conv=notrunc 2>/dev/null; then
        echo "the other user wrote the file"
        return 1
    fi
    [ "$(digest "/dev/shm/$TAG-ours")" = "$before" ] || { echo "the file changed"; return 1; }
}

# In a directory others may write, another user replaces our file with a
# limiter of their own: the next open refuses it.
case_replaced_in_open_directory() {
    expect RS_OK "$(probe root open bucket "$WORK/open/replaced.shm" create)" || return 1
    as_user rm -f "$WORK/open/replaced.shm" || return 1
    expect RS_OK "$(probe user open bucket "$WORK/open/replaced.shm" create)" || return 1
    expect RS_E_IO "$(probe root open bucket "$WORK/open/replaced.shm" create)" "owned by uid" ||
        return 1
}

# RS_SHM_SHARED_GROUP: root shares a limit with the user's group through a
# set-group-ID directory; a member joins it with the flag, not without.
case_group_shared_file() {
    local file="$WORK/group/quota.shm" mode group
    expect RS_OK "$(probe root open bucket "$file" create group)" || return 1
    mode=$(stat -c %a "$file") group=$(stat -c %G "$file")
    [ "$mode" = 660 ] && [ "$group" = "$TAG" ] || { echo "mode $mode, group $group"; return 1; }
    expect RS_OK "$(probe user open bucket "$file" group)" || return 1
    expect RS_E_IO "$(probe user open bucket "$file")" "writable by its group" || return 1
    expect RS_OK "$(probe root open bucket "$file" group)" || return 1
}

# A full filesystem (0.1: SIGBUS at the first store into the mapping) is
# RS_E_IO at open, and leaves no file behind. In a private mount namespace,
# a tmpfs of 8 KiB filled up at MOUNTPOINT, then each of NAMES opened.
full_filesystem() {
    local mountpoint=$1; shift
    # shellcheck disable=SC2016
    unshare -m -- bash -c '
        '"$(declare -f probe)"'
        PROBE=$1 mountpoint=$2; shift 2
        mount -t tmpfs -o size=8k,mode=1777 rs-full "$mountpoint" || exit 1
        head -c 65536 /dev/zero >"$mountpoint/fill" 2>/dev/null
        for name in "$@"; do
            for kind in bucket window; do
                probe root open "$kind" "$name" create
            done
        done
        echo "left: $(ls -A "$mountpoint" | tr "\n" " ")"
    ' full "$PROBE" "$mountpoint" "$@"
}

check_full() {
    local out line
    out=$(full_filesystem "$@") || { echo "could not set up the filesystem: $out"; return 1; }
    while IFS= read -r line; do
        case $line in
            left:*) [ "$line" = "left: fill " ] || { echo "files left behind: $line"; return 1; } ;;
            *) expect RS_E_IO "$line" "No space left on device" || return 1 ;;
        esac
    done <<<"$out"
}

case_full_tmpfs() { check_full "$WORK/full" "$WORK/full/quota.shm"; }

case_full_dev_shm() { check_full /dev/shm "/$TAG-full"; }

# ---- main ------------------------------------------------------------------------

PROBE_BUILT=${1:-}
[ "$(id -u)" -eq 0 ] || skip_all "needs root (a second user, mounts)"
for tool in useradd userdel groupdel runuser unshare mount sha256sum stat; do
    command -v "$tool" >/dev/null || skip_all "no $tool on this machine"
done
[ -x "$PROBE_BUILT" ] || { echo "FAIL setup: no probe at '$PROBE_BUILT' (build with tests)"; exit 1; }

trap cleanup EXIT
trap 'exit 130' INT TERM
WORK=$(mktemp -d /tmp/rs-shm-security.XXXXXX) || exit 1
chmod 0755 "$WORK"
! id "$TAG" >/dev/null 2>&1 || skip_all "a user $TAG exists already"
USER_MADE=true # before useradd: a signal during it must still remove the user
useradd --system --no-create-home --user-group --shell /usr/sbin/nologin "$TAG" >/dev/null 2>&1 ||
    skip_all "useradd refused to create a user here"
USER_UID=$(id -u "$TAG")
disable_kernel_protection

mkdir -p "$WORK/bin" "$WORK/open" "$WORK/private" "$WORK/group" "$WORK/full"
cp "$PROBE_BUILT" "$WORK/bin/shm_probe"       # where the other user may run it
PROBE="$WORK/bin/shm_probe"
chmod 0755 "$WORK/bin" "$PROBE"
chmod 0777 "$WORK/open"                       # world-writable, not sticky
chmod 0700 "$WORK/private"
chown "root:$TAG" "$WORK/group" && chmod 2770 "$WORK/group"

failed=0
for c in "${CASES[@]}"; do
    if why=$("case_$c" 2>&1); then
        echo "PASS $c"
    else
        echo "FAIL $c: ${why:-failed}" | sed '2,$s/^/    /'
        failed=1
    fi
done
exit "$failed"
