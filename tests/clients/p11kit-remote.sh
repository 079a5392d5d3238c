#!/usr/bin/env bash
# p11-kit remoting against a PKCS#11 module, on a fresh temp token: the
# module is served by `p11-kit server` on a unix socket, and p11-kit's client
# module is used from other processes -- several at once, each logging in
# and signing with the same token keys; every signature is checked by
# openssl with the public keys read from the token directly.
#
#   usage: p11kit-remote.sh /path/to/module.so     (or $CRATON_MODULE)
#
# TAP-like output, last line "N passed, M failed"; exit 0 without failures,
# 77 when p11-kit, its client module or pkcs11-tool is missing.
#   P11KIT_PROCS (6) concurrent processes, P11KIT_ROUNDS (4) rounds each, once
#   through the server and once directly on the module (the control).
set -u
. "$(dirname "$0")/common.sh"
need_program p11-kit pkcs11-tool openssl
CLIENT_SO=${P11KIT_CLIENT_MODULE:-}
if [ -z "$CLIENT_SO" ]; then
    for f in /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so \
             /usr/lib/*/pkcs11/p11-kit-client.so /usr/lib/pkcs11/p11-kit-client.so \
             /usr/lib64/pkcs11/p11-kit-client.so; do
        if [ -f "$f" ]; then CLIENT_SO=$f; break; fi
    done
fi
if [ -z "$CLIENT_SO" ] || [ ! -f "$CLIENT_SO" ]; then
    echo "# p11-kit-client.so (p11-kit-modules) not installed: skipping" >&2
    exit 77
fi
client_init "$@"
PROCS=${P11KIT_PROCS:-6}
ROUNDS=${P11KIT_ROUNDS:-4}

token_setup

# rt ARGS...: pkcs11-tool through p11-kit's client module, on our token.
SOCK="$WORK/p11kit.sock"
# The clients load only p11-kit's module, never the one under test, so an
# ASan build's runtime is not preloaded into them (p11-kit 0.24's client
# reads past pkcs11-tool's mechanism array when it drops mechanisms its RPC
# cannot carry, which ASan would report as theirs).
rt() {
    env -u LD_PRELOAD P11_KIT_SERVER_ADDRESS="unix:path=$SOCK" \
        pkcs11-tool --module "$CLIENT_SO" --token-label "$LABEL" "$@"
}

# ---- keys made directly through the module ------------------------------------------
step "RSA-2048 key pair on the token (direct)" \
    tok --keypairgen --key-type rsa:2048 --id 01 --label rsa
step "RSA public key read from the token (direct)" export_pubkey 01 "$WORK/rsa.pub"

# ---- the server ------------------------------------------------------------------------
new_log
bg p11-kit server --provider "$MODULE" -f -n "$SOCK" "pkcs11:token=$LABEL"
SRV=$BG SRVLOG=$LOG
t=100
while [ $t -gt 0 ] && [ ! -S "$SOCK" ] && kill -0 "$SRV" 2>/dev/null; do sleep 0.1; t=$((t - 1)); done
if [ -S "$SOCK" ]; then
    ok "p11-kit server serves the token on a unix socket"
else
    notok "p11-kit server serves the token on a unix socket" "$SRVLOG"
    bail "no server"
fi
grep_log "p11-kit server prints the address to use" "P11_KIT_SERVER_ADDRESS=unix:path=$SOCK" "$SRVLOG"

step "pkcs11-tool via p11-kit-client.so lists the remote token" \
    env -u LD_PRELOAD P11_KIT_SERVER_ADDRESS="unix:path=$SOCK" pkcs11-tool --module "$CLIENT_SO" --list-slots
grep_log "the token label comes through" "token label +: $LABEL\$"
step "remote login and object listing" rt --login --pin "$PIN" --list-objects
grep_log "the RSA private key is seen remotely" "label: +rsa\$"
step_fails "a wrong PIN is refused remotely" rt --login --pin 999999 --list-objects
grep_log "... with CKR_PIN_INCORRECT" "CKR_PIN_INCORRECT"
step "EC P-256 key pair generated through the remote" \
    rt --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 --id 02 --label ec
step "EC public key read from the token (direct)" export_pubkey 02 "$WORK/ec.pub"

# ---- one signature of each kind, checked --------------------------------------------------
printf 'first remote message %s' "$(openssl rand -hex 8)" >"$WORK/m0.txt"
# sign1 KIND IN OUT: one signature through the remote; KIND is pkcs, pss or
# ec.  p11-kit's RPC (0.24) only forwards mechanisms whose parameters it can
# marshal -- not CKM_SHA256_RSA_PKCS_PSS nor CKM_ECDSA_SHA256 -- so PSS and
# ECDSA sign a SHA-256 digest made here (CKM_RSA_PKCS_PSS, CKM_ECDSA).
sign1() {
    local via=rt
    [ "${VIA:-remote}" = direct ] && via=tok_nologin
    case $1 in
        pkcs) $via --login --pin "$PIN" --sign -m SHA256-RSA-PKCS --id 01 -i "$2" -o "$3" ;;
        pss) openssl dgst -sha256 -binary -out "$2.h" "$2" &&
                 $via --login --pin "$PIN" --sign -m RSA-PKCS-PSS --hash-algorithm SHA256 \
                     --mgf MGF1-SHA256 --salt-len 32 --id 01 -i "$2.h" -o "$3" ;;
        ec) openssl dgst -sha256 -binary -out "$2.h" "$2" &&
                $via --login --pin "$PIN" --sign -m ECDSA --id 02 --signature-format openssl \
                    -i "$2.h" -o "$3" ;;
    esac
}
tok_nologin() { p11 --token-label "$LABEL" "$@"; }
# verify1 KIND IN SIG: openssl checks it with the public key from the token.
verify1() {
    case $1 in
        pkcs) openssl dgst -sha256 -verify "$WORK/rsa.pub" -signature "$3" "$2" ;;
        pss) openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
                 -verify "$WORK/rsa.pub" -signature "$3" "$2" ;;
        ec) openssl dgst -sha256 -verify "$WORK/ec.pub" -signature "$3" "$2" ;;
    esac
}
for k in pkcs pss ec; do
    step "remote sign ($k)" sign1 $k "$WORK/m0.txt" "$WORK/m0.$k.sig"
    step "openssl verifies the remote $k signature" verify1 $k "$WORK/m0.txt" "$WORK/m0.$k.sig"
done
step_fails "the remote RSA signature does not verify over other data" \
    verify1 pkcs "$WORK/rsa.pub" "$WORK/m0.pkcs.sig"

# ---- several processes at once -------------------------------------------------------------
# concurrent WAY: PROCS workers wait for a start file, then, ROUNDS times,
# each logs in and signs its own messages with all three kinds, every
# signature in its own pkcs11-tool process (WAY remote: through the p11-kit
# server; direct: on the module itself, the control).  Then every status
# and every signature is checked.
concurrent() {
    local way=$1 d="$WORK/conc-$1" p pid f b k okn vn n total pids=()
    mkdir -p "$d"
    for p in $(seq "$PROCS"); do
        (
            while [ ! -e "$d/go" ]; do sleep 0.02; done
            for r in $(seq "$ROUNDS"); do
                for k in pkcs pss ec; do
                    f="$d/p$p.r$r.$k"
                    printf 'process %s round %s kind %s %s' "$p" "$r" "$k" "$RANDOM$RANDOM" >"$f.msg"
                    if VIA=$way sign1 "$k" "$f.msg" "$f.sig" >"$f.log" 2>&1; then
                        echo 0 >"$f.rc"
                    else
                        echo $? >"$f.rc"
                    fi
                done
            done
        ) &
        pids+=("$!")
        BG_PIDS+=("$!")
    done
    touch "$d/go"
    for pid in "${pids[@]}"; do wait "$pid"; done

    total=$((PROCS * ROUNDS * 3))
    new_log
    okn=0
    for f in "$d"/*.rc; do
        [ -e "$f" ] || continue
        if [ "$(cat "$f")" = 0 ]; then
            okn=$((okn + 1))
        else
            { echo "== $(basename "${f%.rc}"): exit $(cat "$f")"; cat "${f%.rc}.log"; } >>"$LOG"
        fi
    done
    if [ "$okn" -eq "$total" ]; then
        ok "$way: $PROCS processes logging in and signing at once, all $total signings succeed"
    else
        notok "$way: $PROCS processes logging in and signing at once, $okn of $total signings succeed" "$LOG"
    fi
    for k in pkcs pss ec; do
        n=0
        for f in "$d"/*."$k".rc; do [ "$(cat "$f" 2>/dev/null)" = 0 ] && n=$((n + 1)); done
        if [ "$n" -eq $((PROCS * ROUNDS)) ]; then
            ok "$way: concurrent $k signings, $n succeed"
        else
            notok "$way: concurrent $k signings, $n of $((PROCS * ROUNDS)) succeed"
        fi
    done
    new_log
    vn=0
    for f in "$d"/*.msg; do
        [ -e "$f" ] || continue
        b=${f%.msg} k=${b##*.}
        if [ -s "$b.sig" ] && verify1 "$k" "$f" "$b.sig" >>"$LOG" 2>&1; then
            vn=$((vn + 1))
        else
            echo "== $(basename "$b"): no valid signature" >>"$LOG"
        fi
    done
    if [ "$vn" -eq "$total" ]; then
        ok "$way: all $total concurrent signatures verify with openssl"
    else
        notok "$way: all $total concurrent signatures verify with openssl ($vn do)" "$LOG"
    fi
}
concurrent remote
concurrent direct

# ---- the server is still fine, and stops cleanly ---------------------------------------------
step "the remote token still answers after the concurrent run" rt --login --pin "$PIN" --list-objects
grep_log "... and lists the EC key" "label: +ec\$"
stop "$SRV"
check "p11-kit server is gone after SIGTERM" sh -c '! kill -0 "$1" 2>/dev/null' sh "$SRV"

finish
