#!/usr/bin/env bash
# Cookbook recipe "OpenSSL 3 with pkcs11-provider": the token's keys through the OpenSSL 3
# provider interface, no engine (docs/cookbook.md).
#   usage: openssl-provider.sh /path/to/libcraton.so
#   exit 77 when openssl, pkcs11-tool or pkcs11-provider is missing. Debian 12 (bookworm)
#   has no pkcs11-provider package in main; Debian 13 has one (`apt install pkcs11-provider`).
set -u
. "$(dirname "$0")/recipe.sh"
need_program openssl pkcs11-tool
MODULES=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p')
if [ ! -f "$MODULES/pkcs11.so" ]; then
    echo "# SKIP pkcs11-provider ($MODULES/pkcs11.so) is not installed; Debian 12 main has no pkcs11-provider package"
    exit 77
fi
recipe_init "$@"
recipe_token

# ---- recipe ----
step "RSA-2048 key pair on the token" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" \
        --keypairgen --key-type rsa:2048 --id 01 --label rsa
echo "$PIN" >pin.txt
chmod 600 pin.txt
cat >provider.cnf <<CNF
openssl_conf = openssl_init
[openssl_init]
providers = provider_section
[provider_section]
default = default_section
pkcs11 = pkcs11_section
[default_section]
activate = 1
[pkcs11_section]
module = $MODULES/pkcs11.so
pkcs11-module-path = $MODULE
pkcs11-module-token-pin = file:$PWD/pin.txt
activate = 1
CNF
export OPENSSL_CONF=$PWD/provider.cnf
step "the provider is active" openssl list -providers
grep_log "... pkcs11 listed" "pkcs11"
echo "hello from the token" >data.txt
step "sign with the token key (openssl dgst -sign pkcs11:...)" \
    openssl dgst -sha256 -sign "pkcs11:token=demo;object=rsa;type=private" -out data.sig data.txt
step "the public key from the token" \
    openssl pkey -in "pkcs11:token=demo;object=rsa;type=public" -pubin -pubout -out rsa.pub.pem
step "verify" openssl dgst -sha256 -verify rsa.pub.pem -signature data.sig data.txt
grep_log "... Verified OK" "Verified OK"
# ---- end of recipe ----
finish
