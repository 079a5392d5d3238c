#!/usr/bin/env bash
# Memory check of whole init-to-finalize cycles: integration test programs (which dlopen the
# library, initialise, create and use keys and objects, and finalise) run under valgrind;
# any invalid access or definite/indirect leak fails. Skipped when valgrind is missing.
set -u
command -v valgrind >/dev/null || { echo "valgrind not installed"; exit 77; }
dir=$1; shift
fail=0 pass=0
for t in "$@"; do
    if valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=9 "$dir/$t" >/tmp/valgrind-$t.log 2>&1; then
        pass=$((pass + 1)); echo "ok - $t"
    else
        fail=$((fail + 1)); echo "not ok - $t"; grep -E "==[0-9]+==" /tmp/valgrind-$t.log | head -30
    fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
