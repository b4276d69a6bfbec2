# Throwaway HTTP servers on 127.0.0.1 for the HTTP integration tests and
# measurements: the scripted backend (tests/http/backend.py) and nginx in
# front of it (tests/http/nginx.conf.in: limit_req 5 r/s answering 429 +
# Retry-After). Sourced after common.sh. Sets BACKEND_PID, BACKEND_URL,
# NGINX_PID, NGINX_URL; stop_http_servers stops both by pid (safe twice).

BACKEND_PID=
BACKEND_URL=
NGINX_PID=
NGINX_URL=
HTTP_SERVERS_DIR=

# Waits until an URL answers (any status), or fails.
wait_for_url() {
    local url=$1 pid=$2 i
    for i in $(seq 1 100); do
        if python3 -c "import urllib.request,sys
try: urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError: pass" "$url" 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

start_http_servers() {
    HTTP_SERVERS_DIR="$BUILD_ROOT/http-servers"
    rm -rf "$HTTP_SERVERS_DIR" && mkdir -p "$HTTP_SERVERS_DIR"
    local backend_port nginx_port
    backend_port=$(free_port)
    python3 "$REPO_ROOT/tests/http/backend.py" "$backend_port" \
        >"$HTTP_SERVERS_DIR/backend.log" 2>&1 &
    BACKEND_PID=$!
    BACKEND_URL="http://127.0.0.1:$backend_port"
    wait_for_url "$BACKEND_URL/ok" "$BACKEND_PID" ||
        { cat "$HTTP_SERVERS_DIR/backend.log" >&2; stop_http_servers; die "backend did not start"; }

    nginx_port=$(free_port)
    sed -e "s|@DIR@|$HTTP_SERVERS_DIR|g" -e "s|@PORT@|$nginx_port|g" \
        -e "s|@BACKEND@|$backend_port|g" "$REPO_ROOT/tests/http/nginx.conf.in" \
        >"$HTTP_SERVERS_DIR/nginx.conf"
    nginx -c "$HTTP_SERVERS_DIR/nginx.conf" -p "$HTTP_SERVERS_DIR" \
        >"$HTTP_SERVERS_DIR/nginx.out" 2>&1 &
    NGINX_PID=$!
    NGINX_URL="http://127.0.0.1:$nginx_port"
    wait_for_url "$NGINX_URL/ok" "$NGINX_PID" ||
        { cat "$HTTP_SERVERS_DIR/nginx.out" "$HTTP_SERVERS_DIR/error.log" >&2 2>/dev/null
          stop_http_servers; die "nginx did not start"; }
}

stop_http_servers() {
    local pid
    for pid in "$NGINX_PID" "$BACKEND_PID"; do
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    NGINX_PID=
    BACKEND_PID=
}
