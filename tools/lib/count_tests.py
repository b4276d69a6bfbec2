#!/usr/bin/env python3
"""Counts the test cases of one `meson test` run from its testlog.json.

A cmocka program speaks TAP, so each of its cases counts on its own; any
other test (a script) counts as one. A program that failed without reporting
a failed case (it crashed, timed out, or a sanitizer aborted it) counts one
extra failure. Prints "<passed> <failed> <skipped>".
"""
import json
import re
import sys

CASE = re.compile(r'^(not ok|ok) \d+\b(.*)$')
GOOD = {'OK', 'EXPECTEDFAIL'}


def main(path):
    passed = failed = skipped = 0
    with open(path, encoding='utf-8') as log:
        for line in log:
            entry = json.loads(line)
            ok_cases = bad_cases = 0
            for out in (entry.get('stdout') or '').splitlines():
                match = CASE.match(out)
                if not match:
                    continue
                if '# SKIP' in match.group(2):
                    skipped += 1
                elif match.group(1) == 'ok':
                    ok_cases += 1
                else:
                    bad_cases += 1
            if entry['result'] == 'SKIP':
                skipped += 1
                continue
            if ok_cases + bad_cases == 0:
                ok_cases = 1 if entry['result'] in GOOD else 0
                bad_cases = 0 if entry['result'] in GOOD else 1
            elif entry['result'] not in GOOD and bad_cases == 0:
                bad_cases = 1
            passed += ok_cases
            failed += bad_cases
    print(passed, failed, skipped)


if __name__ == '__main__':
    main(sys.argv[1])
