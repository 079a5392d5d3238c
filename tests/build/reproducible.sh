#!/usr/bin/env bash
# Reproducible build: two builds of the library from the same sources, placed in two different
# directories (different path lengths, so any leaked path shows), with SOURCE_DATE_EPOCH fixed,
# must give a byte-identical libcraton.so and integrity sidecar. On a difference it names the
# leaked build paths it can find. Usage: reproducible.sh SOURCE_DIR  (about 1-2 minutes)
set -euo pipefail
src=${1:?usage: reproducible.sh SOURCE_DIR}
jobs=${REPRO_JOBS:-2}
work=$(mktemp -d /tmp/craton-repro-XXXXXX)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export LC_ALL=C TZ=UTC

# One snapshot of the tree, copied twice, so both builds see exactly the same sources even
# while someone edits the original.
a=$work/a
b=$work/second-build-with-a-longer-path
mkdir -p "$a/src" "$b/source-tree"
tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$a/src" -xf -
cp -a "$a/src/." "$b/source-tree/"

build() { # source dir, build dir
    mkdir -p "$2"
    cmake -S "$1" -B "$2" -DCRATON_TESTS=OFF >"$2.log" 2>&1 &&
        cmake --build "$2" --target craton -j"$jobs" >>"$2.log" 2>&1 ||
        { echo "not ok - build in $2 failed:"; tail -20 "$2.log"; exit 1; }
}
build "$a/src" "$a/build"
build "$b/source-tree" "$b/obj/build"

la=$(find "$a/build" -name libcraton.so -type f | head -1)
lb=$(find "$b/obj/build" -name libcraton.so -type f | head -1)
fail=0
if cmp -s "$la" "$lb"; then
    echo "ok - libcraton.so is byte-identical ($(sha256sum <"$la" | cut -c1-16)...)"
else
    fail=1
    echo "not ok - libcraton.so differs between the two builds"
    echo "# $(cmp -l "$la" "$lb" 2>/dev/null | wc -l) bytes differ; build paths found in the binaries:"
    for f in "$la" "$lb"; do
        strings -a "$f" | grep -E "$work" | sort -u | head -10 | sed 's/^/#   /'
    done
fi
if [ -f "$la.hmac" ] || [ -f "$lb.hmac" ]; then
    if cmp -s "$la.hmac" "$lb.hmac"; then
        echo "ok - integrity sidecar identical"
    else
        fail=1
        echo "not ok - integrity sidecar differs or is missing"
    fi
fi
exit $fail
