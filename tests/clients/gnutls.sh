#!/usr/bin/env bash
# GnuTLS (p11tool, certtool, gnutls-serv, gnutls-cli) against a PKCS#11
# module, on a fresh temp token: RSA and ECDSA keys generated on the token by
# p11tool, certificates self-signed by certtool with the token keys (checked
# by openssl), a certificate stored on the token, and TLS handshakes served
# by gnutls-serv from the token keys.
#
#   usage: gnutls.sh /path/to/module.so     (or $CRATON_MODULE)
#
# TAP-like output, last line "N passed, M failed"; exit 0 without failures,
# 77 when p11tool (gnutls-bin) or pkcs11-tool is missing.
set -u
. "$(dirname "$0")/common.sh"
enter_private_netns "$@"
need_program p11tool certtool pkcs11-tool openssl
client_init "$@"

token_setup

TOKEN_URI="pkcs11:token=$LABEL"
export GNUTLS_PIN=$PIN
# pt ARGS...: p11tool on the module (only this provider is loaded).
pt() { p11tool --provider "$MODULE" "$@" </dev/null; }

# ---- the token ----------------------------------------------------------------
step "p11tool --list-tokens" pt --list-tokens
grep_log "p11tool lists the token '$LABEL'" "Label: $LABEL\$"
grep_log "p11tool gives the token's URL" "URL: pkcs11:.*token=$LABEL"

# ---- keys generated on the token -----------------------------------------------
step "p11tool --generate-privkey RSA (2048 bits) on the token" \
    pt --login --generate-privkey RSA --bits 2048 --label rsa --id 01 --outfile "$WORK/rsa.gen.pub" "$TOKEN_URI"
step "p11tool --generate-privkey ECDSA (secp256r1) on the token" \
    pt --login --generate-privkey ECDSA --curve secp256r1 --label ec --id 02 --outfile "$WORK/ec.gen.pub" "$TOKEN_URI"

step "p11tool --list-privkeys --login" pt --login --list-privkeys "$TOKEN_URI"
grep_log "RSA private key listed" "object=rsa"
grep_log "EC private key listed" "object=ec"
for n in rsa ec; do
    id=01; [ $n = ec ] && id=02
    step "$n public key read from the token by pkcs11-tool" export_pubkey $id "$WORK/$n.pub"
    check "p11tool's $n public key is the token's" same_pubkey "$WORK/$n.gen.pub" "$WORK/$n.pub"
done
step "p11tool --test-sign with the RSA key" pt --login --test-sign "$TOKEN_URI;object=rsa;type=private"
step "p11tool --test-sign with the EC key" pt --login --test-sign "$TOKEN_URI;object=ec;type=private"

# ---- certtool with the token keys ------------------------------------------------
# certtool_run OUTFILE ARGS...: certtool with the module.  With an ASan
# runtime preloaded (a sanitizer build of the module), certtool 3.7 can hang
# at exit, in libp11-kit's destructor (freelocale waits on glibc's locale
# lock), after it has done its work -- with SoftHSM as well.  Such a hang
# after a complete output file counts as done, with a note; any other hang
# or failure does not.
certtool_run() {
    local out=$1 rc=0 t=60; shift
    [ -z "$ASAN_PRELOADED" ] || t=12
    rm -f "$out"
    timeout "$t" certtool --provider "$MODULE" "$@" --outfile "$out" || rc=$?
    if [ $rc -eq 124 ] && [ -n "$ASAN_PRELOADED" ] && grep -q -- "-----END " "$out" 2>/dev/null; then
        echo "# note: certtool did not exit under the ASan preload; its output is complete"
        return 0
    fi
    return $rc
}
cat >"$WORK/cert.tmpl" <<EOF
cn = localhost
organization = craton gnutls
serial = 7
expiration_days = 2
ca
signing_key
encryption_key
cert_signing_key
tls_www_server
dns_name = localhost
ip_address = 127.0.0.1
EOF
for n in rsa ec; do
    step "certtool --generate-self-signed with the token $n key" \
        certtool_run "$WORK/$n.crt" --generate-self-signed \
            --load-privkey "$TOKEN_URI;object=$n;type=private" --template "$WORK/cert.tmpl"
    step "the $n certificate's signature verifies (openssl verify)" \
        openssl verify -x509_strict -CAfile "$WORK/$n.crt" "$WORK/$n.crt"
    check "the $n certificate holds the token's public key" \
        same_pubkey "$WORK/$n.crt" "$WORK/$n.pub"
