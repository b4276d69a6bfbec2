#!/bin/sh
# The shared library must export the public rs_* API and nothing else.
set -eu
# Usage: check_exports.sh <shared library> [fewest rs_ symbols expected]
lib="$1"
fewest="${2:-10}"
leaked=$(nm -D --defined-only "$lib" | awk 'NF == 3 { print $3 }' | grep -v '^rs_' || true)
count=$(nm -D --defined-only "$lib" | awk 'NF == 3 { print $3 }' | grep -c '^rs_' || true)
if [ -n "$leaked" ]; then
    echo "symbols exported without the rs_ prefix:" >&2
    echo "$leaked" >&2
    exit 1
fi
internal=$(nm -D --defined-only "$lib" | awk 'NF == 3 { print $3 }' | grep '^rs__' || true)
if [ -n "$internal" ]; then
    echo "internal rs__ symbols exported:" >&2
    echo "$internal" >&2
    exit 1
fi
if [ "$count" -lt "$fewest" ]; then
    echo "only $count rs_ symbols exported: is the export macro applied?" >&2
    exit 1
fi
echo "ok: $count rs_* symbols, nothing else"
