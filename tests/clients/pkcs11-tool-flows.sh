#!/usr/bin/env bash
# pkcs11-tool (OpenSC) flows against a Craton module on a fresh temp token.
#
#   usage: pkcs11-tool-flows.sh /path/to/libcraton.so
#
# Prints TAP-like "ok N - ..." / "not ok N - ..." lines and a final line
# "N passed, M failed".  Exit 0 only without failures; 77 (skip) when
# pkcs11-tool is not installed.
set -u

MODULE=${1:-${CRATON_MODULE:-}}
if [ -z "$MODULE" ] || [ ! -f "$MODULE" ]; then
    echo "usage: $0 /path/to/libcraton.so" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
if ! command -v pkcs11-tool >/dev/null 2>&1; then
    echo "pkcs11-tool not installed: skipping" >&2
    exit 77
fi
if ! command -v openssl >/dev/null 2>&1; then
    echo "openssl not installed: skipping" >&2
    exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/craton-p11tool-XXXXXX")
cleanup() { [ -n "${CRATON_KEEP_TMP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -m 0700 "$WORK/tokens"
cat >"$WORK/craton.conf" <<EOF
[store]
token_dir = $WORK/tokens
exclusive = false
[pin]
pbkdf2_iterations = 1000
max_failures = 10
min_length = 4
max_length = 255
[log]
level = error
file =
EOF
export CRATON_CONFIG="$WORK/craton.conf"
export CRATON_TOKEN_DIR="$WORK/tokens"

SO_PIN=87654321
PIN=123456
NEW_PIN=654321
LABEL=craton-flow

PASS=0
FAIL=0
N=0
OUT="$WORK/out.txt"

ok() { N=$((N + 1)); PASS=$((PASS + 1)); echo "ok $N - $1"; }
notok() {
    N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $1"
    if [ -s "$OUT" ]; then sed 's/^/#   /' "$OUT" | head -20; fi
}

# An ASan/UBSan build of the module needs the sanitizer runtimes preloaded
# into the (uninstrumented) pkcs11-tool; leaks of pkcs11-tool itself are not
# ours to report (the integration tests cover the module's leaks).
P11_PRELOAD=
for rt in libasan libubsan; do
    lib=$(ldd "$MODULE" 2>/dev/null | awk -v rt="$rt" '$1 ~ "^" rt "\\.so" {print $3}')
    if [ -n "$lib" ]; then P11_PRELOAD=${P11_PRELOAD:+$P11_PRELOAD:}$lib; fi
done

# p11 ARGS...: run pkcs11-tool with the module, output to $OUT.
p11() {
    if [ -n "$P11_PRELOAD" ]; then
        LD_PRELOAD="$P11_PRELOAD" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
            pkcs11-tool --module "$MODULE" "$@" >"$OUT" 2>&1
    else
        pkcs11-tool --module "$MODULE" "$@" >"$OUT" 2>&1
    fi
}
# tok ARGS...: the same, on our token.
tok() { p11 --token-label "$LABEL" "$@"; }

# expect_ok DESC ARGS...  /  expect_fail DESC PATTERN ARGS...
expect_ok() {
    local d=$1; shift
    if "$@"; then ok "$d"; else notok "$d (exit $?)"; fi
}
expect_fail_with() {
    local d=$1 pat=$2; shift 2
    if "$@"; then notok "$d (unexpected success)"; return; fi
    if grep -q -- "$pat" "$OUT"; then ok "$d"; else notok "$d (no '$pat' in output)"; fi
}

# ---- fixtures ------------------------------------------------------------
printf 'hello from craton\000binary\377tail' >"$WORK/data.bin"
if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$WORK/key.pem" -subj "/CN=craton test" -days 30 \
        -outform DER -out "$WORK/cert.der" >"$OUT" 2>&1; then
    notok "openssl makes a test certificate"
    echo "$PASS passed, $FAIL failed"
    exit 1
fi

# ---- token and PINs --------------------------------------------------------
expect_ok "list slots on an empty token dir" p11 --list-slots
if grep -qi "uninitialized" "$OUT"; then
    ok "a free slot with a token is listed"
else
    notok "a free slot with a token is listed"
fi

expect_ok "--init-token on the free slot" \
    p11 --slot-index 0 --init-token --label "$LABEL" --so-pin "$SO_PIN"
expect_ok "token is found by its label" tok --list-token-slots
if p11 --list-slots && grep -q "$LABEL" "$OUT"; then
    ok "--list-slots shows the new token's label"
else
    notok "--list-slots shows the new token's label"
fi
expect_ok "--init-pin as SO" \
    tok --login --login-type so --so-pin "$SO_PIN" --init-pin --pin "$PIN"
expect_ok "--login with the user PIN" tok --login --pin "$PIN" --list-objects

# ---- objects -------------------------------------------------------------
expect_ok "--write-object data" \
    tok --login --pin "$PIN" --write-object "$WORK/data.bin" --type data \
        --label blob --application-label craton-app
expect_ok "--write-object cert (DER)" \
    tok --login --pin "$PIN" --write-object "$WORK/cert.der" --type cert \
        --id 01 --label mycert
expect_ok "--write-object second data object" \
    tok --login --pin "$PIN" --write-object "$WORK/data.bin" --type data --label doomed

expect_ok "--list-objects" tok --login --pin "$PIN" --list-objects
for l in blob mycert doomed; do
    if grep -Eq "label: +'?$l'?\$" "$OUT"; then ok "--list-objects shows '$l'"; else notok "--list-objects shows '$l'"; fi
done
if grep -q "Certificate Object" "$OUT" && grep -q "Data object" "$OUT"; then
    ok "--list-objects shows a certificate and data objects"
else
    notok "--list-objects shows a certificate and data objects"
fi

rm -f "$WORK/read.bin" "$WORK/readcert.der"
if tok --login --pin "$PIN" --read-object --type data --label blob -o "$WORK/read.bin" &&
        cmp -s "$WORK/data.bin" "$WORK/read.bin"; then
    ok "--read-object data returns the same bytes"
else
    notok "--read-object data returns the same bytes"
fi
if tok --login --pin "$PIN" --read-object --type cert --id 01 -o "$WORK/readcert.der" &&
        cmp -s "$WORK/cert.der" "$WORK/readcert.der"; then
    ok "--read-object cert returns the same DER"
else
    notok "--read-object cert returns the same DER"
fi
if openssl x509 -inform DER -in "$WORK/readcert.der" -noout -subject 2>/dev/null |
        grep -q "craton test"; then
    ok "the certificate read back parses"
else
    notok "the certificate read back parses"
fi

expect_ok "--delete-object data" \
    tok --login --pin "$PIN" --delete-object --type data --label doomed
tok --login --pin "$PIN" --list-objects
if grep -Eq "label: +'?doomed'?\$" "$OUT"; then notok "deleted object is gone"; else ok "deleted object is gone"; fi
if grep -Eq "label: +'?blob'?\$" "$OUT"; then ok "other objects stay after a delete"; else notok "other objects stay after a delete"; fi

# ---- change PIN ----------------------------------------------------------
expect_ok "--change-pin" tok --login --pin "$PIN" --change-pin --new-pin "$NEW_PIN"
expect_ok "login with the new PIN" tok --login --pin "$NEW_PIN" --list-objects
expect_fail_with "login with the old PIN fails" CKR_PIN_INCORRECT \
    tok --login --pin "$PIN" --list-objects

# ---- persistence: every pkcs11-tool run is a new process ------------------
rm -f "$WORK/read2.bin"
if tok --login --pin "$NEW_PIN" --read-object --type data --label blob -o "$WORK/read2.bin" &&
        cmp -s "$WORK/data.bin" "$WORK/read2.bin"; then
    ok "objects survive in a new process (data bytes equal)"
else
    notok "objects survive in a new process (data bytes equal)"
fi
tok --list-objects # public view, no login
if grep -Eq "label: +'?mycert'?\$" "$OUT"; then ok "certificate visible without login"; else notok "certificate visible without login"; fi

# ---- lockout -------------------------------------------------------------
bad=0
for i in 1 2 3 4 5 6 7 8 9; do
    if tok --login --pin 000000 --list-objects; then bad=$((bad + 1)); fi
    grep -q CKR_PIN_INCORRECT "$OUT" || bad=$((bad + 1))
done
if [ $bad -eq 0 ]; then ok "9 wrong PINs: CKR_PIN_INCORRECT each"; else notok "9 wrong PINs: CKR_PIN_INCORRECT each"; fi
tok --list-token-slots
if grep -qi "final user PIN try\|final.*try" "$OUT"; then
    ok "token flags show the final try"
else
    notok "token flags show the final try"
fi
tok --login --pin 000000 --list-objects # the 10th
expect_fail_with "10 wrong PINs lock the user PIN (right PIN gives CKR_PIN_LOCKED)" \
    CKR_PIN_LOCKED tok --login --pin "$NEW_PIN" --list-objects
tok --list-token-slots
if grep -qi "user PIN locked" "$OUT"; then ok "token flags show the user PIN locked"; else notok "token flags show the user PIN locked"; fi

expect_ok "SO --init-pin unlocks the user PIN" \
    tok --login --login-type so --so-pin "$SO_PIN" --init-pin --pin "$PIN"
expect_ok "login works after the unlock" tok --login --pin "$PIN" --list-objects
tok --list-token-slots
if grep -qi "locked\|final.*try" "$OUT"; then notok "lock flags cleared after the unlock"; else ok "lock flags cleared after the unlock"; fi

# ---- wrong SO PIN ----------------------------------------------------------
expect_fail_with "--init-pin with a wrong SO PIN fails" CKR_PIN_INCORRECT \
    tok --login --login-type so --so-pin 11111111 --init-pin --pin "$PIN"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