done
step "certtool --generate-request with the token RSA key" \
    certtool_run "$WORK/rsa.csr" --generate-request \
        --load-privkey "$TOKEN_URI;object=rsa;type=private" --template "$WORK/cert.tmpl"
step "the request's signature verifies (openssl req -verify)" \
    openssl req -in "$WORK/rsa.csr" -verify -noout

step "p11tool --write stores the RSA certificate on the token" \
    pt --login --write --load-certificate "$WORK/rsa.crt" --label rsa --id 01 "$TOKEN_URI"
step "p11tool --list-all-certs shows it" pt --list-all-certs "$TOKEN_URI"
grep_log "certificate 'rsa' listed" "object=rsa.*type=cert"
step "p11tool --export returns the same certificate" \
    pt --export "$TOKEN_URI;object=rsa;type=cert" --outfile "$WORK/rsa.back.crt"
openssl x509 -in "$WORK/rsa.crt" -outform DER -out "$WORK/rsa.crt.der" 2>/dev/null
openssl x509 -in "$WORK/rsa.back.crt" -outform DER -out "$WORK/rsa.back.der" 2>/dev/null
check "exported certificate equals the one written" cmp "$WORK/rsa.crt.der" "$WORK/rsa.back.der"

# ---- TLS: gnutls-serv with the token keys -------------------------------------------
# tls DESC CERT KEY-URI CAFILE SIG-REGEX [gnutls-cli ARGS...]
# gnutls-cli never loads the module, so it runs without an ASan preload (see
# certtool_run).
tls() {
    local d=$1 cert=$2 key=$3 ca=$4 sigre=$5 port srv word srvlog; shift 5
    word=$(rand_token)
    if ! port=$(free_port); then notok "TLS ($d): no free port"; return; fi
    new_log
    bg gnutls-serv --provider "$MODULE" --echo -p "$port" \
        --x509certfile "$cert" --x509keyfile "$key;pin-value=$PIN"
    srv=$BG srvlog=$LOG
    if wait_port "$port" "$srv" 30; then
        ok "gnutls-serv with the token key listens on port $port ($d)"
    else
        notok "gnutls-serv with the token key listens on port $port ($d)" "$srvlog"
        stop "$srv"
        return
    fi
    step "gnutls-cli completes a TLS handshake ($d)" \
        sh -c 'w=$1 p=$2 ca=$3; shift 3; { echo "$w"; sleep 2; } |
               timeout 30 env -u LD_PRELOAD gnutls-cli -p "$p" --x509cafile "$ca" "$@" 127.0.0.1' \
           sh "$word" "$port" "$ca" "$@"
    grep_log "gnutls-cli says the handshake completed ($d)" "Handshake was completed"
    grep_log "gnutls-cli verified the certificate ($d)" "The certificate is trusted"
    grep_log "the echo server sent the data back ($d)" "^$word\$"
    grep_log "handshake signature scheme as expected ($d)" "$sigre"
    stop "$srv"
    if [ -n "${CLIENT_VERBOSE:-}" ]; then show_log "$srvlog"; fi
}
if have gnutls-serv && have gnutls-cli; then
    tls "RSA, TLS 1.3, certificate on the token" "$TOKEN_URI;object=rsa;type=cert" \
        "$TOKEN_URI;object=rsa;type=private" "$WORK/rsa.crt" "Description: .*\\(RSA-PSS-RSAE-SHA256\\)"
    tls "RSA, TLS 1.2, PKCS#1 v1.5" "$WORK/rsa.crt" "$TOKEN_URI;object=rsa;type=private" \
        "$WORK/rsa.crt" "Description: \\(TLS1.2.*\\(RSA-SHA256\\)" \
        --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:-SIGN-ALL:+SIGN-RSA-SHA256"
    tls "ECDSA, TLS 1.3" "$WORK/ec.crt" "$TOKEN_URI;object=ec;type=private" \
        "$WORK/ec.crt" "Description: .*\\(ECDSA-SECP256R1-SHA256\\)"
else
    skip "gnutls-serv/gnutls-cli TLS with the token keys" "gnutls-serv or gnutls-cli not installed"
fi

finish
