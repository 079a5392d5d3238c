#!/bin/sh
# bench.smoke: craton-bench runs every default case against the built libcraton.so, briefly,
# on a temporary token; it must exit 0 and print one result line per case. No timing checks.
# usage: smoke.sh CRATON_BENCH LIBCRATON
set -eu
bench=$1
module=$2
dir=$(mktemp -d /tmp/craton-bench-smoke.XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
mkdir "$dir/tokens"
# Few PBKDF2 iterations keep logins (and the cold-start children) quick.
cat > "$dir/craton.conf" <<CONF
[store]
token_dir = $dir/tokens
[pin]
pbkdf2_iterations = 1000
[audit]
enabled = true
sync = none
CONF
export CRATON_CONFIG="$dir/craton.conf"
unset CRATON_TOKEN_DIR
cases=$("$bench" --list | grep -v '(opt-in)')
status=0
"$bench" --module "$module" --seconds 0.02 --reps 1 --max-objects 20 \
    --pbkdf2-iterations 1000 --json "$dir/out.json" > "$dir/out.txt" 2> "$dir/err.txt" || status=$?
cat "$dir/out.txt"
cat "$dir/err.txt" >&2
if [ "$status" -ne 0 ]; then
    echo "bench.smoke: craton-bench exited with $status" >&2
    exit 1
fi
missing=0
for c in $cases; do
    if ! grep -q "^$c " "$dir/out.txt"; then
        echo "bench.smoke: no result line for $c" >&2
        missing=1
    fi
done
grep -q '"cases":\[' "$dir/out.json" || { echo "bench.smoke: no JSON written" >&2; missing=1; }
exit $missing
