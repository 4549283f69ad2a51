#!/usr/bin/env bash
# Shows that the fault-injection tests guard what they claim. Each mutant in
# scripts/fault-mutants/ is a patch that breaks, on purpose, one mechanism a
# fault test relies on (the seed's single transaction, the project lock, the
# migration resume, …). For each one this script applies the patch to a
# scratch worktree of HEAD, runs the tests named on the patch's `tests:` line
# and expects every one of them to FAIL. A mutant whose test passes has
# "survived": that test does not guard its invariant.
#
#   scripts/fault-mutants.sh [MUTANT...]    (default: every mutant)
#
# Prints one line per mutant and test (killed / SURVIVED, with the test's own
# failure message) and exits non-zero when a mutant survives or no longer
# applies to HEAD. Not part of the test command: each mutant costs a build
# and an end-to-end run (about 6 min in all on 2 cores, plus one build of
# the dependencies the first time). Builds go to target/fault-mutants (or
# $CARGO_TARGET_DIR), each test's whole output to its logs/ folder; the
# working tree is never touched. Results are recorded in docs/faults.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
mutants_dir="$repo/scripts/fault-mutants"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target/fault-mutants}"

log() { printf '[fault-mutants %4ss] %s\n' "$SECONDS" "$*" >&2; }

if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    log "the Docker engine is not reachable; the fault tests need it"
    exit 1
fi
bash scripts/build-test-images.sh

if [ $# -gt 0 ]; then
    mutants=()
    for name in "$@"; do
        [ -f "$mutants_dir/$name.patch" ] || { log "no mutant named $name (see $mutants_dir)"; exit 2; }
        mutants+=("$mutants_dir/$name.patch")
    done
else
    mutants=("$mutants_dir"/*.patch)
fi

logs="$CARGO_TARGET_DIR/logs"
rm -rf "$logs" && mkdir -p "$logs"
scratch=$(mktemp -d)
worktree="$scratch/tree"
cleanup() {
    git -C "$repo" worktree remove --force "$worktree" >/dev/null 2>&1 || true
    rm -rf "$scratch"
}
trap cleanup EXIT

failures=0
results=()
record() {
    results+=("$1")
    log "$1"
}
for patch in "${mutants[@]}"; do
    name=$(basename "$patch" .patch)
    tests=$(sed -n 's/^tests: *//p' "$patch")
    [ -n "$tests" ] || { log "$name: the patch names no tests (a 'tests:' line)"; exit 2; }
    git -C "$repo" worktree remove --force "$worktree" >/dev/null 2>&1 || true
    git -C "$repo" worktree add --quiet --detach "$worktree" HEAD
    if ! git -C "$worktree" apply "$patch"; then
        record "$name: STALE (the patch no longer applies to HEAD; rewrite it)"
        failures=$((failures + 1))
        continue
    fi
    for test in $tests; do
        # `file::test_name`: the integration test file and the exact test.
        file=${test%%::*}
        case_name=${test#*::}
        log "$name: running $file::$case_name against the mutant"
        output="$logs/$name.$case_name.log"
        if (cd "$worktree" && cargo test --test "$file" -- --exact "$case_name" --test-threads=1) \
            >"$output" 2>&1; then
            record "$name: SURVIVED $test (the test passed with the mechanism broken)"
            failures=$((failures + 1))
        elif grep -q "^test $case_name \.\.\. FAILED" "$output"; then
            message=$(grep -m1 -A3 "panicked at" "$output" | tail -n +2 | head -n 3 | tr '\n' ' ' | cut -c1-300)
            record "$name: killed by $test: $message"
        else
            record "$name: ERROR $test did not run (build failure?); the end of its output follows"
            tail -n 30 "$output" >&2
            failures=$((failures + 1))
        fi
    done
done

echo "== fault mutants against $(git -C "$repo" rev-parse --short HEAD); each test's output is in $logs"
printf '%s\n' "${results[@]}"
exit $((failures > 0))
