#!/usr/bin/env bash
# Cookbook recipe "OpenSSL 3 with the pkcs11 engine (libp11)": sign with a token key via
# `openssl dgst -engine pkcs11 -keyform engine`, a self-signed certificate with
# `openssl req`, checks by plain openssl (docs/cookbook.md).
#   usage: openssl-engine.sh /path/to/libcraton.so
#   exit 77 when openssl, pkcs11-tool or the engine (libengine-pkcs11-openssl) is missing
set -u
. "$(dirname "$0")/recipe.sh"
need_program openssl pkcs11-tool
ENGINES=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
if [ ! -f "$ENGINES/pkcs11.so" ]; then
    echo "# SKIP the pkcs11 engine ($ENGINES/pkcs11.so, libengine-pkcs11-openssl) is not installed"
    exit 77
fi
recipe_init "$@"
recipe_token

# ---- recipe ----
step "RSA-2048 key pair on the token" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" \
        --keypairgen --key-type rsa:2048 --id 01 --label rsa
cat >engine.cnf <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINES/pkcs11.so
MODULE_PATH = $MODULE
init = 0
CNF
export OPENSSL_CONF=$PWD/engine.cnf
step "the engine loads the module" openssl engine -t pkcs11
grep_log "... available" "\[ available \]"
echo "hello from the token" >data.txt
step "sign: openssl dgst -engine pkcs11 -keyform engine" \
    openssl dgst -sha256 -engine pkcs11 -keyform engine \
        -sign "pkcs11:token=demo;object=rsa;type=private;pin-value=$PIN" -out data.sig data.txt
step "the public key, through the engine" \
    openssl pkey -engine pkcs11 -inform engine -pubin \
        -in "pkcs11:token=demo;object=rsa;type=public" -pubout -out rsa.pub.pem
step "verify with plain openssl" openssl dgst -sha256 -verify rsa.pub.pem -signature data.sig data.txt
grep_log "... Verified OK" "Verified OK"
step "a self-signed certificate with the token key" \
    openssl req -new -x509 -engine pkcs11 -keyform engine \
        -key "pkcs11:token=demo;object=rsa;type=private;pin-value=$PIN" \
        -subj "/CN=demo" -days 365 -out rsa.crt
step "... it verifies" openssl verify -CAfile rsa.crt rsa.crt
# ---- end of recipe ----
unset OPENSSL_CONF
echo "tampered" >other.txt
step_fails "(check) the signature does not verify over other data" \
    openssl dgst -sha256 -verify rsa.pub.pem -signature data.sig other.txt
finish
