#!/usr/bin/python3
"""Checks files of the OpenMetrics text format with the parser of the
prometheus_client package (Debian's python3-prometheus-client: run it with
/usr/bin/python3). The parser refuses what the format forbids: a missing
# EOF, families split or repeated, counters without _total samples, bad
label names, unescaped values. Prints one line per file, exits 1 on the
first file it refuses.

    check_openmetrics.py FILE [MIN_FAMILIES]
"""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def main(path, min_families):
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError and others
        print(f'{path}: refused: {e}')
        return 1
    samples = sum(len(f.samples) for f in families)
    if len(families) < min_families:
        print(f'{path}: only {len(families)} families, expected at least {min_families}')
        return 1
    print(f'{path}: {len(families)} families, {samples} samples')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1))
