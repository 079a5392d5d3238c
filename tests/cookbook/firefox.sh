#!/usr/bin/env bash
# Cookbook recipe "Firefox ESR: TLS client authentication with a token key": a fresh
# profile whose NSS database loads libcraton.so as a security device (modutil), a client
# key made on the token and its certificate stored there (certutil), the pref that picks
# the certificate automatically, and headless Firefox fetching a page from a local HTTPS
# server (openssl s_server on 127.0.0.1, client certificate required) -- the private key
# never leaves the token (docs/cookbook.md).
#
# Firefox asks for the token's PIN in a dialog when the server asks for a client certificate;
# the test stands in for the user through Marionette (marionette.py: a window watcher of its
# own in Firefox's chrome whose prompter answers PSM's "Password Required" prompt for the
# token), opens the page and checks that the prompt came and was answered.
#   usage: firefox.sh /path/to/libcraton.so
#   exit 77 when firefox-esr, certutil/modutil, openssl, pkcs11-tool or python3 is missing
set -u
. "$(dirname "$0")/recipe.sh"
enter_private_netns "$@"
need_program firefox-esr certutil modutil openssl pkcs11-tool python3
recipe_init "$@"
recipe_token
export HOME=$WORK/home
mkdir -p "$HOME"

# ---- the test's HTTPS server: its own CA, server certificate, client certificates required --
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -subj "/CN=Craton Demo CA" -days 30 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
    -subj "/CN=localhost" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
    -extfile server.ext -out server.crt >/dev/null 2>&1
check "a CA and a server certificate for the test's HTTPS server" openssl verify -CAfile ca.crt server.crt
PORT=$(free_port) || bail "no free port"
new_log
bg openssl s_server -accept "127.0.0.1:$PORT" -cert server.crt -key server.key \
    -CAfile ca.crt -Verify 1 -verify_return_error -www
SRV=$BG SRVLOG=$LOG
if wait_port "$PORT" "$SRV" 20; then ok "openssl s_server requiring a client certificate on 127.0.0.1:$PORT"
else notok "openssl s_server on 127.0.0.1:$PORT" "$SRVLOG"; bail "no server"; fi

# ---- recipe ----
mkdir ff-profile
step "a fresh profile's NSS database" certutil -N -d sql:ff-profile --empty-password
step "load libcraton.so as a security device" \
    modutil -dbdir sql:ff-profile -add Craton -libfile "$MODULE" -force
echo "$PIN" >pin.txt
head -c 64 /dev/urandom >noise.bin
step "a client key on the token and its certificate request" \
    certutil -R -d sql:ff-profile -h demo -f pin.txt -z noise.bin -k ec -q nistp256 \
        -s "CN=firefox client,O=Craton Demo" -a -o client.csr
printf 'extendedKeyUsage=clientAuth\n' >client.ext
step "the CA signs it" \
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
        -extfile client.ext -out client.crt
step "the client certificate goes onto the token" \
    certutil -A -d sql:ff-profile -h demo -f pin.txt -n firefox-client -t ",," -a -i client.crt
step "... and its keyless copy (kept for the trust flags) out of the profile's own database" \
    certutil -D -d sql:ff-profile -n firefox-client
step "the profile trusts the server's CA" certutil -A -d sql:ff-profile -n "Craton Demo CA" -t "C,," -a -i ca.crt
cat >ff-profile/user.js <<'JS'
user_pref("security.default_personal_cert", "Select Automatically");
JS
# ---- end of recipe ----
step_fails "(check) the profile's own database holds no copy of the client certificate" \
    certutil -L -d sql:ff-profile -n firefox-client
step "(check) the token holds it, with its key" certutil -K -d sql:ff-profile -h demo -f pin.txt
grep_log "... a key on the token that goes with firefox-client" "demo:firefox-client"
# Quiet, offline start for the test, and Marionette on a free port.
MPORT=$(free_port) || bail "no free port"
cat >>ff-profile/user.js <<JS
user_pref("marionette.port", $MPORT);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.startup.page", 0);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.disabledForTesting", true);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("extensions.update.enabled", false);
JS
# Firefox 128+ lets Marionette into its chrome (where the PIN dialog lives) only when asked.
SYSACCESS=
if firefox-esr --headless --help 2>/dev/null | grep -q -- '-remote-allow-system-access'; then
    SYSACCESS=-remote-allow-system-access
fi
new_log
bg firefox-esr --headless --no-remote --profile "$WORK/ff-profile" --marionette $SYSACCESS
FF=$BG FFLOG=$LOG
if wait_port "$MPORT" "$FF" 60; then ok "headless Firefox listening for Marionette on 127.0.0.1:$MPORT"
else notok "headless Firefox with Marionette on 127.0.0.1:$MPORT" "$FFLOG"; bail "no Firefox"; fi
step "headless Firefox fetches the page, the PIN prompt answered" \
    timeout 120 python3 "${MARIONETTE_PY:-$COOKBOOK_DIR/marionette.py}" "$MPORT" demo pin.txt \
        "https://127.0.0.1:$PORT/" page.txt
grep_log "... Firefox asked for the token PIN and got it" "PIN prompts answered: .*demo"
grep_log "... the token is logged in" "token demo logged in"
check "the page came back from the server" test -s page.txt
grep_log "s_server's page shows the client certificate Firefox sent" "Client certificate" page.txt
grep_log "... with the token certificate's subject" "CN *= *firefox client" page.txt
stop "$FF"
stop "$SRV"
grep_log "the server verified the client certificate chain (server log)" "depth=0 .*CN *= *firefox client" "$SRVLOG"
if [ -n "${CLIENT_VERBOSE:-}" ]; then show_log "$FFLOG"; fi
step "(check) the client key is on the token, sensitive and not extractable" \
    pkcs11-tool --module "$MODULE" --token-label demo --login --pin "$PIN" --list-objects --type privkey
grep_log "... sensitive" "Access: +.*sensitive"
grep_log "... never extractable" "never extractable"
finish
