#!/usr/bin/env bash
# NSS (modutil, certutil, cmsutil; selfserv/tstclnt when installed) against a
# PKCS#11 module, on a fresh temp token: the module is added to a new NSS
# database, keys and certificates are made on the token by certutil, CMS
# signatures by cmsutil are checked with openssl, and selfserv serves TLS
# from the token keys to tstclnt and openssl s_client.
#
#   usage: nss.sh /path/to/module.so     (or $CRATON_MODULE)
#
# TAP-like output, last line "N passed, M failed"; exit 0 without failures,
# 77 when certutil/modutil (libnss3-tools) or pkcs11-tool is missing.
set -u
. "$(dirname "$0")/common.sh"
enter_private_netns "$@"
need_program certutil modutil pkcs11-tool openssl
client_init "$@"

token_setup

DB="sql:$WORK/nssdb"
CDB="sql:$WORK/clientdb"
PWFILE="$WORK/pin.txt"
echo "$PIN" >"$PWFILE"
head -c 256 /dev/urandom >"$WORK/noise"
# ct ARGS...: certutil on the server database, the token PIN from a file.
ct() { certutil -d "$DB" -f "$PWFILE" "$@" </dev/null; }

# ---- the module in an NSS database ----------------------------------------------
mkdir "$WORK/nssdb" "$WORK/clientdb"
step "certutil -N: a new NSS database" certutil -N -d "$DB" --empty-password ||
    bail "no NSS database"
step "modutil -add the module" \
    modutil -dbdir "$DB" -add craton-under-test -libfile "$MODULE" -force
step "modutil -list shows the module" modutil -dbdir "$DB" -list craton-under-test
grep_log "modutil -list shows the token '$LABEL'" "Token Name: +$LABEL( |\$)"
step "certutil -U lists the token" certutil -U -d "$DB"
grep_log "certutil -U shows token '$LABEL'" "token: +$LABEL\$"

# ---- keys and certificates made on the token ------------------------------------
step "certutil -S: RSA-2048 key + self-signed certificate on the token" \
    ct -S -h "$LABEL" -n rsa-srv -s "CN=localhost,O=craton nss rsa" -x -t "CT,C,C" \
        -k rsa -g 2048 -Z SHA256 -v 12 -z "$WORK/noise" \
        --extSAN "ip:127.0.0.1,dns:localhost" \
        --keyUsage digitalSignature,keyEncipherment,certSigning
step "certutil -S: EC P-256 key + self-signed certificate on the token" \
    ct -S -h "$LABEL" -n ec-srv -s "CN=localhost,O=craton nss ec" -x -t "CT,C,C" \
        -k ec -q nistp256 -Z SHA256 -v 12 -z "$WORK/noise" \
        --extSAN "ip:127.0.0.1,dns:localhost" \
        --keyUsage digitalSignature,certSigning
step "certutil -R: EC P-256 key on the token + certificate request" \
    ct -R -h "$LABEL" -k ec -q nistp256 -s "CN=craton nss request" -Z SHA256 \
        -z "$WORK/noise" -a -o "$WORK/ec.csr"
step "the request's signature (made on the token) verifies (openssl req -verify)" \
    openssl req -in "$WORK/ec.csr" -verify -noout
grep_log "openssl says the request signature is OK" "verify OK"
step "certutil -R: RSA-2048 key on the token + certificate request" \
    ct -R -h "$LABEL" -k rsa -g 2048 -s "CN=craton nss rsa request" -Z SHA384 \
        -z "$WORK/noise" -a -o "$WORK/rsa.csr"
step "the RSA request's signature verifies (openssl req -verify)" \
    openssl req -in "$WORK/rsa.csr" -verify -noout

step "certutil -K -h: keys on the token" ct -K -h "$LABEL"
grep_log "certutil -K lists the RSA key of rsa-srv" "rsa +[0-9a-f]+ +$LABEL:rsa-srv\$"
grep_log "certutil -K lists the EC key of ec-srv" "ec +[0-9a-f]+ +$LABEL:ec-srv\$"
check "certutil -K lists all four keys" \
    test "$(grep -Ec '^<[ 0-9]+> (rsa|ec) ' "$LOG")" -ge 4
step "certutil -L -h: certificates on the token" ct -L -h "$LABEL"
grep_log "certutil -L lists both certificates" "$LABEL:ec-srv" "$LOG"
grep_log "... with the trust given" "$LABEL:rsa-srv +CT"

# The certificates as the token holds them, read by pkcs11-tool, checked by
# openssl: self-signed by the token key, and the key is the token's.
for n in rsa ec; do
    if step "pkcs11-tool reads the $n certificate NSS stored on the token" \
            p11 --token-label "$LABEL" --read-object --type cert --label "$n-srv" \
                -o "$WORK/$n.der"; then
        openssl x509 -inform DER -in "$WORK/$n.der" -out "$WORK/$n.pem" 2>/dev/null
    fi
    step "the $n certificate's signature (made on the token) verifies" \
        openssl verify -CAfile "$WORK/$n.pem" "$WORK/$n.pem"
