#!/bin/sh
# Without a Redis server the Redis test program must still list every case:
# those it cannot run as skipped (TAP "# SKIP", counted as skipped by meson
# and tools/test), never dropped from the plan as if they did not exist.
# Usage: check_redis_skips.sh <test_redis executable>
set -eu
# Its exit status is judged with the cases below; under `set -e` a failing
# program would end the script before it said anything.
status=0
out=$(env -u RS_TEST_REDIS_URL -u RS_TEST_REDIS_SERVER CMOCKA_MESSAGE_OUTPUT=TAP "$1") || status=$?
plan=$(printf '%s\n' "$out" | sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p')
cases=$(printf '%s\n' "$out" | grep -c -E '^(not )?ok [0-9]+' || true)
skipped=$(printf '%s\n' "$out" | grep -c -E '^(not )?ok [0-9]+ # SKIP' || true)
failed=$(printf '%s\n' "$out" | grep -E '^not ok [0-9]+' | grep -vc '# SKIP' || true)
echo "plan ${plan:-none}, $cases cases listed, $skipped skipped, $failed failed, exit $status"
if [ "$status" -ne 0 ] || [ -z "$plan" ] || [ "$cases" -ne "$plan" ] || [ "$skipped" -eq 0 ] || [ "$failed" -ne 0 ]; then
    printf '%s\n' "$out" >&2
    exit 1
fi
