#!/usr/bin/env bash
# craton-util against the built module, in a temp token dir: every command's
# happy path and main error path; backup -> delete-token -> restore gives back
# a token whose key still signs; a damaged or altered backup is refused;
# restore never overwrites without --force; an imported RSA key + certificate
# signs through pkcs11-tool; migrate-softhsm copies a SoftHSM token's
# certificate and public key.
#
#   usage: craton-util.sh /path/to/libcraton.so /path/to/craton-util
#          (or $CRATON_MODULE and $CRATON_UTIL)
#
# TAP-like output, last line "N passed, M failed"; exit 0 without failures,
# 77 when pkcs11-tool or openssl is missing.  SoftHSM steps are skipped when
# SoftHSMv2 is not installed.
set -u
. "$(dirname "$0")/common.sh"
need_program pkcs11-tool openssl
UTIL=${2:-${CRATON_UTIL:-}}
client_init "${1:-}"
if [ -z "$UTIL" ] || [ ! -x "$UTIL" ]; then
    echo "# craton-util not found (second argument or CRATON_UTIL)"
    notok "craton-util is built"
    finish
fi
UTIL=$(readlink -f "$UTIL")

LABEL=utiltest
SO_PIN=87654321
PIN=123456
mkdir -m 0700 "$WORK/tokens"
cat >"$WORK/craton.conf" <<EOF
[store]
token_dir = $WORK/tokens
exclusive = false
[pin]
pbkdf2_iterations = 1000
[log]
level = error
EOF
export CRATON_CONFIG="$WORK/craton.conf"
unset CRATON_TOKEN_DIR CRATON_PIN CRATON_SO_PIN CRATON_NEW_PIN SOFTHSM2_CONF
printf '%s\n' "$SO_PIN" >"$WORK/so.pin"
printf '%s\n' "$PIN" >"$WORK/user.pin"
chmod 0600 "$WORK"/*.pin

# cu ARGS...: craton-util on the module under test, never on a terminal (a
# missing PIN must fail, not prompt).
cu() { setsid -w "$UTIL" --module "$MODULE" "$@" </dev/null; }
cu_nomod() { setsid -w "$UTIL" "$@" </dev/null; }
# step_status DESC STATUS CMD...: pass when CMD exits with STATUS exactly.
step_status() {
    local d=$1 want=$2 rc=0; shift 2
    new_log
    "$@" >"$LOG" 2>&1 || rc=$?
    if [ $rc -eq "$want" ]; then ok "$d" "$LOG"; else notok "$d (exit $rc, wanted $want)" "$LOG"; fi
}
# out DESC FILE CMD...: step with stdout to FILE (stderr in the log).
out() {
    local d=$1 f=$2 rc=0; shift 2
    new_log
    "$@" >"$f" 2>"$LOG" || rc=$?
    if [ $rc -eq 0 ]; then ok "$d" "$LOG"; else notok "$d (exit $rc)" "$LOG"; fi
    return $rc
}
p11u() { pkcs11-tool --module "$MODULE" --token-label "$LABEL" "$@"; }

# ---- fixtures ------------------------------------------------------------------
printf 'craton-util signs this\n' >"$WORK/msg.txt"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/rsa.pem" -subj "/CN=craton-util rsa" \
    -days 30 -out "$WORK/rsa.crt" >/dev/null 2>&1 &&
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/ec.pem" 2>/dev/null &&
openssl pkcs8 -topk8 -in "$WORK/ec.pem" -outform DER -v2 aes-256-cbc -passout pass:ecpass \
    -out "$WORK/ec-enc.p8" 2>/dev/null &&
openssl genpkey -algorithm ED25519 -out "$WORK/ed.pem" 2>/dev/null &&
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$WORK/p12.key" \
    -subj "/CN=craton-util p12" -days 30 -out "$WORK/p12.crt" >/dev/null 2>&1 &&
openssl pkcs12 -export -inkey "$WORK/p12.key" -in "$WORK/p12.crt" -passout pass:p12pass \
    -out "$WORK/bundle.p12" 2>/dev/null &&
head -c 32 /dev/urandom >"$WORK/aes.key" ||
    { notok "openssl makes the fixtures"; finish; }
printf 'ecpass\n' >"$WORK/ec.pass"
printf 'p12pass\n' >"$WORK/p12.pass"
printf 'no key here\n' >"$WORK/junk.pem"

# ---- help and usage errors --------------------------------------------------------
step "craton-util --help" cu_nomod --help
for c in init-token delete-token show-slots list-objects change-pin init-pin import export \
         delete-object backup restore migrate-softhsm audit config; do
    step "craton-util $c --help" cu_nomod "$c" --help
done
step_status "an unknown command exits 2" 2 cu_nomod frobnicate
step_status "an unknown option exits 2" 2 cu show-slots --frob
step_status "a missing required option exits 2" 2 cu init-token

# ---- config check ---------------------------------------------------------------------
out "config check" "$WORK/config.txt" cu_nomod config check
check "config check prints the effective values" grep -q '^pbkdf2_iterations = 1000$' "$WORK/config.txt"
check "config check names the file" grep -q "configuration file: $WORK/craton.conf" "$WORK/config.txt"
printf '[pin]\npbkdf2_iterations = 12\n' >"$WORK/bad.conf"
step_status "config check refuses a bad value (exit 1)" 1 env CRATON_CONFIG="$WORK/bad.conf" "$UTIL" config check
grep_log "config check says which key is wrong" "pin.pbkdf2_iterations"

# ---- tokens and PINs ---------------------------------------------------------------------
out "show-slots on an empty token dir" "$WORK/slots0.txt" cu show-slots
check "the free slot is listed" grep -q "Slot 0: free" "$WORK/slots0.txt"
step_status "init-token without any SO PIN source fails (exit 3)" 3 cu init-token --label "$LABEL"
out "init-token --label (SO PIN from CRATON_SO_PIN)" "$WORK/init.txt" \
    env CRATON_SO_PIN="$SO_PIN" setsid -w "$UTIL" --module "$MODULE" init-token --label "$LABEL"
check "init-token prints the new slot ID" grep -qx 0 "$WORK/init.txt"
step_fails "init-token refuses a label in use" \
    env CRATON_SO_PIN="$SO_PIN" setsid -w "$UTIL" --module "$MODULE" init-token --label "$LABEL"
step "init-pin (SO PIN --pin-file, new PIN --new-pin-file)" \
    cu init-pin --token "$LABEL" --pin-file "$WORK/so.pin" --new-pin-file "$WORK/user.pin"
step_status "init-pin with a wrong SO PIN exits 3" 3 \
    env CRATON_SO_PIN=99999999 CRATON_NEW_PIN=1111 setsid -w "$UTIL" --module "$MODULE" init-pin --token "$LABEL"
out "show-slots" "$WORK/slots1.txt" cu show-slots
check "show-slots lists the token with its user PIN set" \
    grep -A2 "token '$LABEL'" "$WORK/slots1.txt"
grep_log "show-slots shows the flags" "user-pin-set" "$WORK/slots1.txt"
step "change-pin (user)" env CRATON_PIN="$PIN" CRATON_NEW_PIN=654321 \
    setsid -w "$UTIL" --module "$MODULE" change-pin --token "$LABEL"
step "the new user PIN logs in (pkcs11-tool)" p11u --login --pin 654321 --list-objects
step "change-pin back (--pin-file, --new-pin-file)" bash -c \
    "printf '654321\n' >'$WORK/tmp.pin' && '$UTIL' --module '$MODULE' change-pin --token '$LABEL' --pin-file '$WORK/tmp.pin' --new-pin-file '$WORK/user.pin' </dev/null"
step_status "change-pin with a wrong PIN exits 3" 3 \
    env CRATON_PIN=000000 CRATON_NEW_PIN=111111 setsid -w "$UTIL" --module "$MODULE" change-pin --token "$LABEL"
step "change-pin --so" env CRATON_SO_PIN="$SO_PIN" CRATON_NEW_PIN=11223344 \
    setsid -w "$UTIL" --module "$MODULE" change-pin --so --token "$LABEL"
step "change-pin --so back" env CRATON_SO_PIN=11223344 CRATON_NEW_PIN="$SO_PIN" \
    setsid -w "$UTIL" --module "$MODULE" change-pin --so --token "$LABEL"
check "no PIN appears in any log" bash -c "! grep -rqE '$SO_PIN|$PIN|654321|11223344' '$WORK/logs' '$WORK/init.txt' '$WORK/slots1.txt'"

export CRATON_PIN="$PIN"

# ---- import ---------------------------------------------------------------------------------
step "import an RSA PEM key and its certificate" \
    cu import --token "$LABEL" --label rsa --id 01 "$WORK/rsa.pem" "$WORK/rsa.crt"
step "pkcs11-tool signs with the imported RSA key" \
    p11u --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS -i "$WORK/msg.txt" -o "$WORK/rsa.sig"
step "export --public of the RSA key" cu export --public --token "$LABEL" --id 01 --out "$WORK/rsa.pub"
step "openssl verifies the token's RSA signature" \
    openssl dgst -sha256 -verify "$WORK/rsa.pub" -signature "$WORK/rsa.sig" "$WORK/msg.txt"
out "export --cert to stdout" "$WORK/rsa-out.crt" cu export --cert --token "$LABEL" --label rsa
check "the exported certificate is the imported one" \
    bash -c "[ \"\$(openssl x509 -in '$WORK/rsa.crt' -outform DER | od -An -tx1)\" = \"\$(openssl x509 -in '$WORK/rsa-out.crt' -outform DER | od -An -tx1)\" ]"
check "the exported public key is the certificate's" same_pubkey "$WORK/rsa.crt" "$WORK/rsa.pub"

step "import an encrypted PKCS#8 DER EC key (--pass-file)" \
    cu import --token "$LABEL" --label ec --id 02 --pass-file "$WORK/ec.pass" "$WORK/ec-enc.p8"
step "pkcs11-tool signs with the imported EC key" \
    p11u --login --pin "$PIN" --sign --id 02 -m ECDSA-SHA256 --signature-format openssl \
        -i "$WORK/msg.txt" -o "$WORK/ec.sig"
step "export --public of the EC key" cu export --public --token "$LABEL" --id 02 --out "$WORK/ec.pub"
step "openssl verifies the token's ECDSA signature" \
    openssl dgst -sha256 -verify "$WORK/ec.pub" -signature "$WORK/ec.sig" "$WORK/msg.txt"
step "import an Ed25519 PEM key" cu import --token "$LABEL" --label ed --id 03 "$WORK/ed.pem"
step "pkcs11-tool signs with the imported Ed25519 key" \
    p11u --login --pin "$PIN" --sign --id 03 -m EDDSA -i "$WORK/msg.txt" -o "$WORK/ed.sig"
step "export --public of the Ed25519 key" cu export --public --token "$LABEL" --id 03 --out "$WORK/ed.pub"
step "openssl verifies the token's Ed25519 signature" \
    openssl pkeyutl -verify -pubin -inkey "$WORK/ed.pub" -rawin -in "$WORK/msg.txt" -sigfile "$WORK/ed.sig"
step "import a PKCS#12 bundle (key and certificate)" \
    cu import --token "$LABEL" --label p12 --id 04 --pass-file "$WORK/p12.pass" "$WORK/bundle.p12"
step "import a raw AES-256 key (--aes)" cu import --token "$LABEL" --label aes --id 05 --aes "$WORK/aes.key"
step_fails "import refuses a file that holds no key" cu import --token "$LABEL" --label junk "$WORK/junk.pem"
step_fails "import refuses a wrong passphrase" bash -c \
    "printf 'wrong\n' >'$WORK/wrong.pass'; '$UTIL' --module '$MODULE' import --token '$LABEL' --label bad --pass-file '$WORK/wrong.pass' '$WORK/ec-enc.p8' </dev/null"
step_fails "import refuses an AES key of a bad length" \
    bash -c "head -c 20 /dev/urandom >'$WORK/aes20.key'; '$UTIL' --module '$MODULE' import --token '$LABEL' --label a20 --aes '$WORK/aes20.key' </dev/null"
step_status "import without a user PIN exits 3" 3 \
    env -u CRATON_PIN setsid -w "$UTIL" --module "$MODULE" import --token "$LABEL" --label x --id 09 "$WORK/ed.pem"

# ---- list-objects -------------------------------------------------------------------------------
out "list-objects (logged in)" "$WORK/list.txt" cu list-objects --token "$LABEL"
check "the RSA private key is listed with type, size, ID and usage" \
    grep -qE 'private-key +RSA-2048 +label="rsa" id=01 usage=[a-z,-]*sign' "$WORK/list.txt"
check "the EC and Ed25519 keys are listed" \
    bash -c "grep -q 'EC-256 .*label=\"ec\"' '$WORK/list.txt' && grep -q 'EC-Edwards-255 .*label=\"ed\"' '$WORK/list.txt'"
check "the AES key is listed as a sensitive secret key" \
    grep -qE 'secret-key +AES-256 +label="aes" id=05 .*sensitive' "$WORK/list.txt"
check "the imported junk left nothing behind" bash -c "! grep -q 'label=\"junk\"\\|label=\"bad\"' '$WORK/list.txt'"
check "every object has a unique ID" bash -c "! grep -q 'uid=-' '$WORK/list.txt'"
out "list-objects --json" "$WORK/list.json" cu list-objects --token "$LABEL" --json
if have python3; then
    check "the JSON parses and has the 11 objects" python3 -c "
import json,sys; d=json.load(open('$WORK/list.json'))
assert len(d)==11, len(d)
k=[o for o in d if o['label']=='rsa' and o['class']=='private-key'][0]
assert k['key_type']=='RSA' and k['bits']==2048 and k['id']=='01' and 'sign' in k['usage'] and len(k['unique_id'])==32"
else
    check "the JSON names the RSA key" grep -q '"label": "rsa"' "$WORK/list.json"
fi
out "list-objects without a PIN" "$WORK/list-pub.txt" env -u CRATON_PIN setsid -w "$UTIL" --module "$MODULE" list-objects </dev/null
check "without a login private keys are not listed" \
    bash -c "grep -q 'public-key' '$WORK/list-pub.txt' && ! grep -q 'private-key' '$WORK/list-pub.txt'"
step_fails "list-objects of an unknown token fails" cu list-objects --token nosuch

# ---- export and delete-object errors ----------------------------------------------------------------
step_fails "export of a missing object fails" cu export --cert --token "$LABEL" --label nosuch
step_status "export needs --public or --cert (exit 2)" 2 cu export --token "$LABEL" --label rsa
step "import a second copy of the Ed25519 key" cu import --token "$LABEL" --label ed2 --id 06 "$WORK/ed.pem"
step_fails "delete-object refuses several matches without --all" cu delete-object --token "$LABEL" --label ed2
step "delete-object --type public" cu delete-object --token "$LABEL" --label ed2 --type public
step "delete-object --all" cu delete-object --token "$LABEL" --id 06 --all
step_fails "delete-object of a missing object fails" cu delete-object --token "$LABEL" --label ed2

# ---- audit ---------------------------------------------------------------------------------------------
out "audit verify" "$WORK/audit.txt" cu_nomod audit verify --token "$LABEL"
grep_log "the chain verifies" "^OK: [0-9]+ records" "$WORK/audit.txt"
out "audit show" "$WORK/audit-show.txt" cu_nomod audit show --token "$LABEL" --op C_Sign
check "audit show lists the signatures" grep -q "C_Sign" "$WORK/audit-show.txt"
step_status "audit with no subcommand exits 2" 2 cu_nomod audit

# ---- backup, delete-token, restore ---------------------------------------------------------------------
step "backup --token --out" cu_nomod backup --token "$LABEL" --out "$WORK/t.cbk"
step_fails "backup refuses to replace a file without --force" cu_nomod backup --token "$LABEL" --out "$WORK/t.cbk"
step_fails "backup of an unknown token fails" cu_nomod backup --token nosuch --out "$WORK/x.cbk"
step_fails "restore without --force over the existing token is refused" cu_nomod restore --in "$WORK/t.cbk"
grep_log "the refusal names --force" "--force"
step_status "delete-token with a wrong SO PIN exits 3" 3 \
    env CRATON_SO_PIN=99999999 setsid -w "$UTIL" --module "$MODULE" delete-token --label "$LABEL"
step "delete-token (SO PIN --pin-file)" cu delete-token --label "$LABEL" --pin-file "$WORK/so.pin"
check "the token's files are gone" bash -c "! ls '$WORK/tokens' | grep -q '^slot-0\\.'"
step_fails "the deleted token is gone for the module" cu list-objects --token "$LABEL"
# flip_bit FILE OFFSET: inverts the lowest bit of one byte (dd without the
# sanitizer preload: an ASan runtime breaks dd's aligned_alloc).
flip_bit() {
    local byte
    byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ') &&
    printf "$(printf '\\%03o' $(((byte ^ 1) & 255)))" |
        env -u LD_PRELOAD dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
cp "$WORK/t.cbk" "$WORK/flipped.cbk"
size=$(stat -c %s "$WORK/flipped.cbk")
flip_bit "$WORK/flipped.cbk" $((size / 2))
check "one bit of the copy is flipped" bash -c "! cmp -s '$WORK/t.cbk' '$WORK/flipped.cbk'"
step_fails "restore refuses a backup with one flipped bit" cu_nomod restore --in "$WORK/flipped.cbk"
grep_log "the refusal names the checksum" "checksum"
check "nothing was restored from it" bash -c "! ls '$WORK/tokens' | grep -q '^slot-0\\.db'"
head -c $((size - 100)) "$WORK/t.cbk" >"$WORK/short.cbk"
step_fails "restore refuses a truncated backup" cu_nomod restore --in "$WORK/short.cbk"
step_fails "restore refuses a file that is no backup" cu_nomod restore --in "$WORK/rsa.pem"
step "restore --in" cu_nomod restore --in "$WORK/t.cbk"
step "the restored token is found (pkcs11-tool)" p11u --list-token-slots
step "the restored RSA key signs (pkcs11-tool)" \
    p11u --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS -i "$WORK/msg.txt" -o "$WORK/rsa2.sig"
step "openssl verifies the restored key's signature" \
    openssl dgst -sha256 -verify "$WORK/rsa.pub" -signature "$WORK/rsa2.sig" "$WORK/msg.txt"
step "the restored Ed25519 key signs (pkcs11-tool)" \
    p11u --login --pin "$PIN" --sign --id 03 -m EDDSA -i "$WORK/msg.txt" -o "$WORK/ed2.sig"
step "openssl verifies the restored Ed25519 signature" \
    openssl pkeyutl -verify -pubin -inkey "$WORK/ed.pub" -rawin -in "$WORK/msg.txt" -sigfile "$WORK/ed2.sig"
out "audit verify after the restore" "$WORK/audit2.txt" cu_nomod audit verify --token "$LABEL"
grep_log "the restored chain verifies" "^OK: " "$WORK/audit2.txt"
step "delete-object after the restore" cu delete-object --token "$LABEL" --label aes
step "restore --force over the existing token" cu_nomod restore --in "$WORK/t.cbk" --force
out "list-objects after restore --force" "$WORK/list2.txt" cu list-objects --token "$LABEL"
check "restore --force brought the deleted AES key back" grep -q 'label="aes"' "$WORK/list2.txt"

# ---- a consistent snapshot while another process writes -------------------------------------------------
printf 'data\n' >"$WORK/data.bin"
(for i in $(seq 12); do
     pkcs11-tool --module "$MODULE" --token-label "$LABEL" --login --pin "$PIN" \
         --write-object "$WORK/data.bin" --type data --label "bg$i" >/dev/null 2>&1
 done) &
writer=$!
BG_PIDS+=("$writer")
step "backup while another process writes" cu_nomod backup --token "$LABEL" --out "$WORK/live.cbk"
wait "$writer" 2>/dev/null
mkdir -m 0700 "$WORK/tokens2"
step "restore the live backup into another token dir" \
    env CRATON_TOKEN_DIR="$WORK/tokens2" setsid -w "$UTIL" restore --in "$WORK/live.cbk" </dev/null
step "the snapshot's token logs in (integrity checked at login)" \
    env CRATON_TOKEN_DIR="$WORK/tokens2" pkcs11-tool --module "$MODULE" --token-label "$LABEL" \
        --login --pin "$PIN" --list-objects
step "the snapshot's audit chain verifies" \
    env CRATON_TOKEN_DIR="$WORK/tokens2" setsid -w "$UTIL" audit verify --token "$LABEL" </dev/null

# ---- migrate-softhsm --------------------------------------------------------------------------------------
SOFTHSM_LIB=
for l in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so; do
    [ -f "$l" ] && { SOFTHSM_LIB=$l; break; }
done
if [ -z "$SOFTHSM_LIB" ] || ! have softhsm2-util; then
    skip "migrate-softhsm copies a certificate and a public key" "SoftHSMv2 not installed"
else
    mkdir -p "$WORK/sh/tokens"
    cat >"$WORK/sh/softhsm2.conf" <<EOF
directories.tokendir = $WORK/sh/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
    sh11() { SOFTHSM2_CONF="$WORK/sh/softhsm2.conf" pkcs11-tool --module "$SOFTHSM_LIB" --token-label shtok "$@"; }
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/sh/k.pem" \
        -subj "/CN=from softhsm" -days 30 -outform DER -out "$WORK/sh/c.der" >/dev/null 2>&1
    openssl pkey -in "$WORK/sh/k.pem" -pubout -outform DER -out "$WORK/sh/pub.der" 2>/dev/null
    step "a SoftHSM token" env SOFTHSM2_CONF="$WORK/sh/softhsm2.conf" \
        softhsm2-util --init-token --free --label shtok --so-pin 12345678 --pin 1111
    step "a certificate on it" sh11 --login --pin 1111 --write-object "$WORK/sh/c.der" --type cert --id 0a --label shcert
    step "a public key on it" sh11 --login --pin 1111 --write-object "$WORK/sh/pub.der" --type pubkey --id 0a --label shpub
    step "a non-extractable key pair on it" sh11 --login --pin 1111 --keypairgen --key-type rsa:2048 --id 0b --label shrsa
    out "migrate-softhsm" "$WORK/migrate.txt" env SOFTHSM_PIN=1111 \
        setsid -w "$UTIL" --module "$MODULE" migrate-softhsm --softhsm-conf "$WORK/sh/softhsm2.conf" \
        --softhsm-module "$SOFTHSM_LIB" --token "$LABEL" </dev/null
    grep_log "the sensitive private key is reported as not extractable" "skipped private-key \"shrsa\""
    check "it reports the copies" grep -q "3 copied" "$WORK/migrate.txt"
    out "export --cert of the migrated certificate" "$WORK/sh/c-out.pem" cu export --cert --token "$LABEL" --label shcert
    check "the migrated certificate is SoftHSM's" bash -c \
        "[ \"\$(openssl x509 -inform DER -in '$WORK/sh/c.der' -outform DER | od -An -tx1)\" = \"\$(openssl x509 -in '$WORK/sh/c-out.pem' -outform DER | od -An -tx1)\" ]"
    out "export --public of the migrated public key" "$WORK/sh/pub-out.pem" cu export --public --token "$LABEL" --label shpub
    check "the migrated public key is SoftHSM's" bash -c \
        "[ \"\$(openssl pkey -pubin -inform DER -in '$WORK/sh/pub.der' -outform DER | od -An -tx1)\" = \"\$(openssl pkey -pubin -in '$WORK/sh/pub-out.pem' -outform DER | od -An -tx1)\" ]"
    out "migrate-softhsm again" "$WORK/migrate2.txt" env SOFTHSM_PIN=1111 \
        setsid -w "$UTIL" --module "$MODULE" migrate-softhsm --softhsm-conf "$WORK/sh/softhsm2.conf" \
        --softhsm-module "$SOFTHSM_LIB" --token "$LABEL" </dev/null
    check "a second run copies nothing twice" grep -q "0 copied, 3 already there" "$WORK/migrate2.txt"
    step_fails "migrate-softhsm with a missing config fails" \
        cu migrate-softhsm --softhsm-conf "$WORK/sh/nosuch.conf" --token "$LABEL"
fi

# ---- audit verify catches tampering ------------------------------------------------------------------------
sed -i '3s/C_[A-Za-z]*/C_Tampered/' "$WORK/tokens/slot-0.audit"
step_status "audit verify fails (exit 1) on an altered record" 1 cu_nomod audit verify --token "$LABEL"

finish
