#!/usr/bin/env python3
"""A scripted HTTP backend for the integration tests (standard library only).

    backend.py PORT

Listens on 127.0.0.1:PORT. Every request is logged with its arrival time
(CLOCK_MONOTONIC, ns) so a test can check when requests came.

    GET  /ok                      200 "ok"
    GET  /flaky                   503 (Retry-After: RETRY) during an outage, else 200
    POST /control/outage?seconds=S&retry_after=R
                                  starts an outage of S seconds now (R: its Retry-After,
                                  0 = none)
    GET  /dialect/NAME            one rate-limit header dialect (see DIALECTS), answering
                                  429 when ?spent=1, else 200
    GET  /control/log             the log: one line "monotonic_ns status path" per request
    POST /control/reset           clears the log and ends any outage
"""
import http.server
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
LOG = []
OUTAGE = {"until": 0, "retry_after": 0}


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def http_date(epoch):
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(epoch))


def rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# Each dialect: headers for a quota that is spent (429) or not (200), as
# the providers send them. "{reset_epoch}" etc. are filled per request.
DIALECTS = {
    "retry-after-seconds": lambda spent, t: [("Retry-After", "2")] if spent else [],
    "retry-after-date": lambda spent, t: [("Retry-After", http_date(t + 3))] if spent else [],
    "retry-after-ms": lambda spent, t: [("retry-after-ms", "1500")] if spent else [],
    "openai": lambda spent, t: [
        ("x-ratelimit-limit-requests", "60"),
        ("x-ratelimit-remaining-requests", "0" if spent else "59"),
        ("x-ratelimit-reset-requests", "1s"),
        ("x-ratelimit-limit-tokens", "150000"),
        ("x-ratelimit-remaining-tokens", "149000"),
        ("x-ratelimit-reset-tokens", "6m0s"),
    ],
    "anthropic": lambda spent, t: [
        ("anthropic-ratelimit-requests-limit", "50"),
        ("anthropic-ratelimit-requests-remaining", "0" if spent else "49"),
        ("anthropic-ratelimit-requests-reset", rfc3339(t + 2)),
        ("anthropic-ratelimit-tokens-limit", "40000"),
        ("anthropic-ratelimit-tokens-remaining", "39000"),
        ("anthropic-ratelimit-tokens-reset", rfc3339(t + 60)),
    ] + ([("retry-after", "2")] if spent else []),
    "ietf": lambda spent, t: [
        ("RateLimit-Policy", '"default";q=100;w=60'),
        ("RateLimit", '"default";r=%d;t=2' % (0 if spent else 99)),
    ],
    "ietf-old": lambda spent, t: [
        ("RateLimit-Limit", "100"),
        ("RateLimit-Remaining", "0" if spent else "99"),
        ("RateLimit-Reset", "2"),
    ],
    "github": lambda spent, t: [
        ("X-RateLimit-Limit", "5000"),
        ("X-RateLimit-Remaining", "0" if spent else "4999"),
        ("X-RateLimit-Reset", str(int(t) + 2)),
    ],
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # the log below is the record
        pass

    def answer(self, status, body=b"", headers=()):
        with LOCK:
            LOG.append((now_ns(), status, self.path))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/ok":
            self.answer(200, b"ok\n")
        elif url.path == "/flaky":
            with LOCK:
                down = now_ns() < OUTAGE["until"]
                retry_after = OUTAGE["retry_after"]
            if down:
                headers = [("Retry-After", str(retry_after))] if retry_after else []
                self.answer(503, b"down\n", headers)
            else:
                self.answer(200, b"ok\n")
        elif url.path.startswith("/dialect/"):
            name = url.path[len("/dialect/"):]
            if name not in DIALECTS:
                self.answer(404, b"no such dialect\n")
                return
            spent = query.get("spent", ["0"])[0] == "1"
            headers = DIALECTS[name](spent, time.time())
            self.answer(429 if spent else 200, b"dialect\n", headers)
        elif url.path == "/control/log":
            with LOCK:
                body = "".join(f"{t} {s} {p}\n" for t, s, p in LOG).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.answer(404, b"not found\n")

    def do_POST(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/control/outage":
            seconds = float(query.get("seconds", ["0"])[0])
            with LOCK:
                OUTAGE["until"] = now_ns() + int(seconds * 1e9)
                OUTAGE["retry_after"] = int(query.get("retry_after", ["0"])[0])
        elif url.path == "/control/reset":
            with LOCK:
                LOG.clear()
                OUTAGE["until"] = 0
        else:
            self.answer(404, b"not found\n")
            return
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    port = int(sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
