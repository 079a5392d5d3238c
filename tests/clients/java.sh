#!/usr/bin/env bash
# Java's SunPKCS11 provider (keytool, jarsigner) against a PKCS#11 module,
# on a fresh temp token: RSA and EC key pairs with self-signed certificates
# made in the PKCS11 keystore, the keystore listed, jars signed with the
# token keys and verified by jarsigner and by openssl.
#
#   usage: java.sh /path/to/module.so     (or $CRATON_MODULE)
#
# TAP-like output, last line "N passed, M failed"; exit 0 without failures,
# 77 when java, keytool, jarsigner or pkcs11-tool is missing.
set -u
. "$(dirname "$0")/common.sh"
need_program java keytool jarsigner pkcs11-tool openssl
client_init "$@"

token_setup

SLOT=$(token_slot_id)
if [ -n "$SLOT" ]; then ok "slot ID of the token: $SLOT"; else notok "slot ID of the token"; bail "no slot"; fi
cat >"$WORK/sunpkcs11.cfg" <<EOF
name = CratonClientTest
library = $MODULE
slot = $SLOT
EOF
KS=(-keystore NONE -storetype PKCS11 -addprovider SunPKCS11
    -providerArg "$WORK/sunpkcs11.cfg" -storepass "$PIN")
# Java tools log in English whatever the locale, and never ask on a terminal.
export JAVA_TOOL_OPTIONS="-Duser.language=en -Duser.country=US"
kt() { keytool "$@" </dev/null; }

# ---- key pairs in the PKCS11 keystore -------------------------------------------
step "keytool -genkeypair RSA-2048 on the token" \
    kt -genkeypair "${KS[@]}" -alias rsa -keyalg RSA -keysize 2048 -sigalg SHA256withRSA \
        -dname "CN=craton java rsa" -validity 2
step "keytool -genkeypair EC P-256 on the token" \
    kt -genkeypair "${KS[@]}" -alias ec -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA \
        -dname "CN=craton java ec" -validity 2

step "keytool -list on the PKCS11 keystore" kt -list "${KS[@]}"
grep_log "keystore lists 'rsa' as a private key entry" "^rsa, PrivateKeyEntry"
grep_log "keystore lists 'ec' as a private key entry" "^ec, PrivateKeyEntry"
grep_log "keystore has exactly 2 entries" "contains 2 entries"
step "keytool -list -v shows the key algorithms" kt -list -v "${KS[@]}"
grep_log "RSA entry has a 2048-bit key" "2048-bit RSA key"
grep_log "EC entry has a P-256 key" "256-bit EC \(secp256r1\) key|256-bit EC key"

step "pkcs11-tool sees the Java-made private keys on the token" tok --list-objects --type privkey
# SunPKCS11 names token keys by CKA_ID = the alias's bytes.
grep_log "... an RSA key with CKA_ID 'rsa'" "ID: +727361\$"
grep_log "... an EC key with CKA_ID 'ec'" "ID: +6563\$"

for n in rsa ec; do
    step "keytool -exportcert $n" kt -exportcert "${KS[@]}" -alias "$n" -rfc -file "$WORK/$n.crt"
    step "the $n certificate (signed on the token) verifies with openssl" \
        openssl verify -CAfile "$WORK/$n.crt" "$WORK/$n.crt"
done

# ---- jarsigner -----------------------------------------------------------------------
mkdir -p "$WORK/jar/dir/pkg"
printf 'hello from the token test %s\n' "$(openssl rand -hex 8)" >"$WORK/jar/dir/pkg/hello.txt"
head -c 5000 /dev/urandom >"$WORK/jar/dir/pkg/blob.bin"
if have jar; then
    (cd "$WORK/jar" && jar cf plain.jar -C dir .) >"$WORK/logs/jar.log" 2>&1
else
    # A jar is a zip; keytool's JDK ships jar, but be tolerant.
    (cd "$WORK/jar/dir" && zip -qr ../plain.jar .) >"$WORK/logs/jar.log" 2>&1
fi
check "a test jar to sign" test -s "$WORK/jar/plain.jar"

for n in rsa ec; do
    N_UP=$(echo "$n" | tr a-z A-Z)
    step "jarsigner signs the jar with the token $n key" \
        jarsigner "${KS[@]}" -signedjar "$WORK/jar/$n.jar" "$WORK/jar/plain.jar" "$n"
    grep_log "jarsigner says 'jar signed.' ($n)" "^jar signed\."
    step "jarsigner -verify accepts the $n-signed jar" \
        jarsigner -verify -verbose -certs "$WORK/jar/$n.jar"
    grep_log "jarsigner says 'jar verified.' ($n)" "^jar verified\."
    grep_log "the entries are signed by the $n certificate" "craton java $n"
    # The signature block, checked by openssl over the signature file.
    rm -rf "$WORK/jar/x-$n"; mkdir "$WORK/jar/x-$n"
    (cd "$WORK/jar/x-$n" && unzip -q "../$n.jar" "META-INF/*") >/dev/null 2>&1 ||
        (cd "$WORK/jar/x-$n" && jar xf "../$n.jar" META-INF) >/dev/null 2>&1
    blk=$(ls "$WORK/jar/x-$n/META-INF/$N_UP".{RSA,EC} 2>/dev/null | head -1)
    step "openssl cms -verify accepts the $n signature block over $N_UP.SF" \
        openssl cms -verify -inform DER -in "${blk:-/nonexistent}" -binary \
            -content "$WORK/jar/x-$n/META-INF/$N_UP.SF" -CAfile "$WORK/$n.crt" \
            -purpose any -out /dev/null
    # Tamper with a signed entry: verification must fail.
    rm -rf "$WORK/jar/t-$n"; mkdir -p "$WORK/jar/t-$n/pkg"
    echo "tampered" >"$WORK/jar/t-$n/pkg/hello.txt"
    cp "$WORK/jar/$n.jar" "$WORK/jar/$n-bad.jar" 2>/dev/null
    (cd "$WORK/jar" && jar uf "$n-bad.jar" -C "t-$n" pkg/hello.txt) >/dev/null 2>&1
    step_fails "jarsigner -verify rejects the $n-signed jar with a changed entry" \
        jarsigner -verify -strict "$WORK/jar/$n-bad.jar"
done

finish