done

# ---- CMS signatures --------------------------------------------------------------
head -c 3000 /dev/urandom >"$WORK/data.bin"
cp "$WORK/data.bin" "$WORK/other.bin"
printf 'x' >>"$WORK/other.bin"
if have cmsutil; then
    for n in rsa ec; do
        step "cmsutil -S: detached CMS signature with the token $n key" \
            cmsutil -S -d "$DB" -f "$PWFILE" -N "$LABEL:$n-srv" -u 1 -T -G \
                -i "$WORK/data.bin" -o "$WORK/$n.p7s"
        step "openssl cms -verify accepts the $n signature" \
            openssl cms -verify -inform DER -in "$WORK/$n.p7s" -binary \
                -content "$WORK/data.bin" -CAfile "$WORK/$n.pem" -purpose any -out /dev/null
        step_fails "openssl cms -verify rejects the $n signature over other data" \
            openssl cms -verify -inform DER -in "$WORK/$n.p7s" -binary \
                -content "$WORK/other.bin" -CAfile "$WORK/$n.pem" -purpose any -out /dev/null
    done
else
    skip "cmsutil signatures with the token keys" "cmsutil not installed"
fi

# ---- TLS: selfserv with the token keys ------------------------------------------
# A client database that trusts both self-signed certificates.
step "certutil -N: a client NSS database" certutil -N -d "$CDB" --empty-password
for n in rsa ec; do
    step "the client database trusts the token's $n certificate" \
        certutil -A -d "$CDB" -n "$n-srv" -t "CT,," -i "$WORK/$n.pem"
done

# tls DESC KEYOPT NAME CLIENT CLIENT-ARGS... : selfserv with KEYOPT (-n or -e)
# and the token certificate NAME; CLIENT is tstclnt or openssl; checks the
# handshake, the echoed request, and the signature scheme in the output.
tls() {
    local d=$1 keyopt=$2 n=$3 client=$4 port srv word srvlog; shift 4
    word=$(rand_token)
    if ! port=$(free_port); then notok "TLS ($d): no free port"; return; fi
    new_log
    bg selfserv -d "$DB" -f "$PWFILE" -p "$port" "$keyopt" "$LABEL:$n-srv"
    srv=$BG srvlog=$LOG
    if wait_port "$port" "$srv" 30; then
        ok "selfserv serves the token $n key on port $port ($d)"
    else
        notok "selfserv serves the token $n key on port $port ($d)" "$srvlog"
        stop "$srv"
        return
    fi
    printf 'GET /%s HTTP/1.0\r\n\r\n' "$word" >"$WORK/req.txt"
    if [ "$client" = tstclnt ]; then
        step "tstclnt completes the TLS handshake ($d)" \
            timeout 30 tstclnt -h 127.0.0.1 -p "$port" -d "$CDB" -A "$WORK/req.txt" -v "$@"
        grep_log "tstclnt reports the server's signature scheme ($d)" "Signature Scheme: "
    else
        step "openssl s_client completes the TLS handshake ($d)" \
            sh -c 'timeout 30 openssl s_client -connect "127.0.0.1:$1" -CAfile "$2" \
                       -verify_return_error -verify_ip 127.0.0.1 -ign_eof <"$3"' \
               sh "$port" "$WORK/$n.pem" "$WORK/req.txt"
        grep_log "s_client verified the server certificate ($d)" "Verify return code: 0 \(ok\)"
    fi
    grep_log "the client got the server's answer echoing its request ($d)" "^GET /$word HTTP/1.0"
    grep_log "handshake used the expected signature ($d)" "$TLS_SIGRE"
    stop "$srv"
}
if have selfserv && have tstclnt; then
    TLS_SIGRE="Signature Scheme: rsa_pss_rsae_sha256"
    tls "RSA key, TLS 1.3" -n rsa tstclnt -V tls1.3:tls1.3
    TLS_SIGRE="Signature Scheme: rsa_pkcs1_sha256"
    tls "RSA key, TLS 1.2, PKCS#1 v1.5" -n rsa tstclnt -V tls1.2:tls1.2 -J rsa_pkcs1_sha256
    TLS_SIGRE="Signature Scheme: ecdsa_secp256r1_sha256"
    tls "EC key, TLS 1.3" -e ec tstclnt -V tls1.3:tls1.3
    TLS_SIGRE="Peer signature type: RSA-PSS"
    tls "RSA key, openssl s_client" -n rsa openssl
else
    skip "selfserv/tstclnt TLS with the token keys" \
        "selfserv or tstclnt not installed (not shipped by every libnss3-tools)"
fi

finish
