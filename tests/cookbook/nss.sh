#!/usr/bin/env bash
# Cookbook recipe "NSS (certutil, modutil)": the module added to an NSS database as a
# security device, a key and self-signed certificate made on the token by certutil
# (docs/cookbook.md).
#   usage: nss.sh /path/to/libcraton.so    exit 77 when certutil/modutil or pkcs11-tool is missing
set -u
. "$(dirname "$0")/recipe.sh"
need_program certutil modutil pkcs11-tool openssl
recipe_init "$@"
recipe_token

# ---- recipe ----
mkdir nssdb
step "a new NSS database" certutil -N -d sql:nssdb --empty-password
step "add the module as a security device" modutil -dbdir sql:nssdb -add craton -libfile "$MODULE" -force
step "NSS sees the token" modutil -dbdir sql:nssdb -list craton
grep_log "... token 'demo'" "Token Name: +demo"
echo "$PIN" >pin.txt
head -c 64 /dev/urandom >noise.bin
step "an EC key and self-signed certificate made on the token" \
    certutil -S -d sql:nssdb -h demo -f pin.txt -z noise.bin -n nss-ec -s "CN=nss demo" \
        -x -t "CT,C,C" -k ec -q nistp256 -Z SHA256 -v 12
step "the token's keys" certutil -K -d sql:nssdb -h demo -f pin.txt
grep_log "... the EC key of nss-ec" "ec .*demo:nss-ec"
step "the token's certificates" certutil -L -d sql:nssdb -h demo -f pin.txt
grep_log "... demo:nss-ec" "demo:nss-ec"
step "export the certificate" certutil -L -d sql:nssdb -h demo -f pin.txt -n demo:nss-ec -a -o nss-ec.crt
step "... openssl checks its signature (made on the token)" openssl verify -CAfile nss-ec.crt nss-ec.crt
# ---- end of recipe ----
step "(check) pkcs11-tool sees the NSS-made certificate on the token" \
    pkcs11-tool --module "$MODULE" --token-label demo --list-objects --type cert
grep_log "... label nss-ec" "label: +nss-ec"
finish
