# The Sentinel failover stage of tools/test (issue 16): a master, a replica
# and three sentinels (Debian's redis-sentinel) on free ports of 127.0.0.1,
# in a throwaway directory, and tests/test_redis_sentinel against them; the
# test kills the master mid-run and checks what a failover does to calls
# (their timeouts, the failure policy, when service resumes, how much more
# than the limit is admitted). Every server is stopped by its pid when the
# stage ends, also on failure or interruption.
#
# Sourced after common.sh by tools/test, which provides say, REPO_ROOT,
# BUILD_ROOT, PASSED, FAILED and SKIPPED. Skipped (not failed) when
# redis-sentinel cannot be installed here.
#
# The sentinels' timeouts are small so the test is short: a master is
# subjectively down after 1 s without an answer (down-after-milliseconds),
# objectively down when 2 of 3 sentinels agree (quorum), and a failover
# that does not complete is retried after failover-timeout (3 s).

SENTINEL_DOWN_AFTER_MS=1000
SENTINEL_FAILOVER_TIMEOUT_MS=3000

SENTINEL_DIR=
SENTINEL_PIDS=()

# Starts a redis-server (or sentinel) in the background; its pid joins
# SENTINEL_PIDS. Arguments: a log name, then redis-server's arguments.
sentinel_spawn() {
    local name=$1; shift
    redis-server "$@" >"$SENTINEL_DIR/$name.log" 2>&1 &
    SENTINEL_PIDS+=($!)
}

# Waits (up to $2 tenths of a second) until the command in $1 succeeds.
sentinel_wait_for() {
    local i
    for i in $(seq 1 "$2"); do
        if eval "$1" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

sentinel_stop_all() {
    local pid
    for pid in "${SENTINEL_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${SENTINEL_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    SENTINEL_PIDS=()
}

# Installs redis-sentinel if it is missing; false when that cannot be done.
sentinel_install() {
    command -v redis-sentinel >/dev/null && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null && sudo -n true 2>/dev/null || return 1
        sudo=(sudo -n)
    fi
    "${sudo[@]}" apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
        "${SENTINEL_PACKAGES[@]}" >/dev/null 2>&1
    command -v redis-sentinel >/dev/null
}

# The servers and the test, in a subshell whose EXIT trap stops every
# server it started. Prints the test's TAP output.
sentinel_run() {
    local test_program=$1
    (
        trap sentinel_stop_all EXIT
        trap 'exit 130' INT TERM
        SENTINEL_DIR="$BUILD_ROOT/sentinel"
        rm -rf "$SENTINEL_DIR" && mkdir -p "$SENTINEL_DIR"
        # The shell's own messages (such as its note that the master was
        # killed: the test kills it) go to a log, not into the test's output.
        exec 2>>"$SENTINEL_DIR/stage.log"
        local master replica ports=() i
        master=$(free_port)
        replica=$(free_port)
        sentinel_spawn master --port "$master" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$SENTINEL_DIR"
        local master_pid=${SENTINEL_PIDS[-1]}
        sentinel_spawn replica --port "$replica" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$SENTINEL_DIR" --replicaof 127.0.0.1 "$master"
        for i in 1 2 3; do
            ports+=("$(free_port)")
            cat >"$SENTINEL_DIR/sentinel-$i.conf" <<EOF
port ${ports[-1]}
bind 127.0.0.1
dir $SENTINEL_DIR
sentinel monitor mymaster 127.0.0.1 $master 2
sentinel down-after-milliseconds mymaster $SENTINEL_DOWN_AFTER_MS
sentinel failover-timeout mymaster $SENTINEL_FAILOVER_TIMEOUT_MS
sentinel parallel-syncs mymaster 1
EOF
            redis-sentinel "$SENTINEL_DIR/sentinel-$i.conf" >"$SENTINEL_DIR/sentinel-$i.log" 2>&1 &
            SENTINEL_PIDS+=($!)
        done
        # Ready: the replica is in sync, and every sentinel knows the replica
        # and the two other sentinels (they find each other through the
        # master within a few seconds), or no failover could be elected.
        sentinel_wait_for "redis-cli -p $replica info replication | grep -q master_link_status:up" 100 ||
            { echo "not ok - the replica did not sync"; exit 1; }
        local port
        for port in "${ports[@]}"; do
            sentinel_wait_for "[ \"\$(redis-cli -p $port sentinel master mymaster | grep -A1 -x num-other-sentinels | tail -1)\" = 2 ] && redis-cli -p $port sentinel replicas mymaster | grep -q $replica" 300 ||
                { echo "not ok - sentinel $port did not see the others"; exit 1; }
        done
        local hosts
        hosts=$(printf '127.0.0.1:%s,' "${ports[@]}")
        RS_TEST_SENTINEL_URL="redis-sentinel://${hosts%,}/mymaster" \
        RS_TEST_SENTINEL_MASTER_PID=$master_pid \
        RS_TEST_SENTINEL_MASTER_PORT=$master \
        RS_TEST_SENTINEL_REPLICA_PORT=$replica \
        RS_TEST_SENTINEL_DOWN_AFTER_MS=$SENTINEL_DOWN_AFTER_MS \
        RS_TEST_SENTINEL_FAILOVER_TIMEOUT_MS=$SENTINEL_FAILOVER_TIMEOUT_MS \
        CMOCKA_MESSAGE_OUTPUT=TAP "$test_program" 2>&1
    )
}

# The stage: counts the test's cases into tools/test's totals; a failure
# ends the script (exit 1).
sentinel_stage() {
    local test_program=$1
    say "[sentinel] a master, a replica and 3 sentinels; the master killed mid-run"
    if [ ! -x "$test_program" ]; then
        echo "    skipped: no $test_program (built only with hiredis)"
        SKIPPED=$((SKIPPED + 1))
        return 0
    fi
    if ! sentinel_install; then
        echo "    skipped: redis-sentinel cannot be installed here"
        SKIPPED=$((SKIPPED + 1))
        return 0
    fi
    local out rc=0
    out=$(sentinel_run "$test_program" 2>&1) || rc=$?
    echo "$out" | sed 's/^/    /'
    local passed failed
    passed=$(grep -c -E '^ok [0-9]+' <<<"$out" || true)
    failed=$(grep -c -E '^not ok' <<<"$out" || true)
    PASSED=$((PASSED + passed))
    FAILED=$((FAILED + failed))
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        FAILED=$((FAILED + 1))
    fi
    [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] || exit 1
}
