# The fuzz stage, sourced after common.sh by tools/test (run_fuzz_stage)
# and tools/fuzz: builds every libFuzzer harness of tests/fuzz/ with clang,
# ASan and UBSan, and runs them.
#
# tools/test's stage is deterministic and short: each harness replays its
# seed corpus (tests/fuzz/corpus/<name>/), then runs RS_FUZZ_RUNS inputs
# (default 200000, a few seconds) from the fixed seed RS_FUZZ_SEED (default 1). Each step
# prints "PASS fuzz_<name>_<step>" or "FAIL ..." and adds to tools/test's
# PASSED / FAILED totals; a failure ends the script (exit 1).

FUZZ_RUNS=${RS_FUZZ_RUNS:-200000}
FUZZ_SEED=${RS_FUZZ_SEED:-1}

# Harness names: tests/fuzz/<name>.c
fuzz_harness_names() {
    local file
    for file in "$REPO_ROOT"/tests/fuzz/*.c; do
        basename "$file" .c
    done
}

# Configures and builds the harnesses in $1 (only the `fuzz` target).
fuzz_build_harnesses() {
    local dir=$1
    CC=clang configure "$dir" -Dfuzz=enabled --buildtype=debugoptimized \
        -Db_sanitize=address,undefined -Db_lundef=false -Ddefault_library=static \
        -Dc_args=-fno-sanitize-recover=all -Dexamples=false -Dbench=false
    build "$dir" fuzz
}

# Runs one step of a harness, printing its PASS or FAIL line (and the log
# of a failure) and counting it.
fuzz_step() {
    local name=$1 log=$2; shift 2
    if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$@" >"$log" 2>&1; then
        echo "PASS $name"
        PASSED=$((PASSED + 1))
    else
        echo "FAIL $name"
        tail -n 40 "$log" | sed 's/^/    /'
        FAILED=$((FAILED + 1))
        return 1
    fi
}

run_fuzz_stage() {
    local dir="$BUILD_ROOT/fuzz" name rc=0
    say "[fuzz] libFuzzer + ASan + UBSan: replay each corpus, then $FUZZ_RUNS runs from seed $FUZZ_SEED"
    fuzz_build_harnesses "$dir"
    for name in $(fuzz_harness_names); do
        local exe="$dir/tests/fuzz/fuzz_$name" corpus="$REPO_ROOT/tests/fuzz/corpus/$name"
        local work="$dir/corpus-$name"
        rm -rf "$work" && mkdir -p "$work"
        fuzz_step "fuzz_${name}_corpus" "$dir/$name-corpus.log" "$exe" -runs=0 "$corpus" || rc=1
        # New inputs go to the scratch directory (the first one), never into
        # the repository; a crash is written beside the build.
        fuzz_step "fuzz_${name}_runs" "$dir/$name-runs.log" "$exe" -seed="$FUZZ_SEED" \
            -runs="$FUZZ_RUNS" -max_len=512 -artifact_prefix="$dir/crash-$name-" \
            "$work" "$corpus" || rc=1
    done
    [ "$rc" -eq 0 ] || exit 1
}
