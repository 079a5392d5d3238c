#!/bin/sh
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined) in a separate
# build directory and runs each for a bounded time. Exit status is non-zero when a build fails,
# a saved regression input crashes again, or the fuzzer finds a crash, leak or timeout.
#
#   tests/fuzz/run.sh [SECONDS [TARGET...]]     (default: 60 seconds, every target)
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz in the repository), CC (default clang),
# FUZZ_JOBS (parallel compile jobs, default 2), FUZZ_ARGS (extra libFuzzer flags).
# New corpus entries go to $FUZZ_BUILD_DIR/corpus/<target>; crash inputs to
# $FUZZ_BUILD_DIR/artifacts/<target>/. The committed seeds in tests/fuzz/corpus/<target> are
# read, never written.
set -eu

secs=${1:-60}
[ $# -gt 0 ] && shift
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
targets=${*:-fuzz_template fuzz_attrs_blob fuzz_mech_params fuzz_api}

case $secs in
    ''|*[!0-9]*) echo "usage: $0 [SECONDS [TARGET...]]" >&2; exit 2 ;;
esac

CC=${CC:-clang}
export CC
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASAN=ON -DFUZZ=ON \
        -DCRATON_TESTS=OFF -DCMAKE_PROJECT_INCLUDE="$root/tests/fuzz/standalone.cmake" >/dev/null
fi
# shellcheck disable=SC2086
cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target $targets

ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS
# Quiet library logging; the fuzzers set their own config where they need one.
CRATON_LOG=none
export CRATON_LOG

status=0
for t in $targets; do
    bin=$build/tests/fuzz/$t
    seeds=$root/tests/fuzz/corpus/$t
    regress=$root/tests/fuzz/regressions/$t
    corpus=$build/corpus/$t
    artifacts=$build/artifacts/$t
    mkdir -p "$corpus" "$artifacts" "$seeds"
    # Known crashers first: each must now run clean.
    if [ -d "$regress" ] && [ -n "$(ls -A "$regress" 2>/dev/null)" ]; then
        echo "== $t: regression inputs"
        if ! "$bin" -runs=1 "$regress"/* >"$build/$t.regress.log" 2>&1; then
            tail -n 60 "$build/$t.regress.log"
            echo "FAIL: $t: a regression input crashes (log: $build/$t.regress.log)"
            status=1
            continue
        fi
    fi
    echo "== $t: fuzzing for ${secs}s"
    # shellcheck disable=SC2086
    if "$bin" -max_total_time="$secs" -timeout=30 -rss_limit_mb=3072 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} \
        "$corpus" "$seeds" >"$build/$t.log" 2>&1; then
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' \
            "$build/$t.log" | tr '\n' ' '
        grep -E '^#[0-9]+.*DONE' "$build/$t.log" | tail -n 1 || true
        echo
        echo "ok: $t"
    else
        tail -n 80 "$build/$t.log"
        echo "FAIL: $t (log: $build/$t.log; input in $artifacts/)"
        status=1
    fi
done
exit $status
