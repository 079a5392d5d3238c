#!/usr/bin/env bash
# pkcs11-tool's own test suites against the library: --test (RNG, digests, RSA sign/verify,
# decrypt, OAEP, wrap) and --test-ec (EC key pair, sign, attribute changes, delete).
# --session-rw: pkcs11-tool would otherwise create token keys in a read-only session, which
# PKCS#11 forbids (CKR_SESSION_READ_ONLY). --allow-sw: a soft token does not claim CKF_HW.
set -u
module=${1:-${CRATON_MODULE:-}}
command -v pkcs11-tool >/dev/null || { echo "pkcs11-tool not installed"; exit 77; }
work=$(mktemp -d /tmp/craton-p11test.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf '[pin]\npbkdf2_iterations = 1000\n[audit]\nsync = none\n' > "$work/craton.conf"
export CRATON_CONFIG=$work/craton.conf CRATON_TOKEN_DIR=$work/tokens
# An ASan/UBSan build of the module needs its runtimes preloaded into the uninstrumented tool.
pre=
for rt in libasan libubsan; do
    lib=$(ldd "$module" 2>/dev/null | awk -v rt="$rt" '$1 ~ "^" rt "\\.so" {print $3}')
    [ -z "$lib" ] || pre=${pre:+$pre:}$lib
done
if [ -n "$pre" ]; then
    export LD_PRELOAD=$pre
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:handle_segv=0:allow_user_segv_handler=1"
fi
p() { pkcs11-tool --module "$module" "$@"; }
pass=0 fail=0 n=0
check() { # name, command...
    local name=$1; shift
    n=$((n + 1))
    if "$@" >"$work/out" 2>&1; then
        pass=$((pass + 1)); echo "ok $n - $name"
    else
        fail=$((fail + 1)); echo "not ok $n - $name"; sed 's/^/#   /' "$work/out" | tail -15
    fi
}
no_errors() { "$@" >"$work/log" 2>&1; local rc=$?; cat "$work/log"; [ $rc -eq 0 ] && grep -q "No errors" "$work/log" && ! grep -qi "^error" "$work/log"; }
ok_line() { "$@" >"$work/log" 2>&1; local rc=$?; cat "$work/log"; [ $rc -eq 0 ] && grep -q "==> OK" "$work/log"; }

check "init token" p --init-token --label selftest --so-pin 12345678
check "init user PIN" p --init-pin --login --so-pin 12345678 --pin 123456
check "RSA-2048 key pair" p --login --pin 123456 --keypairgen --key-type rsa:2048 --id 01 --label rsa
check "EC P-256 key pair" p --login --pin 123456 --keypairgen --key-type EC:prime256v1 --id 02 --label ec
check "AES-256 key" p --login --pin 123456 --keygen --key-type AES:32 --id 03 --label aes --extractable
check "pkcs11-tool --test" no_errors p --test --login --pin 123456 --session-rw --allow-sw
check "pkcs11-tool --test-ec" ok_line p --test-ec --login --pin 123456 --session-rw --id 09 --key-type EC:prime256v1
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
