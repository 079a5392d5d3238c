#!/usr/bin/env bash
# Cookbook recipe "pkcs11-tool (OpenSC)": initialise a token, set and change PINs, generate
# RSA, EC and AES keys, sign and check the signatures (docs/cookbook.md).
#   usage: pkcs11-tool.sh /path/to/libcraton.so    exit 77 when pkcs11-tool or openssl is missing
set -u
. "$(dirname "$0")/recipe.sh"
need_program pkcs11-tool openssl
recipe_init "$@"

# ---- recipe ----
step "module information" pkcs11-tool --module "$MODULE" --show-info
grep_log "... Craton's manufacturer" "Craton"
step "slots: one free slot in a fresh token directory" pkcs11-tool --module "$MODULE" --list-slots
grep_log "... an uninitialised token" "token state: +uninitialized"
step "initialise the token" \
    pkcs11-tool --module "$MODULE" --slot-index 0 --init-token --label demo --so-pin "$SO_PIN"
step "set the user PIN (as the SO)" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --login-type so --so-pin "$SO_PIN" \
        --init-pin --pin "$PIN"
step "change the user PIN" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" --change-pin --new-pin 654321
PIN=654321
step "log in with the new PIN" pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" --list-objects
step_fails "... the old one is refused" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin 123456 --list-objects
grep_log "... with CKR_PIN_INCORRECT" CKR_PIN_INCORRECT

step "RSA-2048 key pair" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" \
        --keypairgen --key-type rsa:2048 --id 01 --label rsa
step "EC P-256 key pair" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" \
        --keypairgen --key-type EC:prime256v1 --id 02 --label ec
step "AES-256 secret key" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" \
        --keygen --key-type AES:32 --id 03 --label aes
step "list the objects" pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" --list-objects
grep_log "... the RSA private key" "Private Key Object; RSA"
grep_log "... the EC private key" "Private Key Object; EC"
grep_log "... the AES key" "Secret Key Object; AES"

echo "hello from the token" >data.txt
step "sign with the RSA key (SHA256-RSA-PKCS)" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" \
        --sign --mechanism SHA256-RSA-PKCS --id 01 --input-file data.txt --output-file data.rsa.sig
step "read the RSA public key" \
    pkcs11-tool --module "$MODULE" --token-label demo --read-object --type pubkey --id 01 --output-file rsa.der
step "convert it to PEM" openssl pkey -pubin -inform DER -in rsa.der -out rsa.pub.pem
step "openssl verifies the RSA signature" \
    openssl dgst -sha256 -verify rsa.pub.pem -signature data.rsa.sig data.txt
grep_log "... Verified OK" "Verified OK"
step "sign with the EC key (ECDSA-SHA256)" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" \
        --sign --mechanism ECDSA-SHA256 --id 02 --input-file data.txt --output-file data.ec.sig
step "pkcs11-tool verifies the EC signature on the token" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" \
        --verify --mechanism ECDSA-SHA256 --id 02 --input-file data.txt --signature-file data.ec.sig
grep_log "... Signature is valid" "Signature is valid"
# ---- end of recipe ----
echo "tampered" >other.txt
step_fails "(check) the RSA signature does not verify over other data" \
    openssl dgst -sha256 -verify rsa.pub.pem -signature data.rsa.sig other.txt
finish
