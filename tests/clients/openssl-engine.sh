#!/usr/bin/env bash
# OpenSSL 3 with the libp11 "pkcs11" engine against a PKCS#11 module, on a
# fresh temp token: keys made on the token with pkcs11-tool, then
# certificates, signatures, RSA decryption, ECDH and TLS servers, all with
# the private key on the token and every result checked by plain openssl.
#
#   usage: openssl-engine.sh /path/to/module.so     (or $CRATON_MODULE)
#
# TAP-like output, last line "N passed, M failed"; exit 0 without failures,
# 77 when openssl, pkcs11-tool or the engine is missing.
set -u
. "$(dirname "$0")/common.sh"
enter_private_netns "$@"
need_program openssl pkcs11-tool
client_init "$@"

ENGINE_SO=
for d in "$(openssl version -e 2>/dev/null | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')" \
         /usr/lib/x86_64-linux-gnu/engines-3 /usr/lib/engines-3; do
    if [ -n "$d" ] && [ -f "$d/pkcs11.so" ]; then ENGINE_SO=$d/pkcs11.so; break; fi
done
if [ -z "$ENGINE_SO" ]; then
    echo "# the libp11 pkcs11 engine (libengine-pkcs11-openssl) is not installed" >&2
    exit 77
fi

cat >"$WORK/openssl.cnf" <<EOF
openssl_conf = conf_init
[conf_init]
engines = engines_sect
[engines_sect]
pkcs11 = pkcs11_sect
[pkcs11_sect]
engine_id = pkcs11
dynamic_path = $ENGINE_SO
MODULE_PATH = $MODULE
init = 0
[req]
distinguished_name = req_dn
prompt = no
[req_dn]
CN = localhost
EOF
# eng ARGS...: openssl with the engine configured; plain "openssl" (no
# engine, no module) does every independent check.
eng() { OPENSSL_CONF="$WORK/openssl.cnf" openssl "$@"; }
key_uri() { echo "$(uri_key "$1");pin-value=$PIN"; }

token_setup

# ---- keys on the token -------------------------------------------------------
step "RSA-2048 key pair generated on the token (pkcs11-tool --keypairgen)" \
    tok --keypairgen --key-type rsa:2048 --id 01 --label rsa
step "EC P-256 key pair generated on the token (pkcs11-tool --keypairgen)" \
    tok --keypairgen --key-type EC:prime256v1 --id 02 --label ec

step "RSA public key exported from the token parses" export_pubkey 01 "$WORK/rsa.pub"
openssl pkey -pubin -in "$WORK/rsa.pub" -noout -text >"$WORK/rsa.pub.txt" 2>&1
grep_log "exported RSA public key is 2048-bit" "2048 bit" "$WORK/rsa.pub.txt"
step "EC public key exported from the token parses" export_pubkey 02 "$WORK/ec.pub"
openssl pkey -pubin -in "$WORK/ec.pub" -noout -text >"$WORK/ec.pub.txt" 2>&1
grep_log "exported EC public key is on P-256" "prime256v1|P-256" "$WORK/ec.pub.txt"

step "the engine loads and initialises the module" eng engine -t -c pkcs11
grep_log "engine reports itself available" "\[ available \]"

# ---- self-signed certificates ------------------------------------------------
# selfsign NAME: certificate for the token key NAME, then checks on it.
selfsign() {
    local n=$1
    step "self-signed $n certificate: openssl req -x509 -engine pkcs11 -keyform engine" \
        eng req -new -x509 -engine pkcs11 -keyform engine -key "$(key_uri "$n")" \
            -sha256 -days 2 -subj "/CN=localhost/O=craton $n" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            -out "$WORK/$n.crt"
    step "$n certificate's signature verifies (openssl verify)" \
        openssl verify -x509_strict -CAfile "$WORK/$n.crt" "$WORK/$n.crt"
    check "$n certificate carries the token's public key" \
        same_pubkey "$WORK/$n.crt" "$WORK/$n.pub"
}
selfsign rsa
selfsign ec

# ---- signatures ----------------------------------------------------------------
head -c 4000 /dev/urandom >"$WORK/data.bin"
cp "$WORK/data.bin" "$WORK/tampered.bin"
printf 'x' >>"$WORK/tampered.bin"

# sign_verify NAME DESC [DGST OPTIONS...]: sign data.bin with the token key,
# verify with openssl and the exported public key; the tampered file fails.
sign_verify() {
    local n=$1 d=$2; shift 2
    rm -f "$WORK/$n.sig"
    step "openssl dgst -sign with the token $n key ($d)" \
        eng dgst -sha256 "$@" -engine pkcs11 -keyform engine -sign "$(key_uri "$n")" \
            -out "$WORK/$n.sig" "$WORK/data.bin"
    step "the $d signature verifies with the exported public key" \
        openssl dgst -sha256 "$@" -verify "$WORK/$n.pub" -signature "$WORK/$n.sig" "$WORK/data.bin"
    grep_log "openssl says Verified OK ($d)" "^Verified OK"
    step_fails "the $d signature does not verify over other data" \
        openssl dgst -sha256 "$@" -verify "$WORK/$n.pub" -signature "$WORK/$n.sig" "$WORK/tampered.bin"
}
sign_verify rsa "RSA PKCS#1 v1.5 SHA-256"
sign_verify rsa "RSA-PSS SHA-256" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32
sign_verify ec "ECDSA SHA-256"

