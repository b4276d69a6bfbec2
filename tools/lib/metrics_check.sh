# The metrics stage of tools/test: the exposition of every kind of object
# (tests/metrics_exposition.c) checked by promtool (the Prometheus text
# format; promtool 2.42 does not read OpenMetrics) and by the OpenMetrics
# parser of python3-prometheus-client (tools/lib/check_openmetrics.py, run
# by /usr/bin/python3, which has the Debian package); then
# examples/metrics_server, started on a free port, scraped once in each
# format with curl and checked the same way, and stopped by its pid.
# Sourced after common.sh; adds one case per check to PASSED and FAILED.

METRICS_SERVER_PID=

stop_metrics_server() {
    if [ -n "$METRICS_SERVER_PID" ]; then
        kill "$METRICS_SERVER_PID" 2>/dev/null || true
        wait "$METRICS_SERVER_PID" 2>/dev/null || true
        METRICS_SERVER_PID=
    fi
}

# check NAME COMMAND...: one counted case; the output only when it fails.
metrics_check() {
    local name=$1; shift
    if "$@" >"$METRICS_DIR/last.log" 2>&1; then
        echo "PASS $name"
        PASSED=$((PASSED + 1))
    else
        echo "FAIL $name"
        cat "$METRICS_DIR/last.log"
        FAILED=$((FAILED + 1))
    fi
}

promtool_check() { promtool check metrics <"$1"; }

# GET /metrics, asking for OpenMetrics when $3 is "om"; the Content-Type
# must say which format came back.
scrape() {
    local url=$1 out=$2 accept=text/plain type=text/plain
    if [ "${3:-}" = om ]; then
        accept='application/openmetrics-text; version=1.0.0'
        type=application/openmetrics-text
    fi
    curl -sSf -H "Accept: $accept" -D "$out.headers" -o "$out" "$url" &&
        grep -qi "^content-type: $type" "$out.headers"
}

metrics_stage() {
    local build=$1
    METRICS_DIR="$BUILD_ROOT/metrics-check"
    rm -rf "$METRICS_DIR" && mkdir -p "$METRICS_DIR"
    say "[metrics] promtool and the OpenMetrics parser on every kind of object, and a scrape"
    local om_check=(/usr/bin/python3 "$REPO_ROOT/tools/lib/check_openmetrics.py")
    metrics_check "exposition of every kind of object written" \
        "$build/tests/metrics_exposition" "$METRICS_DIR/all.prom" "$METRICS_DIR/all.om"
    metrics_check "promtool check metrics: every kind of object" \
        promtool_check "$METRICS_DIR/all.prom"
    metrics_check "OpenMetrics parser: every kind of object" \
        "${om_check[@]}" "$METRICS_DIR/all.om" 40

    local port
    port=$(free_port)
    "$build/examples/metrics_server" "$port" 60 >"$METRICS_DIR/server.log" 2>&1 &
    METRICS_SERVER_PID=$!
    local url="http://127.0.0.1:$port/metrics"
    if ! wait_for_url "$url" "$METRICS_SERVER_PID"; then
        cat "$METRICS_DIR/server.log"
        stop_metrics_server
        FAILED=$((FAILED + 1))
        return 1
    fi
    sleep 0.5 # some calls behind the counters
    metrics_check "metrics_server: scraped (Prometheus text)" scrape "$url" "$METRICS_DIR/scrape.prom"
    metrics_check "metrics_server: scraped (OpenMetrics)" scrape "$url" "$METRICS_DIR/scrape.om" om
    metrics_check "promtool check metrics: metrics_server" promtool_check "$METRICS_DIR/scrape.prom"
    metrics_check "OpenMetrics parser: metrics_server" "${om_check[@]}" "$METRICS_DIR/scrape.om" 40
    stop_metrics_server
}
