#!/usr/bin/env bash
# Static analysis gate: cppcheck (warning, performance, portability) and clang-tidy (the
# repository's .clang-tidy, warnings as errors) over src/, using the compile commands of a
# fresh configure (so the exact flags and defines of the build). Exit 0 only when both are
# clean. Usage: static-analysis.sh SOURCE_DIR [BUILD_DIR_WITH_compile_commands.json]
set -uo pipefail
src=$(cd "${1:?usage: static-analysis.sh SOURCE_DIR [BUILD_DIR]}" && pwd)
jobs=${SA_JOBS:-2}
tmp=$(mktemp -d /tmp/craton-sa-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${2:-}" ] && [ -f "$2/compile_commands.json" ]; then
    db=$2
else
    db=$tmp/build
    cmake -S "$src" -B "$db" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCRATON_TESTS=OFF \
        >"$tmp/cmake.log" 2>&1 || { echo "not ok - configure failed"; cat "$tmp/cmake.log"; exit 1; }
fi
fail=0

for tool in cppcheck clang-tidy; do
    command -v $tool >/dev/null || { echo "not ok - $tool is not installed"; exit 1; }
done

# cppcheck: the library sources only, with the build's include paths and defines.
if cppcheck --project="$db/compile_commands.json" --file-filter="$src/src/*" \
        --enable=warning,performance,portability --inline-suppr --error-exitcode=1 \
        --suppress=missingIncludeSystem --quiet -j"$jobs" 2>"$tmp/cppcheck.txt"; then
    echo "ok - cppcheck: src/ clean"
else
    fail=1
    echo "not ok - cppcheck:"
    sed 's/^/# /' "$tmp/cppcheck.txt"
fi

# clang-tidy: one process per file (the analyzer is more reliable that way), in parallel.
find "$src/src" -name '*.c' | sort >"$tmp/files"
xargs -a "$tmp/files" -P"$jobs" -I{} sh -c \
    'clang-tidy -p "$1" --quiet --extra-arg=-Wno-unknown-warning-option "$2" >"$3/$(echo "$2" | tr / _).tidy" 2>&1 || echo "$2" >>"$3/failed"' \
    _ "$db" {} "$tmp"
if [ -s "$tmp/failed" ]; then
    fail=1
    echo "not ok - clang-tidy: $(wc -l <"$tmp/failed") file(s) with findings:"
    cat "$tmp"/*.tidy | grep -E '^[^ ].*: (warning|error):' | sed "s|$src/||" | sort -u | sed 's/^/# /'
else
    echo "ok - clang-tidy: $(wc -l <"$tmp/files") files clean"
fi
exit $fail
