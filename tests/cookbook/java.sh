#!/usr/bin/env bash
# Cookbook recipe "Java (SunPKCS11, keytool)": the token as a PKCS11 keystore; a key pair
# and self-signed certificate made by keytool on the token (docs/cookbook.md).
#   usage: java.sh /path/to/libcraton.so    exit 77 when keytool or pkcs11-tool is missing
set -u
. "$(dirname "$0")/recipe.sh"
need_program keytool pkcs11-tool openssl
recipe_init "$@"
recipe_token
export JAVA_TOOL_OPTIONS="-Duser.language=en -Duser.country=US"

# ---- recipe ----
cat >craton-java.cfg <<CFG
name = Craton
library = $MODULE
slotListIndex = 0
CFG
step "keytool: an EC key pair with a self-signed certificate, on the token" \
    keytool -genkeypair -keystore NONE -storetype PKCS11 \
        -addprovider SunPKCS11 -providerArg craton-java.cfg -storepass "$PIN" \
        -alias java-ec -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA \
        -dname "CN=java demo" -validity 365
step "keytool -list" \
    keytool -list -keystore NONE -storetype PKCS11 \
        -addprovider SunPKCS11 -providerArg craton-java.cfg -storepass "$PIN"
grep_log "... java-ec, PrivateKeyEntry" "^java-ec, PrivateKeyEntry"
step "export the certificate" \
    keytool -exportcert -keystore NONE -storetype PKCS11 \
        -addprovider SunPKCS11 -providerArg craton-java.cfg -storepass "$PIN" \
        -alias java-ec -rfc -file java-ec.crt
# ---- end of recipe ----
step "(check) openssl verifies the certificate's signature (made on the token)" \
    openssl verify -CAfile java-ec.crt java-ec.crt
step "(check) pkcs11-tool sees the key Java made" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" --list-objects --type privkey
grep_log "... CKA_ID 'java-ec'" "ID: +6a6176612d6563"
finish
