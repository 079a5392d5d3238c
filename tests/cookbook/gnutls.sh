#!/usr/bin/env bash
# Cookbook recipe "GnuTLS (p11tool, certtool)": a key generated on the token, a test
# signature, a self-signed certificate made with the token key and stored on the token
# (docs/cookbook.md).
#   usage: gnutls.sh /path/to/libcraton.so    exit 77 when p11tool/certtool or pkcs11-tool is missing
set -u
. "$(dirname "$0")/recipe.sh"
need_program p11tool certtool pkcs11-tool openssl
recipe_init "$@"
recipe_token

# ---- recipe ----
export GNUTLS_PIN=$PIN
step "p11tool lists the token" p11tool --provider "$MODULE" --list-tokens
grep_log "... URL with token=demo" "URL: pkcs11:.*token=demo"
step "an EC P-256 key generated on the token" \
    p11tool --provider "$MODULE" --login --generate-privkey ECDSA --curve secp256r1 \
        --label gnutls-ec "pkcs11:token=demo"
step "list the private keys" p11tool --provider "$MODULE" --login --list-privkeys "pkcs11:token=demo"
grep_log "... object=gnutls-ec" "object=gnutls-ec"
step "a test signature with it" \
    p11tool --provider "$MODULE" --login --test-sign "pkcs11:token=demo;object=gnutls-ec;type=private"
cat >cert.tmpl <<TMPL
cn = gnutls demo
expiration_days = 365
signing_key
TMPL
step "a self-signed certificate with the token key" \
    certtool --provider "$MODULE" --generate-self-signed \
        --load-privkey "pkcs11:token=demo;object=gnutls-ec;type=private" \
        --template cert.tmpl --outfile gnutls-ec.crt
step "store it on the token" \
    p11tool --provider "$MODULE" --login --write --load-certificate gnutls-ec.crt \
        --label gnutls-ec "pkcs11:token=demo"
step "list the certificates" p11tool --provider "$MODULE" --list-all-certs "pkcs11:token=demo"
grep_log "... gnutls-ec" "object=gnutls-ec;.*type=cert"
# ---- end of recipe ----
step "(check) openssl verifies the certificate's signature" openssl verify -CAfile gnutls-ec.crt gnutls-ec.crt
finish