# ---- RSA decryption ------------------------------------------------------------
printf 'secret message for the token %s' "$(openssl rand -hex 12)" >"$WORK/plain.txt"
# decrypt DESC [PKEYUTL OPTIONS...]: encrypt with openssl, decrypt on the token.
decrypt() {
    local d=$1; shift
    rm -f "$WORK/ct.bin" "$WORK/pt.txt"
    step "openssl encrypts to the token's RSA public key ($d)" \
        openssl pkeyutl -encrypt -pubin -inkey "$WORK/rsa.pub" "$@" \
            -in "$WORK/plain.txt" -out "$WORK/ct.bin"
    step "openssl pkeyutl -decrypt with the token key ($d)" \
        eng pkeyutl -decrypt -engine pkcs11 -keyform engine -inkey "$(key_uri rsa)" "$@" \
            -in "$WORK/ct.bin" -out "$WORK/pt.txt"
    check "decrypted plaintext equals the original ($d)" cmp "$WORK/plain.txt" "$WORK/pt.txt"
}
decrypt "PKCS#1 v1.5"
decrypt "OAEP SHA-1" -pkeyopt rsa_padding_mode:oaep

# ---- ECDH ---------------------------------------------------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/peer.key" 2>/dev/null
openssl pkey -in "$WORK/peer.key" -pubout -out "$WORK/peer.pub" 2>/dev/null
step "openssl pkeyutl -derive (ECDH) with the token EC key" \
    eng pkeyutl -derive -engine pkcs11 -keyform engine -inkey "$(key_uri ec)" \
        -peerkey "$WORK/peer.pub" -out "$WORK/ecdh-token.bin"
openssl pkeyutl -derive -inkey "$WORK/peer.key" -peerkey "$WORK/ec.pub" \
    -out "$WORK/ecdh-peer.bin" 2>/dev/null
check "ECDH secret equals the one the peer computes" \
    cmp "$WORK/ecdh-token.bin" "$WORK/ecdh-peer.bin"

# ---- TLS: s_server with the token key, s_client checks ---------------------------
mkdir -p "$WORK/www"
# tls NAME DESC PEER-SIG-REGEX [S_SERVER/S_CLIENT PROTOCOL OPTIONS...]
tls() {
    local n=$1 d=$2 sigre=$3 port srv word; shift 3
    word=$(rand_token)
    echo "$word" >"$WORK/www/page-$n.txt"
    if ! port=$(free_port); then notok "TLS ($d): no free port"; return; fi
    new_log
    cd "$WORK/www" || return
    bg env OPENSSL_CONF="$WORK/openssl.cnf" openssl s_server -engine pkcs11 -keyform engine -key "$(key_uri "$n")" \
        -cert "$WORK/$n.crt" -accept "127.0.0.1:$port" -naccept 1 -WWW "$@"
    cd - >/dev/null || return
    srv=$BG
    local srvlog=$LOG
    if wait_port "$port" "$srv" 20; then
        ok "s_server with the token $n key listens on 127.0.0.1:$port ($d)"
    else
        notok "s_server with the token $n key listens on 127.0.0.1:$port ($d)" "$srvlog"
        stop "$srv"
        return
    fi
    step "s_client completes a TLS handshake and fetches a page ($d)" \
        sh -c 'printf "GET /page-%s.txt HTTP/1.0\r\n\r\n" "$1" |
               timeout 30 openssl s_client -connect "127.0.0.1:$2" -CAfile "$3" \
                   -verify_return_error -verify_ip 127.0.0.1 -ign_eof "$4" ${5:+"$5"} ${6:+"$6"}' \
           sh "$n" "$port" "$WORK/$n.crt" "$@"
    local clog=$LOG
    grep_log "client verified the server certificate ($d)" "Verify return code: 0 \(ok\)" "$clog"
    grep_log "client received the served data ($d)" "^$word\$" "$clog"
    grep_log "server signed the handshake with the expected scheme ($d)" "$sigre" "$clog"
    stop "$srv"
    if [ -n "${CLIENT_VERBOSE:-}" ]; then show_log "$srvlog"; fi
}
tls rsa "RSA, TLS 1.3" "Peer signature type: RSA-PSS" -tls1_3
tls rsa "RSA, TLS 1.2, PKCS#1 v1.5 signature" "Peer signature type: RSA\$" -tls1_2 -sigalgs RSA+SHA256
tls ec "ECDSA, TLS 1.3" "Peer signature type: ECDSA" -tls1_3

finish
